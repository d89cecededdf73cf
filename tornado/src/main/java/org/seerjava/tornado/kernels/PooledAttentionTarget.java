package org.seerjava.tornado.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The self-distillation target, the kernel form of {@link org.seerjava.reference.PooledAttentionTarget#compute},
 * as the second half of the fused pass: {@link BlockSparseAttention#forward} in mode {@code TARGET} ran dense causal
 * attention and recorded, for every query row r, its largest score in each key block n and its final softmax
 * state (m_r, l_r). Since e^x grows with x, the largest probability of row r in block n is
 * {@code e^(rowMax[r, n] − m_r) / l_r}, so
 * <pre>
 *   raw[h, m, n] = max_{r ∈ block m} e^(rowMax[r, n] − m_r) / l_r      (n ≤ m; 0 above)
 *   GT[h, m, n]  = raw[h, m, n] / Σ_{n'} raw[h, m, n']
 * </pre>
 * One work-item per query-block row (b, h, m). CUDA form: the end phase of {@code attn_f32_body} (mode 2).
 */
public final class PooledAttentionTarget {
    private PooledAttentionTarget() {
    }

    /**
     * {@code target [B, Hq, nb, nb]} from {@code rowMax [B, Hq, nb, 64, nb]} and {@code rowStats [B, Hq, nb, 64, 2]}.
     */
    public static void fromRowMaxima(FloatArray rowMax, FloatArray rowStats, FloatArray target, int batch,
                                     int qHeads, int seqLen, int blockSize) {
        int nb = (seqLen + blockSize - 1) / blockSize;
        for (@Parallel int row = 0; row < batch * qHeads * nb; row++) {
            int qBlock = row % nb;
            int rows = TornadoMath.min(blockSize, seqLen - qBlock * blockSize);
            float total = 0f;
            for (int kBlock = 0; kBlock < nb; kBlock++) {
                float raw = 0f;
                if (kBlock <= qBlock) {
                    for (int r = 0; r < rows; r++) {
                        int at = row * BlockSparseAttention.TILE + r;
                        float p = TornadoMath.exp(rowMax.get(at * nb + kBlock) - rowStats.get(at * 2))
                                / rowStats.get(at * 2 + 1);
                        raw = TornadoMath.max(raw, p);
                    }
                }
                target.set(row * nb + kBlock, raw);
                total += raw;
            }
            float inv = total > 0f ? 1f / total : 0f;
            for (int kBlock = 0; kBlock < nb; kBlock++) {
                target.set(row * nb + kBlock, target.get(row * nb + kBlock) * inv);
            }
        }
    }
}
