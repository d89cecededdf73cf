package org.seerjava.cpu;

import org.seerjava.reference.DistillationLoss;

/**
 * The KL 'mean' distillation loss ({@link DistillationLoss#klMean}) and its gradient, parallel over (batch, head);
 * per-row log-sum-exp and sums in double. The maps are nb² per head, so this is never the hot path.
 */
final class CpuDistillation {
    private CpuDistillation() {
    }

    static double klMean(float[] logits, float[] target, float[] dLogits, int batch, int heads, int blocks) {
        int r0 = DistillationLoss.firstRow(blocks);
        double numel = (double) batch * heads * (blocks - r0) * blocks;
        double[] partial = new double[batch * heads];
        Parallel.forEach(batch * heads, bh -> {
            double total = 0;
            if (dLogits != null) {
                int base = bh * blocks * blocks;
                java.util.Arrays.fill(dLogits, base, base + r0 * blocks, 0f);
            }
            for (int qBlock = r0; qBlock < blocks; qBlock++) {
                int row = (bh * blocks + qBlock) * blocks;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < blocks; j++) {
                    max = Math.max(max, logits[row + j]);
                }
                double sumExp = 0;
                for (int j = 0; j < blocks; j++) {
                    sumExp += Math.exp((double) logits[row + j] - max);
                }
                double logSumExp = max + Math.log(sumExp);
                double targetSum = 0;
                for (int j = 0; j < blocks; j++) {
                    double t = target[row + j];
                    targetSum += t;
                    if (t > 0) {
                        total += t * (Math.log(t) - (logits[row + j] - logSumExp));
                    }
                }
                if (dLogits != null) {
                    for (int j = 0; j < blocks; j++) {
                        double p = Math.exp(logits[row + j] - logSumExp);
                        dLogits[row + j] = (float) ((p * targetSum - target[row + j]) / numel);
                    }
                }
            }
            partial[bh] = total;
        });
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        return total / numel;
    }
}
