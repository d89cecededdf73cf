package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The pooled distillation target of {@link org.seerjava.reference.PooledAttentionTarget}, one query block's row at a
 * time, from the softmax statistics the CPU attention kernel ({@link FlashAttention}) keeps per row: the final max
 * m_r and sum l_r, and each kept key block's row max of the scaled scores.
 */
final class CpuPooledTarget {
    private CpuPooledTarget() {
    }

    /**
     * The pooled target row of query block m, as the official {@code attn_with_pooling}: for each kept key block
     * n, p*[r, n] = exp(R[r, n] − m_r) / l_r with R the block's row max of the scaled scores, raw[n] = max over the
     * block's real rows; then the row is divided by its sum.
     */
    static void row(float[] target, float[] blockMax, float[] rowMax, float[] rowSum, int rows,
                                        int bmp, int rowBase, int m, int nb, KeptBlocks mask, int s, int h) {
        double sum = 0;
        for (int j = 0; j <= m; j++) {
            float raw = 0f;
            if (mask == null || mask.keep(s, h, m, j)) {
                int base = j * bmp;
                int r = 0;
                FloatVector best = FloatVector.zero(F);
                int bound = F.loopBound(rows);
                for (; r < bound; r += L) {
                    FloatVector p = VectorMath.exp(FloatVector.fromArray(F, blockMax, base + r)
                            .sub(FloatVector.fromArray(F, rowMax, r))).div(FloatVector.fromArray(F, rowSum, r));
                    best = best.max(p);
                }
                raw = best.reduceLanes(VectorOperators.MAX);
                for (; r < rows; r++) {
                    float p = VectorMath.exp(blockMax[base + r] - rowMax[r]) / rowSum[r];
                    raw = Math.max(raw, p);
                }
            }
            target[rowBase + j] = raw;
            sum += raw;
        }
        float inv = sum == 0 ? 0f : (float) (1.0 / sum);
        for (int j = 0; j <= m; j++) {
            target[rowBase + j] *= inv;
        }
        Arrays.fill(target, rowBase + m + 1, rowBase + nb, 0f);
    }
}
