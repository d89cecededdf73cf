package org.seerjava.reference;

/**
 * Dense causal attention with GQA (docs/SPEC.md §1, §4.1 with every block kept):
 * <pre>
 *   out[b, r, h] = Σ_{c ≤ r} softmax_c( q[b, r, h] · k[b, c, h/g] · scale ) · v[b, c, h/g]
 * </pre>
 * on post-RoPE q, k. Layouts {@code [B, N, H, D]}; scale is D^-0.5 in the model.
 */
public final class DenseAttention {
    private DenseAttention() {
    }

    /**
     * Computes {@code out [B, N, Hq, D]}.
     *
     * @throws IllegalArgumentException on wrong sizes, a non-finite or non-positive scale, or NaN input
     */
    public static void causal(double[] q, double[] k, double[] v, double[] out, AttentionShape shape, double scale) {
        BlockSparseAttention.checkInputs(q, k, v, out, shape, scale);
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int g = shape.groupSize();
        double[] p = new double[N];
        for (int b = 0; b < shape.batch(); b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = h / g;
                for (int r = 0; r < N; r++) {
                    CausalSoftmax.row(q, k, shape, b, h, r, scale, p);
                    int outBase = ((b * N + r) * Hq + h) * D;
                    for (int d = 0; d < D; d++) {
                        double acc = 0;
                        for (int c = 0; c <= r; c++) {
                            acc += p[c] * v[((b * N + c) * Hkv + kh) * D + d];
                        }
                        out[outBase + d] = acc;
                    }
                }
            }
        }
    }
}
