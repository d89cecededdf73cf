package org.seerjava.reference.engine;

/**
 * An engine's K-compression cache of one layer: the state of {@link org.seerjava.reference.decode.KCompressionCache}
 * (one compressed key per block, the last entry zero while its block is partial, the raw pre-RoPE keys of that block)
 * in float32, with a fixed capacity. Prefill needs an empty cache; each push appends one token per sequence and, when
 * the token completes a block, compresses it (docs/SPEC.md §7.3).
 */
public interface CompressedKeyCache {

    /** The gate it compresses with. */
    DecodeGateWeights gate();

    /** Sequences. */
    int batch();

    /** The most tokens it holds. */
    int capacity();

    /** Tokens so far (the next token's position). */
    int length();

    /** Compressed entries, ceil(length / B). */
    int blocks();

    /** Tokens of the current partial block (0 when the last block is complete). */
    int remainderLength();

    /**
     * Fills the empty cache from the prompt's keys.
     *
     * @param kNope {@code [batch, seqLen, Hkv, D]}, pre-RoPE
     * @throws IllegalStateException    when the cache is not empty
     * @throws IllegalArgumentException on a wrong size, NaN/±∞, or more tokens than the capacity
     */
    void prefill(float[] kNope, int seqLen);

    /**
     * Appends one token per sequence at position {@link #length()}.
     *
     * @param kNope {@code [batch, Hkv, D]}, pre-RoPE
     * @throws IllegalStateException    when the cache is full
     * @throws IllegalArgumentException on a wrong size or NaN/±∞
     */
    void push(float[] kNope);

    /** A copy of the compressed keys {@code [batch, blocks, Hkv, Dg]}. */
    float[] compressed();

    /**
     * Gate scores (softmax over the blocks) of a gate query against the cache.
     *
     * @param qGate              {@code [batch, Hkv, Dg]}
     * @param blockAttentionMask {@code [batch, blocks]}, or null when every block holds a real token
     * @param out                receives {@code [batch, Hkv, blocks]}
     * @throws IllegalStateException when the cache is empty
     */
    void scores(float[] qGate, boolean[] blockAttentionMask, float[] out);

    /** Forgets every token; the memory is kept. */
    void reset();
}
