package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.seerjava.reference.engine.Floats;

/** Test support: the GPU assumption (skips with a printed reason), random data, error norms, bf16 rounding. */
final class Gpu {
    private Gpu() {
    }

    /**
     * Skips the calling test, printing why, when no CUDA driver, GPU or NVRTC is present; fails it instead under
     * {@code -Dseer.requireCuda=true} ({@link CudaRequirement}).
     */
    static void assume() {
        String reason = CudaRequirement.engineSkipReason();
        if (reason != null) {
            System.out.println("[seer-gpu] GPU test skipped: " + reason.lines().findFirst().orElse(reason));
        }
        Assumptions.assumeTrue(reason == null, () -> "GPU test skipped: " + reason);
    }

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** ‖out − ref‖ / ‖ref‖; NaN and infinity never pass. */
    static double relError(float[] out, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(out[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double d = (double) out[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static void assertClose(String what, float[] out, float[] ref, double tol) {
        double e = relError(out, ref);
        System.out.printf("[seer-gpu] %-60s rel err %.3e (tol %.0e)%n", what, e, tol);
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }

    static void assertAllFinite(String what, float[] x) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new AssertionError(what + ": element " + i + " was not written (" + x[i] + ")");
            }
        }
    }

    /** Rounds to bf16 (nearest even) and back. */
    static float bf16Round(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat((bits + rounding) & 0xFFFF0000);
    }

    static short bf16Bits(float f) {
        return (short) (Float.floatToRawIntBits(bf16Round(f)) >>> 16);
    }

    static float[] roundBf16(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = bf16Round(x[i]);
        }
        return y;
    }

    static short[] toBf16(float[] x) {
        short[] y = new short[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = bf16Bits(x[i]);
        }
        return y;
    }

    static float[] fromBf16(short[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = Float.intBitsToFloat((x[i] & 0xFFFF) << 16);
        }
        return y;
    }

    static double[] d(float[] x) {
        return Floats.toDouble(x);
    }
}
