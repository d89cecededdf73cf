package org.seerjava.reference.engine;

import org.seerjava.reference.AttentionShape;

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
}
