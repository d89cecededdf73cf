package org.seerjava.reference.engine;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.VarlenShape;

/** The operations of gate self-distillation. */
public interface DistillationOps {
    /**
     * Dense causal attention {@code out [B, N, Hq, D]} and, from the same Q·K pass, the pooled target
     * {@code target [B, Hq, nb, nb]} of {@link org.seerjava.reference.PooledAttentionTarget#compute}.
     */
    void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                   AttentionShape shape, int blockSize, double scale);

    /**
     * The KL 'mean' loss of {@link org.seerjava.reference.DistillationLoss#klMean}; writes ∂loss/∂logits into
     * {@code dLogits} when it is not null.
     */
    double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads, int blocks);

    /**
     * The fused pass on a varlen batch: dense causal attention {@code out [total, Hq, D]} and each sequence's pooled
     * target, {@code target Σ_b [Hq, nb_b, nb_b]}; semantics of {@link org.seerjava.reference.VarlenPrefill#denseCausal}
     * and {@link org.seerjava.reference.VarlenPrefill#pooledTarget}. The default checks the arguments once
     * ({@link EngineArgs#attentionWithPooledTargetVarlen}) and runs {@link #attentionWithPooledTarget} on each
     * sequence.
     */
    default void attentionWithPooledTargetVarlen(float[] q, float[] k, float[] v, float[] out, float[] target,
                                                 VarlenShape shape, int blockSize, double scale) {
        EngineArgs.SCALAR.attentionWithPooledTargetVarlen(q, k, v, out, target, shape, blockSize, scale);
        int[] cuMaps = shape.batch().cuMaps(shape.qHeads(), blockSize);
        for (int b = 0; b < shape.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            float[] o = new float[s.qElements()];
            float[] map = new float[cuMaps[b + 1] - cuMaps[b]];
            attentionWithPooledTarget(VarlenSlices.qRows(q, shape, b), VarlenSlices.kvRows(k, shape, b),
                    VarlenSlices.kvRows(v, shape, b), o, map, s, blockSize, scale);
            VarlenSlices.placeQRows(o, out, shape, b);
            System.arraycopy(map, 0, target, cuMaps[b], map.length);
        }
    }
}
