package org.seerjava.cpu;

import java.util.Arrays;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.decode.DecodeTarget;

/**
 * The decode distillation target ({@link DecodeTarget#compute}) fused with dense attention: {@link FlashAttention}
 * gives each query head's probability maxima per strictly earlier key block, and this class takes the group max over
 * the g heads of a KV head and normalises each row:
 * <pre>
 *   G[kh, t, n]  = max_{h ∈ group kh} G1[h, t, n]          n &lt; t / B
 *   GT[kh, t, n] = G[kh, t, n] / (Σ_n' G[kh, t, n'] + 1e-9)  (the sum in double)
 * </pre>
 * The per-head maxima take {@code B·Hq·N·nb} floats of scratch (25 MiB for the embedded model at N = 8,192).
 */
final class CpuDecodeTarget {
    private CpuDecodeTarget() {
    }

    /** Dense attention into {@code out} and the target {@code [B, Hkv, N, nb]} into {@code target}. */
    static void attentionWithTarget(float[] q, float[] k, float[] v, float[] out, float[] target, AttentionShape shape,
                                    int bs, double scale) {
        int batch = shape.batch();
        int n = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int g = shape.groupSize();
        int nb = shape.blocks(bs);
        float[] maxima = new float[Math.toIntExact((long) batch * hq * n * nb)];
        FlashAttention.runWithRowMaxima(q, k, v, out, maxima, shape, bs, scale);
        int chunk = 256;
        int chunks = Math.ceilDiv(n, chunk);
        Parallel.forEach(batch * hkv * chunks, task -> {
            int bk = task / chunks;
            int b = bk / hkv;
            int kh = bk % hkv;
            int end = Math.min(n, (task % chunks + 1) * chunk);
            for (int t = (task % chunks) * chunk; t < end; t++) {
                int row = ((b * hkv + kh) * n + t) * nb;
                int visible = t / bs;
                double sum = 0;
                for (int j = 0; j < visible; j++) {
                    float max = 0f;
                    for (int a = 0; a < g; a++) {
                        max = Math.max(max, maxima[((b * hq + kh * g + a) * n + t) * nb + j]);
                    }
                    target[row + j] = max;
                    sum += max;
                }
                double denominator = sum + DecodeTarget.EPS;
                for (int j = 0; j < visible; j++) {
                    target[row + j] = (float) (target[row + j] / denominator);
                }
                Arrays.fill(target, row + visible, row + nb, 0f);
            }
        });
    }
}
