package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.VarlenShape;

/**
 * Dense and block-sparse causal attention on post-RoPE q, k; layouts {@code [B, N, H, D]}, or packed
 * {@code [total, H, D]} for a varlen batch.
 */
public interface AttentionOps {
    /** Semantics of {@link org.seerjava.reference.DenseAttention#causal}. */
    void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale);

    /** Semantics of {@link org.seerjava.reference.BlockSparseAttention#forward}; empty rows give zero. */
    void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                     int blockSize, double scale);

    /**
     * Dense causal attention of each sequence of a varlen batch over its own keys; semantics of
     * {@link org.seerjava.reference.VarlenPrefill#denseCausal}. The default checks the arguments once
     * ({@link EngineArgs#denseCausalVarlen}) and runs {@link #denseCausal} on each sequence.
     */
    default void denseCausalVarlen(float[] q, float[] k, float[] v, float[] out, VarlenShape shape, double scale) {
        EngineArgs.SCALAR.denseCausalVarlen(q, k, v, out, shape, scale);
        for (int b = 0; b < shape.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            float[] o = new float[s.qElements()];
            denseCausal(VarlenSlices.qRows(q, shape, b), VarlenSlices.kvRows(k, shape, b),
                    VarlenSlices.kvRows(v, shape, b), o, s, scale);
            VarlenSlices.placeQRows(o, out, shape, b);
        }
    }

    /**
     * Block-sparse attention of each sequence b of a varlen batch with {@code masks.get(b)} ({@code [1, Hq, nb_b,
     * nb_b]}); semantics of {@link org.seerjava.reference.VarlenPrefill#blockSparse}. The default checks the arguments
     * once ({@link EngineArgs#blockSparseVarlen}) and runs {@link #blockSparse} on each sequence.
     */
    default void blockSparseVarlen(float[] q, float[] k, float[] v, List<BlockMask> masks, float[] out,
                                   VarlenShape shape, int blockSize, double scale) {
        EngineArgs.SCALAR.blockSparseVarlen(q, k, v, masks, out, shape, blockSize, scale);
        for (int b = 0; b < shape.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            float[] o = new float[s.qElements()];
            blockSparse(VarlenSlices.qRows(q, shape, b), VarlenSlices.kvRows(k, shape, b),
                    VarlenSlices.kvRows(v, shape, b), masks.get(b), o, s, blockSize, scale);
            VarlenSlices.placeQRows(o, out, shape, b);
        }
    }
}
