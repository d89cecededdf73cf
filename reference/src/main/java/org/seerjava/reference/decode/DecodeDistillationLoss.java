package org.seerjava.reference.decode;

import java.util.Arrays;
import org.seerjava.reference.Checks;

/**
 * The decode gate's distillation loss (docs/SPEC.md §7.7): PyTorch's {@code KLDivLoss(reduction='mean')} of the
 * row-wise log-softmax of the training logits against the decode target, over the query rows that count (the
 * official script keeps the tokens from the middle of each sequence on; the caller passes only those rows):
 * <pre>
 *   Y[row, :] = log_softmax(logits[row, :])
 *   loss      = Σ_{row, j} T[row, j] · (log T[row, j] − Y[row, j]) / (rows · blocks)      terms with T = 0 are 0
 *   ∂loss/∂logits[row, j] = (p[row, j] · Σ_j' T[row, j'] − T[row, j]) / (rows · blocks)   p = softmax of the row
 * </pre>
 * Rows are {@code Hkv · R} rows of {@code blocks} logits. A row whose logits are all masked (a token of block 0) has
 * a zero target: it adds 0 but counts in the element count. The training loss of a model is
 * {@link org.seerjava.reference.DistillationLoss#GATE_LOSS_SCALE} times the sum over layers of each layer's loss
 * averaged over the sequences.
 */
public final class DecodeDistillationLoss {
    private DecodeDistillationLoss() {
    }

    /**
     * The loss, and its gradient into {@code dLogits} when that is not null.
     *
     * @param logits {@code [rows, blocks]}
     * @param target {@code [rows, blocks]}, ≥ 0
     * @throws IllegalArgumentException on wrong sizes, non-finite logits or a negative or non-finite target
     */
    public static double klMean(double[] logits, double[] target, int rows, int blocks, double[] dLogits) {
        Checks.positive("rows", rows);
        Checks.positive("blocks", blocks);
        long n = (long) rows * blocks;
        Checks.allFinite("logits", Checks.length("logits", logits, n));
        Checks.nonNegative("target", Checks.allFinite("target", Checks.length("target", target, n)));
        if (dLogits != null) {
            Checks.length("dLogits", dLogits, n);
            Arrays.fill(dLogits, 0);
        }
        double numel = (double) n;
        double total = 0;
        for (int row = 0; row < rows; row++) {
            int base = row * blocks;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < blocks; j++) {
                max = Math.max(max, logits[base + j]);
            }
            double sumExp = 0;
            for (int j = 0; j < blocks; j++) {
                sumExp += Math.exp(logits[base + j] - max);
            }
            double logSumExp = max + Math.log(sumExp);
            double targetSum = 0;
            for (int j = 0; j < blocks; j++) {
                double t = target[base + j];
                targetSum += t;
                if (t > 0) {
                    total += t * (Math.log(t) - (logits[base + j] - logSumExp));
                }
            }
            if (dLogits != null && targetSum > 0) {
                for (int j = 0; j < blocks; j++) {
                    dLogits[base + j] = (Math.exp(logits[base + j] - logSumExp) * targetSum - target[base + j]) / numel;
                }
            }
        }
        return total / numel;
    }
}
