package org.seerjava.reference;

/**
 * Block-sparse FlashAttention forward (SPEC §4.1). For query row r in block m = r / B, of head h:
 * <pre>
 *   out[r] = Σ_{c ∈ S(r)} softmax_c(q[r] · k[c] · scale) · v[c],   S(r) = { c ≤ r : mask[h, m, c / B] }
 * </pre>
 * computed the way the kernel does: an online softmax over the selected key blocks n = 0 … m (causal inside the
 * diagonal block):
 * <pre>
 *   m_new = max(m_i, rowmax S_n);  l_i = l_i · e^(m_i − m_new) + Σ e^(S_n − m_new);
 *   acc = acc · e^(m_i − m_new) + e^(S_n − m_new) · V_n;  m_i = m_new;      out = acc / l_i
 * </pre>
 * A row with no selected key has no defined softmax; the official kernel returns NaN there. This project defines
 * such rows as <b>zero</b> (DESIGN.md decisions).
 */
public final class BlockSparseAttention {
    private BlockSparseAttention() {
    }

    /**
     * Computes {@code out [B, N, Hq, D]} for the given per-query-head mask {@code [B, Hq, nb, nb]}.
     *
     * @throws IllegalArgumentException on wrong sizes, a mask of the wrong shape, a bad scale or NaN input
     */
    public static void forward(double[] q, double[] k, double[] v, BlockMask mask, double[] out,
                               AttentionShape shape, int blockSize, double scale) {
        checkInputs(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        int nb = shape.blocks(blockSize);
        if (mask == null) {
            throw new IllegalArgumentException("block mask must not be null");
        }
        mask.requireShape(shape.batch(), shape.qHeads(), nb);
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int g = shape.groupSize();
        double[] s = new double[blockSize];
        double[] acc = new double[D];
        for (int b = 0; b < shape.batch(); b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = h / g;
                for (int r = 0; r < N; r++) {
                    int qBlock = r / blockSize;
                    int qBase = ((b * N + r) * Hq + h) * D;
                    double rowMax = Double.NEGATIVE_INFINITY;
                    double rowSum = 0;
                    java.util.Arrays.fill(acc, 0);
                    for (int kBlock = 0; kBlock <= qBlock; kBlock++) {
                        if (!mask.keep(b, h, qBlock, kBlock)) {
                            continue;
                        }
                        int first = kBlock * blockSize;
                        int end = Math.min(first + blockSize, r + 1);       // causal inside the diagonal block
                        double blockMax = Double.NEGATIVE_INFINITY;
                        for (int c = first; c < end; c++) {
                            int kBase = ((b * N + c) * Hkv + kh) * D;
                            double dot = 0;
                            for (int d = 0; d < D; d++) {
                                dot += q[qBase + d] * k[kBase + d];
                            }
                            s[c - first] = dot * scale;
                            blockMax = Math.max(blockMax, s[c - first]);
                        }
                        double newMax = Math.max(rowMax, blockMax);
                        double correction = Math.exp(rowMax - newMax);     // 0 on the first visited block
                        rowSum *= correction;
                        for (int d = 0; d < D; d++) {
                            acc[d] *= correction;
                        }
                        for (int c = first; c < end; c++) {
                            double p = Math.exp(s[c - first] - newMax);
                            rowSum += p;
                            int vBase = ((b * N + c) * Hkv + kh) * D;
                            for (int d = 0; d < D; d++) {
                                acc[d] += p * v[vBase + d];
                            }
                        }
                        rowMax = newMax;
                    }
                    for (int d = 0; d < D; d++) {
                        out[qBase + d] = rowSum == 0 ? 0.0 : acc[d] / rowSum;   // empty row → 0
                    }
                }
            }
        }
    }

    static void checkInputs(double[] q, double[] k, double[] v, double[] out, AttentionShape shape, double scale) {
        if (shape == null) {
            throw new IllegalArgumentException("attention shape must not be null");
        }
        Checks.finite("scale", scale);
        if (scale <= 0) {
            throw new IllegalArgumentException("scale must be > 0, got " + scale);
        }
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        Checks.allFinite("v", Checks.length("v", v, shape.kvElements()));
        Checks.length("out", out, shape.qElements());
    }
}
