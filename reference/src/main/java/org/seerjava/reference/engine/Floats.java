package org.seerjava.reference.engine;

/** Conversions between the engines' float32 arrays and the reference's float64 arrays. */
public final class Floats {
    private Floats() {
    }

    /** A float64 copy. */
    public static double[] toDouble(float[] x) {
        if (x == null) {
            throw new IllegalArgumentException("array must not be null");
        }
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i];
        }
        return y;
    }

    /** A float32 copy (rounded to nearest). */
    public static float[] toFloat(double[] x) {
        float[] y = new float[x.length];
        copyInto(x, y);
        return y;
    }

    /** Rounds {@code x} into {@code out}, which must have the same length. */
    public static void copyInto(double[] x, float[] out) {
        if (out == null || out.length != x.length) {
            throw new IllegalArgumentException("output has " + (out == null ? "null" : out.length)
                    + " elements, expected " + x.length);
        }
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) x[i];
        }
    }
}
