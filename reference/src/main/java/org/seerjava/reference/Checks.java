package org.seerjava.reference;

/**
 * Argument checks shared by every operation. Each failure is an {@link IllegalArgumentException} whose
 * message names the argument, what was expected and what was found.
 */
public final class Checks {
    private Checks() {
    }

    /** Requires {@code value > 0}. */
    public static int positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
        return value;
    }

    /** Requires {@code value >= 0}. */
    public static int nonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + value);
        }
        return value;
    }

    /** Requires a finite value. */
    public static double finite(String name, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(name + " must be finite, got " + value);
        }
        return value;
    }

    /** Requires an attention shape. */
    public static AttentionShape shape(AttentionShape shape) {
        if (shape == null) {
            throw new IllegalArgumentException("attention shape must not be null");
        }
        return shape;
    }

    /** Requires a finite attention scale &gt; 0. */
    public static double scale(double scale) {
        finite("scale", scale);
        if (scale <= 0) {
            throw new IllegalArgumentException("scale must be > 0, got " + scale);
        }
        return scale;
    }

    /** Requires head counts &gt; 0 with Hq a multiple of Hkv (grouped-query attention). */
    public static void groupedHeads(int qHeads, int kvHeads) {
        positive("qHeads (Hq)", qHeads);
        positive("kvHeads (Hkv)", kvHeads);
        if (qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("qHeads (Hq) = " + qHeads + " is not a multiple of kvHeads (Hkv) = "
                    + kvHeads + "; GQA needs Hq % Hkv == 0");
        }
    }

    /** Requires a non-null array of exactly {@code expected} elements. */
    public static double[] length(String name, double[] array, long expected) {
        if (array == null) {
            throw new IllegalArgumentException(name + " must not be null (expected " + expected + " elements)");
        }
        if (array.length != expected) {
            throw new IllegalArgumentException(name + " has " + array.length + " elements, expected " + expected);
        }
        return array;
    }

    /** Requires a non-null array of exactly {@code expected} elements. */
    public static float[] length(String name, float[] array, long expected) {
        if (array == null) {
            throw new IllegalArgumentException(name + " must not be null (expected " + expected + " elements)");
        }
        if (array.length != expected) {
            throw new IllegalArgumentException(name + " has " + array.length + " elements, expected " + expected);
        }
        return array;
    }

    /**
     * Requires the packed rows of a varlen batch: a non-null array of {@code total · rowWidth} elements, total =
     * {@code cuSeqLens[B]}. A length that is a whole number of rows, but not the batch's, is named as such (the
     * offsets do not end at the array's rows).
     *
     * @param name     the tensor and its layout, e.g. {@code "q [total, Hq, D]"}
     * @param rowWidth elements per packed row (heads · channels)
     */
    public static float[] packedRows(String name, float[] array, VarlenBatch batch, long rowWidth) {
        packedRows(name, array == null ? -1 : array.length, batch, rowWidth);
        return array;
    }

    /** {@link #packedRows(String, float[], VarlenBatch, long)} for float64 arrays. */
    public static double[] packedRows(String name, double[] array, VarlenBatch batch, long rowWidth) {
        packedRows(name, array == null ? -1 : array.length, batch, rowWidth);
        return array;
    }

    private static void packedRows(String name, long length, VarlenBatch batch, long rowWidth) {
        int sequences = batch.sequences();
        long expected = (long) batch.totalTokens() * rowWidth;
        if (length < 0) {
            throw new IllegalArgumentException(name + " must not be null (expected " + expected + " elements)");
        }
        if (length == expected) {
            return;
        }
        if (rowWidth > 0 && length % rowWidth == 0) {
            throw new IllegalArgumentException(name + " has " + length / rowWidth + " rows of " + rowWidth
                    + " elements, but the offsets end at cuSeqLens[" + sequences + "] = " + batch.totalTokens()
                    + " (expected " + expected + " elements)");
        }
        throw new IllegalArgumentException(name + " has " + length + " elements, expected " + expected
                + " (cuSeqLens[" + sequences + "] = " + batch.totalTokens() + " rows of " + rowWidth + ")");
    }

    /** Requires every element to be finite (no NaN, no infinity). */
    public static double[] allFinite(String name, double[] array) {
        for (int i = 0; i < array.length; i++) {
            if (!Double.isFinite(array[i])) {
                throw new IllegalArgumentException(name + " contains " + array[i] + " at flat index " + i
                        + "; inputs must be finite");
            }
        }
        return array;
    }

    /**
     * Requires every element to be finite (no NaN, no infinity) and returns the largest magnitude.
     *
     * @param name  the tensor, for the message
     * @param array the values
     * @return max |x| (0 for an empty array)
     * @throws IllegalArgumentException as {@link #allFinite(String, float[])}
     */
    public static float maxAbsFinite(String name, float[] array) {
        float max = 0;
        for (int i = 0; i < array.length; i++) {
            if (!Float.isFinite(array[i])) {
                allFinite(name, array);
            }
            max = Math.max(max, Math.abs(array[i]));
        }
        return max;
    }

    /** Requires every element to be finite (no NaN, no infinity). */
    public static float[] allFinite(String name, float[] array) {
        for (int i = 0; i < array.length; i++) {
            if (!Float.isFinite(array[i])) {
                throw new IllegalArgumentException(name + " contains " + array[i] + " at flat index " + i
                        + "; inputs must be finite");
            }
        }
        return array;
    }

    /**
     * B·H·nb·nb, the element count of a block map {@code [batch, heads, blocks, blocks]} (gate scores, masks,
     * distillation targets), after checking each dimension is positive.
     */
    public static long blockMap(int batch, int heads, int blocks) {
        positive("batch", batch);
        positive("heads", heads);
        positive("blocks", blocks);
        return (long) batch * heads * blocks * blocks;
    }

    /** Requires no element to be NaN (infinities are allowed: masked scores are −∞). */
    public static double[] noNaN(String name, double[] array) {
        for (int i = 0; i < array.length; i++) {
            if (Double.isNaN(array[i])) {
                throw new IllegalArgumentException(name + " contain NaN at flat index " + i);
            }
        }
        return array;
    }

    /** Requires no element to be NaN (infinities are allowed: masked scores are −∞). */
    public static float[] noNaN(String name, float[] array) {
        for (int i = 0; i < array.length; i++) {
            if (Float.isNaN(array[i])) {
                throw new IllegalArgumentException(name + " contain NaN at flat index " + i);
            }
        }
        return array;
    }

    /** Requires every element to be ≥ 0 (a probability map); NaN is left to {@link #allFinite}. */
    public static double[] nonNegative(String name, double[] array) {
        for (int i = 0; i < array.length; i++) {
            if (array[i] < 0) {
                throw negative(name, array[i], i);
            }
        }
        return array;
    }

    /** Requires every element to be ≥ 0 (a probability map); NaN is left to {@link #allFinite}. */
    public static float[] nonNegative(String name, float[] array) {
        for (int i = 0; i < array.length; i++) {
            if (array[i] < 0) {
                throw negative(name, array[i], i);
            }
        }
        return array;
    }

    private static IllegalArgumentException negative(String name, double value, int index) {
        return new IllegalArgumentException(name + " must be a probability map (>= 0), found " + value
                + " at flat index " + index);
    }

    /** Checks a product of dimensions fits a Java array, and returns it. */
    public static int arraySize(String name, long elements) {
        if (elements < 0 || elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + " would need " + elements
                    + " elements, more than a Java array holds (" + (Integer.MAX_VALUE - 8) + ")");
        }
        return (int) elements;
    }
}
