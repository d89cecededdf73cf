package org.seerjava.reference;

/**
 * A left-padded batch (docs/SPEC.md §11.3): B sequences laid out {@code [B, Lmax, H, D]}, sequence b's N_b real tokens
 * at the end of its row, {@code [Lmax − N_b, Lmax)}, the first {@code pad_b = Lmax − N_b} positions padding. It is
 * defined as the varlen batch of its real tokens:
 * <pre>
 *   varlen = {@link VarlenBatch#ofLengths}(N_0, …, N_{B−1})
 *   unpad:  packed[cu[b] + t] = padded[b, pad_b + t]            t &lt; N_b
 *   pad:    padded[b, p] = packed[cu[b] + p − pad_b] for p ≥ pad_b,  0 for p &lt; pad_b
 * </pre>
 * so an operation on a left-padded batch is {@code pad(op(unpad(x)))} for token tensors, and the varlen batch's
 * block tensors (pooled features, scores, masks, targets) for block tensors: blocks are cut from each sequence's first
 * real token, never from position 0 of the padded row, and a sequence gives the same result padded as alone. Pad rows
 * of an output are 0.
 */
public final class LeftPadding {
    private final int paddedLength;
    private final VarlenBatch varlen;

    private LeftPadding(int paddedLength, VarlenBatch varlen) {
        this.paddedLength = paddedLength;
        this.varlen = varlen;
    }

    /**
     * A left-padded batch from the real lengths.
     *
     * @param paddedLength Lmax, positions per padded row
     * @param lengths      N_b in [1, Lmax] per sequence
     * @throws IllegalArgumentException naming the first bad length
     */
    public static LeftPadding ofLengths(int paddedLength, int... lengths) {
        Checks.positive("paddedLength (Lmax)", paddedLength);
        if (lengths == null || lengths.length == 0) {
            throw new IllegalArgumentException("lengths must name at least one sequence, got "
                    + (lengths == null ? "null" : "none"));
        }
        for (int b = 0; b < lengths.length; b++) {
            if (lengths[b] < 1 || lengths[b] > paddedLength) {
                throw new IllegalArgumentException("lengths[" + b + "] must be in [1, Lmax = " + paddedLength
                        + "], got " + lengths[b]);
            }
        }
        return new LeftPadding(paddedLength, VarlenBatch.ofLengths(lengths));
    }

    /**
     * A left-padded batch from the pad lengths {@code pad_b = Lmax − N_b}.
     *
     * @param padLengths pad_b in [0, Lmax) per sequence
     * @throws IllegalArgumentException naming the first bad pad length
     */
    public static LeftPadding ofPadLengths(int paddedLength, int... padLengths) {
        Checks.positive("paddedLength (Lmax)", paddedLength);
        if (padLengths == null || padLengths.length == 0) {
            throw new IllegalArgumentException("padLengths must name at least one sequence, got "
                    + (padLengths == null ? "null" : "none"));
        }
        int[] lengths = new int[padLengths.length];
        for (int b = 0; b < padLengths.length; b++) {
            if (padLengths[b] < 0 || padLengths[b] >= paddedLength) {
                throw new IllegalArgumentException("padLengths[" + b + "] must be in [0, Lmax = " + paddedLength
                        + "), got " + padLengths[b] + " (every sequence keeps at least one token)");
            }
            lengths[b] = paddedLength - padLengths[b];
        }
        return new LeftPadding(paddedLength, VarlenBatch.ofLengths(lengths));
    }

    /**
     * A left-padded batch from a Hugging Face attention mask {@code [B, Lmax]} of 0 (padding) and 1 (token), each
     * row's zeros before its ones.
     *
     * @throws IllegalArgumentException on a value other than 0/1, a 1 before a 0 (right or inner padding) or an
     *     all-zero row
     */
    public static LeftPadding ofAttentionMask(int[] mask, int batch, int paddedLength) {
        Checks.positive("batch", batch);
        Checks.positive("paddedLength (Lmax)", paddedLength);
        if (mask == null || mask.length != (long) batch * paddedLength) {
            throw new IllegalArgumentException("attention mask [B, Lmax] has " + (mask == null ? "null" : mask.length)
                    + " elements, expected " + (long) batch * paddedLength);
        }
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            int ones = 0;
            for (int p = 0; p < paddedLength; p++) {
                int m = mask[b * paddedLength + p];
                if (m != 0 && m != 1) {
                    throw new IllegalArgumentException("attention mask must be 0 or 1, found " + m + " at [" + b
                            + ", " + p + "]");
                }
                if (m == 0 && ones > 0) {
                    throw new IllegalArgumentException("attention mask row " + b + " is not left-padded: position "
                            + p + " is padding after a token");
                }
                ones += m;
            }
            if (ones == 0) {
                throw new IllegalArgumentException("attention mask row " + b + " has no token");
            }
            lengths[b] = ones;
        }
        return new LeftPadding(paddedLength, VarlenBatch.ofLengths(lengths));
    }

    /** Lmax. */
    public int paddedLength() {
        return paddedLength;
    }

    /** B. */
    public int sequences() {
        return varlen.sequences();
    }

    /** N_b, the real tokens of sequence b. */
    public int length(int b) {
        return varlen.length(b);
    }

    /** pad_b = Lmax − N_b. */
    public int padLength(int b) {
        return paddedLength - varlen.length(b);
    }

    /** The varlen batch of the real tokens. */
    public VarlenBatch varlen() {
        return varlen;
    }

    /**
     * The real rows of {@code padded [B, Lmax, rowWidth]} packed into {@code [total, rowWidth]}.
     *
     * @throws IllegalArgumentException when padded is null or of another size
     */
    public float[] unpad(float[] padded, int rowWidth) {
        Checks.positive("rowWidth", rowWidth);
        Checks.length("padded [B, Lmax, row]", padded, paddedElements(rowWidth));
        float[] packed = new float[Checks.arraySize("packed [total, row]", (long) varlen.totalTokens() * rowWidth)];
        copyRows(padded, packed, rowWidth, true);
        return packed;
    }

    /** {@link #unpad(float[], int)} in float64. */
    public double[] unpad(double[] padded, int rowWidth) {
        Checks.positive("rowWidth", rowWidth);
        Checks.length("padded [B, Lmax, row]", padded, paddedElements(rowWidth));
        double[] packed = new double[Checks.arraySize("packed [total, row]", (long) varlen.totalTokens() * rowWidth)];
        copyRows(padded, packed, rowWidth, true);
        return packed;
    }

    /**
     * {@code packed [total, rowWidth]} laid out left-padded, {@code [B, Lmax, rowWidth]}, with zero pad rows.
     *
     * @throws IllegalArgumentException when packed does not hold the batch's rows
     */
    public float[] pad(float[] packed, int rowWidth) {
        Checks.positive("rowWidth", rowWidth);
        Checks.packedRows("packed [total, row]", packed, varlen, rowWidth);
        float[] padded = new float[Checks.arraySize("padded [B, Lmax, row]", paddedElements(rowWidth))];
        copyRows(padded, packed, rowWidth, false);
        return padded;
    }

    /** {@link #pad(float[], int)} in float64. */
    public double[] pad(double[] packed, int rowWidth) {
        Checks.positive("rowWidth", rowWidth);
        Checks.packedRows("packed [total, row]", packed, varlen, rowWidth);
        double[] padded = new double[Checks.arraySize("padded [B, Lmax, row]", paddedElements(rowWidth))];
        copyRows(padded, packed, rowWidth, false);
        return padded;
    }

    /** Copies each sequence's real rows, padded → packed ({@code unpad}) or packed → padded; arrays of one type. */
    private void copyRows(Object padded, Object packed, int rowWidth, boolean unpad) {
        for (int b = 0; b < sequences(); b++) {
            int paddedAt = (b * paddedLength + padLength(b)) * rowWidth;
            int packedAt = varlen.start(b) * rowWidth;
            if (unpad) {
                System.arraycopy(padded, paddedAt, packed, packedAt, length(b) * rowWidth);
            } else {
                System.arraycopy(packed, packedAt, padded, paddedAt, length(b) * rowWidth);
            }
        }
    }

    private long paddedElements(int rowWidth) {
        return (long) sequences() * paddedLength * rowWidth;
    }

    @Override
    public String toString() {
        return "LeftPadding[Lmax " + paddedLength + ", lengths " + java.util.Arrays.toString(varlen.lengths()) + "]";
    }
}
