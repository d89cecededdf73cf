package org.seerjava.reference;

/**
 * The self-distillation target of the prefill gate (docs/SPEC.md §5): the 2-D max pooling (kernel = stride = B, ceil mode)
 * of the causal attention map, renormalised per query-block row. With
 * {@code P_h[r, c] = softmax_{c ≤ r}(q_r · k_c · scale)} on post-RoPE q, k:
 * <pre>
 *   raw[h, m, n] = max_{r ∈ block m, c ∈ block n, c ≤ r} P_h[r, c]      (n ≤ m; 0 for n &gt; m)
 *   GT[h, m, n]  = raw[h, m, n] / Σ_{n'} raw[h, m, n']
 * </pre>
 * The target is per query head (GQA: head h reads key head h/g).
 */
public final class PooledAttentionTarget {
    private PooledAttentionTarget() {
    }

    /**
     * Computes {@code target [B, Hq, nb, nb]}.
     *
     * @throws IllegalArgumentException on wrong sizes, a bad scale or block size, or NaN input
     */
    public static void compute(double[] q, double[] k, double[] target, AttentionShape shape, int blockSize,
                               double scale) {
        rawMax(q, k, target, shape, blockSize, scale);
        int nb = shape.blocks(blockSize);
        for (int map = 0; map < shape.batch() * shape.qHeads(); map++) {
            for (int qBlock = 0; qBlock < nb; qBlock++) {
                int row = (map * nb + qBlock) * nb;
                double rowSum = 0;
                for (int kBlock = 0; kBlock <= qBlock; kBlock++) {
                    rowSum += target[row + kBlock];
                }
                for (int kBlock = 0; kBlock <= qBlock; kBlock++) {
                    target[row + kBlock] /= rowSum;
                }
            }
        }
    }

    /**
     * The un-normalised map {@code raw [B, Hq, nb, nb]}: the largest causal attention probability of each
     * (query block, key block) tile; 0 above the block diagonal.
     */
    public static void rawMax(double[] q, double[] k, double[] raw, AttentionShape shape, int blockSize,
                              double scale) {
        Checks.shape(shape);
        Checks.positive("blockSize", blockSize);
        Checks.scale(scale);
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        int nb = shape.blocks(blockSize);
        Checks.length("raw", raw, (long) shape.batch() * shape.qHeads() * nb * nb);
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        java.util.Arrays.fill(raw, 0);
        double[] p = new double[N];
        for (int b = 0; b < shape.batch(); b++) {
            for (int h = 0; h < Hq; h++) {
                int mapBase = (b * Hq + h) * nb * nb;
                for (int r = 0; r < N; r++) {
                    CausalSoftmax.row(q, k, shape, b, h, r, scale, p);
                    int row = mapBase + (r / blockSize) * nb;
                    for (int c = 0; c <= r; c++) {
                        int cell = row + c / blockSize;
                        raw[cell] = Math.max(raw[cell], p[c]);
                    }
                }
            }
        }
    }
}
