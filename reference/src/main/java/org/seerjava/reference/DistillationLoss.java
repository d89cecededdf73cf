package org.seerjava.reference;

/**
 * The prefill distillation loss (docs/SPEC.md §6.1), exactly as the official trainer computes it per layer:
 * <pre>
 *   r0   = nb / 4                                  (the first quarter of query-block rows is dropped)
 *   Y    = log_softmax(logits[:, :, r0:, :])       (masked gate logits, finite mask value)
 *   loss = Σ T · (log T − Y) / numel(T),   numel = B · H · (nb − r0) · nb,   0 · log 0 := 0
 * </pre>
 * This is PyTorch's {@code KLDivLoss(reduction='mean')}, which divides by the element count. The trainer sums it
 * over layers and multiplies by {@link #GATE_LOSS_SCALE}.
 *
 * <p>Gradient: with p = softmax of the row, {@code ∂loss/∂logit_j = (p_j · Σ_k T_k − T_j) / numel} for rows
 * ≥ r0, and 0 for the dropped rows.
 */
public final class DistillationLoss {
    /** {@code gate_loss_scale} of the official distillation script. */
    public static final double GATE_LOSS_SCALE = 10.0;

    private DistillationLoss() {
    }

    /** r0 = nb / 4, the first query-block row that counts. */
    public static int firstRow(int blocks) {
        return blocks / 4;
    }

    /**
     * The KL 'mean' loss of {@code logits} against {@code target}, both {@code [batch, heads, blocks, blocks]};
     * writes ∂loss/∂logits into {@code dLogits} when it is not null.
     *
     * @throws IllegalArgumentException on wrong sizes, NaN/infinite logits, or a negative or NaN target
     */
    public static double klMean(double[] logits, double[] target, int batch, int heads, int blocks,
                                double[] dLogits) {
        long n = Checks.blockMap(batch, heads, blocks);
        Checks.allFinite("logits", Checks.length("logits", logits, n));
        Checks.nonNegative("target", Checks.allFinite("target", Checks.length("target", target, n)));
        if (dLogits != null) {
            Checks.length("dLogits", dLogits, n);
            java.util.Arrays.fill(dLogits, 0);
        }
        int r0 = firstRow(blocks);
        double numel = (double) batch * heads * (blocks - r0) * blocks;
        double total = 0;
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int qBlock = r0; qBlock < blocks; qBlock++) {
                int row = (bh * blocks + qBlock) * blocks;
                double max = Double.NEGATIVE_INFINITY;
                for (int kBlock = 0; kBlock < blocks; kBlock++) {
                    max = Math.max(max, logits[row + kBlock]);
                }
                double sumExp = 0;
                for (int kBlock = 0; kBlock < blocks; kBlock++) {
                    sumExp += Math.exp(logits[row + kBlock] - max);
                }
                double logSumExp = max + Math.log(sumExp);
                double targetSum = 0;
                for (int kBlock = 0; kBlock < blocks; kBlock++) {
                    double t = target[row + kBlock];
                    targetSum += t;
                    if (t > 0) {
                        total += t * (Math.log(t) - (logits[row + kBlock] - logSumExp));
                    }
                }
                if (dLogits != null) {
                    for (int kBlock = 0; kBlock < blocks; kBlock++) {
                        double p = Math.exp(logits[row + kBlock] - logSumExp);
                        dLogits[row + kBlock] = (p * targetSum - target[row + kBlock]) / numel;
                    }
                }
            }
        }
        return total / numel;
    }
}
