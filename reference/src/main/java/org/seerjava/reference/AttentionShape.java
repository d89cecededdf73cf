package org.seerjava.reference;

/**
 * The shape of one attention call: activations laid out {@code [batch, seqLen, heads, headDim]} (the
 * official "bshd" layout), with {@code qHeads} query heads and {@code kvHeads} key/value heads.
 *
 * <p>GQA: query head {@code h} reads key/value head {@code h / groupSize()} (repeat-interleave convention).
 *
 * @param batch   B, number of sequences
 * @param seqLen  N, tokens per sequence (query length = key length in prefill)
 * @param qHeads  Hq, query heads
 * @param kvHeads Hkv, key/value heads; must divide {@code qHeads}
 * @param headDim D, channels per head
 */
public record AttentionShape(int batch, int seqLen, int qHeads, int kvHeads, int headDim) {

    public AttentionShape {
        Checks.positive("batch", batch);
        Checks.positive("seqLen (N)", seqLen);
        Checks.groupedHeads(qHeads, kvHeads);
        Checks.positive("headDim (D)", headDim);
        Checks.arraySize("q [B, N, Hq, D]", (long) batch * seqLen * qHeads * headDim);
    }

    /** g = Hq / Hkv, query heads per key/value head. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** Elements of q or of the attention output: B·N·Hq·D. */
    public int qElements() {
        return batch * seqLen * qHeads * headDim;
    }

    /** Elements of k or v: B·N·Hkv·D. */
    public int kvElements() {
        return batch * seqLen * kvHeads * headDim;
    }

    /** nb = ceil(N / blockSize), the number of blocks of a sequence. */
    public int blocks(int blockSize) {
        Checks.positive("blockSize", blockSize);
        return Math.ceilDiv(seqLen, blockSize);
    }

    /** The model's attention scale D^-0.5. */
    public double defaultScale() {
        return 1.0 / Math.sqrt(headDim);
    }
}
