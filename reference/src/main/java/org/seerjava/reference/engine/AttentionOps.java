package org.seerjava.reference.engine;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;

/** Dense and block-sparse causal attention on post-RoPE q, k; layouts {@code [B, N, H, D]}. */
public interface AttentionOps {
    /** Semantics of {@link org.seerjava.reference.DenseAttention#causal}. */
    void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale);

    /** Semantics of {@link org.seerjava.reference.BlockSparseAttention#forward}; empty rows give zero. */
    void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                     int blockSize, double scale);
}
