package org.seerjava.cpu;

import java.util.Random;

/** Random inputs and error measures shared by the CPU engine tests. */
final class TestData {
    private TestData() {
    }

    static float[] gaussian(Random random, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * sigma);
        }
        return x;
    }

    /** ‖out − ref‖ / ‖ref‖ (absolute norm of the difference when ref is zero). */
    static double relativeError(float[] out, float[] ref) {
        if (out.length != ref.length) {
            throw new AssertionError("lengths differ: " + out.length + " vs " + ref.length);
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(out[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double d = (double) out[i] - ref[i];
            diff += d * d;
            norm += (double) ref[i] * ref[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    /**
     * Requires the same bits element by element ({@link java.util.Arrays#equals(float[], float[])}), naming the first
     * element that differs; linear in the length, unlike AssertJ's {@code containsExactly}, which compares every
     * element with every other.
     */
    static void assertSameBits(float[] actual, float[] expected, String what) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": " + actual.length + " elements, expected " + expected.length);
        }
        int at = java.util.Arrays.mismatch(actual, expected);
        if (at >= 0) {
            throw new AssertionError(what + ": element " + at + " is " + actual[at] + ", expected " + expected[at]
                    + " (the same bits)");
        }
    }
}
