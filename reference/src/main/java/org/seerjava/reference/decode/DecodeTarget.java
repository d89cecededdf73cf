package org.seerjava.reference.decode;

import java.util.Arrays;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.CausalSoftmax;
import org.seerjava.reference.Checks;

/**
 * The distillation target of the decode gate (docs/SPEC.md §7.7): a 1-D max pooling of each query token's attention row,
 * a max over the g query heads of a group, only strictly earlier blocks, renormalised. With
 * {@code P_h[t, c] = softmax_{c ≤ t}(q_t · k_c · scale)} on post-RoPE q, k (query head h, KV head h / g):
 * <pre>
 *   G1[h, t, n]  = max_{c ∈ block n, c ≤ t} P_h[t, c]        (n ≤ t / B; 0 for n &gt; t / B)
 *   G[kh, t, n]  = max_{h ∈ group kh} G1[h, t, n]
 *   G[kh, t, n]  = 0 unless n &lt; t / B                         (the query's own block is excluded)
 *   GT[kh, t, n] = G[kh, t, n] / (Σ_n' G[kh, t, n'] + 1e-9)
 * </pre>
 * Rows of block 0 have no earlier block: their target is all zeros. Each of the {@code batch} sequences is one
 * unpadded sequence of {@code seqLen} tokens with blocks aligned to its first token (the official varlen kernel's
 * packed sequences); the official kernel's bf16 stores are not modelled.
 */
public final class DecodeTarget {
    /** The epsilon of the normalisation. */
    public static final double EPS = 1e-9;

    private DecodeTarget() {
    }

    /**
     * Per-head block maxima {@code G1 [batch, Hq, L, nb]}, own block included (before the strictly-earlier mask).
     *
     * @throws IllegalArgumentException on wrong sizes, a bad scale or block size, or NaN input
     */
    public static void headMaxima(double[] q, double[] k, double[] maxima, AttentionShape shape, int blockSize,
                                  double scale) {
        checkInputs(q, k, shape, blockSize, scale);
        int batch = shape.batch();
        int L = shape.seqLen();
        int Hq = shape.qHeads();
        int nb = shape.blocks(blockSize);
        Checks.length("maxima [batch, Hq, L, nb]", maxima, (long) batch * Hq * L * nb);
        Arrays.fill(maxima, 0);
        double[] p = new double[L];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < Hq; h++) {
                for (int t = 0; t < L; t++) {
                    CausalSoftmax.row(q, k, shape, b, h, t, scale, p);
                    int row = ((b * Hq + h) * L + t) * nb;
                    for (int c = 0; c <= t; c++) {
                        int cell = row + c / blockSize;
                        maxima[cell] = Math.max(maxima[cell], p[c]);
                    }
                }
            }
        }
    }

    /**
     * The target {@code GT [batch, Hkv, L, nb]}.
     *
     * @throws IllegalArgumentException on wrong sizes, a bad scale or block size, or NaN input
     */
    public static void compute(double[] q, double[] k, double[] target, AttentionShape shape, int blockSize,
                               double scale) {
        checkInputs(q, k, shape, blockSize, scale);
        int batch = shape.batch();
        int L = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int g = shape.groupSize();
        int nb = shape.blocks(blockSize);
        Checks.length("target [batch, Hkv, L, nb]", target, (long) batch * Hkv * L * nb);
        double[] g1 = new double[Checks.arraySize("head maxima", (long) batch * Hq * L * nb)];
        headMaxima(q, k, g1, shape, blockSize, scale);
        Arrays.fill(target, 0);
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < Hkv; kh++) {
                for (int t = 0; t < L; t++) {
                    int row = ((b * Hkv + kh) * L + t) * nb;
                    int visible = t / blockSize;                    // blocks n < t / B are strictly earlier
                    double sum = 0;
                    for (int n = 0; n < visible; n++) {
                        double groupMax = 0;
                        for (int j = 0; j < g; j++) {
                            groupMax = Math.max(groupMax, g1[((b * Hq + kh * g + j) * L + t) * nb + n]);
                        }
                        target[row + n] = groupMax;
                        sum += groupMax;
                    }
                    for (int n = 0; n < visible; n++) {
                        target[row + n] /= sum + EPS;
                    }
                }
            }
        }
    }

    private static void checkInputs(double[] q, double[] k, AttentionShape shape, int blockSize, double scale) {
        Checks.shape(shape);
        Checks.positive("blockSize", blockSize);
        Checks.scale(scale);
        Checks.allFinite("q", Checks.length("q [batch, L, Hq, D]", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k [batch, L, Hkv, D]", k, shape.kvElements()));
    }
}
