package org.seerjava.reference;

/**
 * The shape of one varlen attention call (docs/SPEC.md §11): packed rows {@code [total, heads, headDim]} of a
 * {@link VarlenBatch}, q with {@code qHeads} heads, k and v with {@code kvHeads}. Sequence b alone is the
 * single-sequence shape {@link #sequence(int) sequence(b)} = {@code [1, N_b, Hq, D]} (Hkv for k and v).
 *
 * @param batch   the sequences' offsets
 * @param qHeads  Hq, query heads
 * @param kvHeads Hkv, key/value heads; must divide {@code qHeads} (query head h reads h / g)
 * @param headDim D, channels per head
 */
public record VarlenShape(VarlenBatch batch, int qHeads, int kvHeads, int headDim) {

    public VarlenShape {
        if (batch == null) {
            throw new IllegalArgumentException("varlen batch must not be null");
        }
        Checks.groupedHeads(qHeads, kvHeads);
        Checks.positive("headDim (D)", headDim);
        Checks.arraySize("q [total, Hq, D]", (long) batch.totalTokens() * qHeads * headDim);
    }

    /** B, the number of sequences. */
    public int sequences() {
        return batch.sequences();
    }

    /** g = Hq / Hkv. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** Elements of q or of the attention output: total·Hq·D. */
    public int qElements() {
        return batch.totalTokens() * qHeads * headDim;
    }

    /** Elements of k or v: total·Hkv·D. */
    public int kvElements() {
        return batch.totalTokens() * kvHeads * headDim;
    }

    /** Sequence b as a single-sequence shape {@code [1, N_b, Hq, D]}. */
    public AttentionShape sequence(int b) {
        return new AttentionShape(1, batch.length(b), qHeads, kvHeads, headDim);
    }

    /**
     * The longest sequence's shape {@code [1, max N_b, Hq, D]}: what bounds a call's float32 intermediates
     * (docs/SPEC.md §9), since no softmax runs over more than one sequence's keys.
     */
    public AttentionShape longestSequence() {
        return new AttentionShape(1, batch.maxLength(), qHeads, kvHeads, headDim);
    }

    /** The model's attention scale D^-0.5. */
    public double defaultScale() {
        return 1.0 / Math.sqrt(headDim);
    }
}
