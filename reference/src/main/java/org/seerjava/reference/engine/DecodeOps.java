package org.seerjava.reference.engine;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.decode.DecodeSelectionRule;

/**
 * The operations of SeerAttention-R sparse decoding (docs/SPEC.md §7) on float32 arrays, with the semantics of the
 * reference classes in {@code org.seerjava.reference.decode}. An engine that implements them implements this
 * interface beside {@link Engine} ({@link ReferenceEngine} and the {@code cpu} engine do); {@link #of(Engine)} finds
 * them. Arguments are checked by {@link EngineArgs} the same way on every engine.
 */
public interface DecodeOps {

    /**
     * The gate query of one token per sequence ({@link org.seerjava.reference.decode.DecodeGate#query}): head
     * pooling, the Q linear, the q norm, RoPE at {@code position}.
     *
     * @param qNope {@code [batch, Hq, D]}, pre-RoPE (after the model's own q norm where it has one)
     * @param qGate receives {@code [batch, Hkv, Dg]}
     */
    void decodeGateQuery(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position);

    /**
     * Compressed keys of the blocks of {@code kNope [batch, seqLen, Hkv, D]}
     * ({@link org.seerjava.reference.decode.DecodeGate#compressedKeys}): pooling, the K linear, the k norm, RoPE of
     * block n at {@code blockPositions[n]}.
     *
     * @param out receives {@code [batch, ceil(seqLen / B), Hkv, Dg]}
     */
    void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                        int[] blockPositions);

    /**
     * Gate logits {@code Qg · Kc / √Dg} ({@link org.seerjava.reference.decode.DecodeGate#logits}), or their softmax
     * over the blocks when {@code softmax} is true; blocks whose {@code blockAttentionMask} entry is false get
     * {@link org.seerjava.reference.decode.DecodeGate#MASKED_LOGIT}.
     *
     * @param kCompressed        {@code [batch, blocks, Hkv, Dg]}
     * @param blockAttentionMask {@code [batch, blocks]}, or null when every block holds a real token
     * @param out                receives {@code [batch, Hkv, blocks]}
     */
    void decodeGateScores(DecodeGateWeights gate, float[] qGate, float[] kCompressed, boolean[] blockAttentionMask,
                          float[] out, int batch, int blocks, boolean softmax);

    /**
     * The block selection of {@link org.seerjava.reference.decode.DecodeSelection#select} (token budget or
     * threshold, the last block always kept).
     *
     * @param scores {@code [batch, Hkv, blocks]}
     * @return {@code [batch, Hkv, blocks]}
     */
    boolean[] decodeSelect(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                           boolean[] blockAttentionMask, DecodeSelectionRule rule);

    /**
     * Block-sparse attention of one query token per sequence over a left-padded KV cache
     * ({@link org.seerjava.reference.decode.SparseDecodeAttention#forward}: the selected blocks and the first block
     * holding a real token).
     *
     * @param q      {@code [batch, Hq, D]}, post-RoPE
     * @param kCache {@code [batch, Lmax, Hkv, D]} with {@code shape.seqLen() = Lmax}
     * @param mask   {@code [batch, Hkv, ceil(Lmax / B)]}
     * @param out    receives {@code [batch, Hq, D]}
     */
    void sparseDecode(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask, float[] out,
                      AttentionShape shape, int blockSize, double scale);

    /**
     * Teacher-forced sparse decoding of one sequence ({@link
     * org.seerjava.reference.decode.SparseDecodeAttention#forwardRows}): row t ≥ {@code from} of q attends as a
     * decode step over a cache of the keys 0 … t, with its own selection; rows before {@code from} of {@code out}
     * are not written.
     *
     * @param q    {@code [1, N, Hq, D]}, post-RoPE; k and v {@code [1, N, Hkv, D]}
     * @param mask {@code [N − from, Hkv, ceil(N / B)]}: row t's selection at {@code t − from}; blocks after t's
     *             own are ignored
     * @param out  receives rows {@code from … N − 1} of {@code [1, N, Hq, D]}
     */
    void sparseDecodeRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out, AttentionShape shape,
                          int blockSize, double scale);

    /**
     * Dense causal attention {@code out [B, N, Hq, D]} and, from the same pass, the decode distillation target
     * {@code target [B, Hkv, N, nb]} of {@link org.seerjava.reference.decode.DecodeTarget#compute}.
     */
    void attentionWithDecodeTarget(float[] q, float[] k, float[] v, float[] out, float[] target, AttentionShape shape,
                                   int blockSize, double scale);

    /**
     * An empty K-compression cache ({@link org.seerjava.reference.decode.KCompressionCache}) that compresses with
     * {@code gate} and holds up to {@code capacity} tokens of {@code batch} sequences.
     */
    CompressedKeyCache kCompressionCache(DecodeGateWeights gate, int batch, int capacity);

    /**
     * The decode operations of an engine.
     *
     * @throws IllegalArgumentException naming the engine when it does not implement them (yet)
     */
    static DecodeOps of(Engine engine) {
        if (engine == null) {
            throw new IllegalArgumentException("engine must not be null");
        }
        if (engine instanceof DecodeOps ops) {
            return ops;
        }
        throw new IllegalArgumentException("backend '" + engine.name() + "' does not implement SeerAttention-R "
                + "sparse decoding yet; use the cpu or reference backend");
    }
}
