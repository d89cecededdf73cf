package org.seerjava.reference;

import java.util.Arrays;

/**
 * The online softmax of one query row, folded over key ranges one block at a time (FlashAttention):
 * <pre>
 *   S_c   = q · k_c · scale                       for c in the visited range
 *   m_new = max(m, max_c S_c);   correction = e^(m − m_new)
 *   l     = l · correction + Σ_c e^(S_c − m_new)
 *   acc   = acc · correction + Σ_c e^(S_c − m_new) · v_c;   m = m_new
 *   out   = acc / l                               (zero when no key was visited)
 * </pre>
 * Keys and values are addressed as {@code base + c · stride}, so one instance serves the prefill layout
 * {@code [B, N, Hkv, D]} and the decode caches alike.
 */
public final class OnlineSoftmax {
    private final double[] acc;
    private final double[] scores;
    private double rowMax;
    private double rowSum;

    /** State for rows of {@code dim} channels visiting at most {@code maxRange} keys at a time. */
    public OnlineSoftmax(int dim, int maxRange) {
        this.acc = new double[Checks.positive("dim", dim)];
        this.scores = new double[Checks.positive("maxRange", maxRange)];
        reset();
    }

    /** Starts a new row: m = −∞, l = 0, acc = 0. */
    public void reset() {
        rowMax = Double.NEGATIVE_INFINITY;
        rowSum = 0;
        Arrays.fill(acc, 0);
    }

    /**
     * Folds keys {@code c ∈ [first, end)} into the row of {@code q[qBase, qBase + dim)}; key c is
     * {@code k[kvBase + c·stride, … + dim)} and its value {@code v[kvBase + c·stride, … + dim)}.
     */
    public void visit(double[] q, int qBase, double[] k, double[] v, int kvBase, int stride, int first, int end,
                      double scale) {
        int dim = acc.length;
        double blockMax = Double.NEGATIVE_INFINITY;
        for (int c = first; c < end; c++) {
            int kBase = kvBase + c * stride;
            double dot = 0;
            for (int d = 0; d < dim; d++) {
                dot += q[qBase + d] * k[kBase + d];
            }
            scores[c - first] = dot * scale;
            blockMax = Math.max(blockMax, scores[c - first]);
        }
        double newMax = Math.max(rowMax, blockMax);
        double correction = Math.exp(rowMax - newMax);     // 0 on the first visited block
        rowSum *= correction;
        for (int d = 0; d < dim; d++) {
            acc[d] *= correction;
        }
        for (int c = first; c < end; c++) {
            double p = Math.exp(scores[c - first] - newMax);
            rowSum += p;
            int vBase = kvBase + c * stride;
            for (int d = 0; d < dim; d++) {
                acc[d] += p * v[vBase + d];
            }
        }
        rowMax = newMax;
    }

    /** Writes acc / l to {@code out[base, base + dim)}; a row that visited no key is zero. */
    public void writeTo(double[] out, int base) {
        for (int d = 0; d < acc.length; d++) {
            out[base + d] = rowSum == 0 ? 0.0 : acc[d] / rowSum;
        }
    }
}
