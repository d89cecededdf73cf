package org.seerjava.reference;

/**
 * The attention probabilities of one query row under the causal mask:
 * <pre>
 *   p[c] = exp(s_c − max_c' s_c') / Σ_{c' ≤ r} exp(s_c' − max),   s_c = q[b, r, h] · k[b, c, h/g] · scale,   c ≤ r
 * </pre>
 * on layouts {@code [B, N, H, D]}. Shared by dense attention and the distillation targets.
 */
public final class CausalSoftmax {
    private CausalSoftmax() {
    }

    /** Writes p[0..r] for query row {@code r} of head {@code h} in sequence {@code b}; {@code p} needs r + 1 slots. */
    public static void row(double[] q, double[] k, AttentionShape shape, int b, int h, int r, double scale,
                           double[] p) {
        int N = shape.seqLen();
        int D = shape.headDim();
        int kh = h / shape.groupSize();
        int qBase = ((b * N + r) * shape.qHeads() + h) * D;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c <= r; c++) {
            int kBase = ((b * N + c) * shape.kvHeads() + kh) * D;
            double dot = 0;
            for (int d = 0; d < D; d++) {
                dot += q[qBase + d] * k[kBase + d];
            }
            p[c] = dot * scale;
            max = Math.max(max, p[c]);
        }
        double sum = 0;
        for (int c = 0; c <= r; c++) {
            p[c] = Math.exp(p[c] - max);
            sum += p[c];
        }
        for (int c = 0; c <= r; c++) {
            p[c] /= sum;
        }
    }
}
