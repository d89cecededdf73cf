package org.seerjava.reference;

/**
 * Block-sparse FlashAttention forward (docs/SPEC.md §4.1). For query row r in block m = r / B, of head h:
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
 * such rows as <b>zero</b> (docs/SPEC.md §8).
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
        OnlineSoftmax row = new OnlineSoftmax(D, blockSize);
        for (int b = 0; b < shape.batch(); b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = h / g;
                int kvBase = (b * N * Hkv + kh) * D;          // key c of this head at kvBase + c·Hkv·D
                for (int r = 0; r < N; r++) {
                    int qBlock = r / blockSize;
                    row.reset();
                    for (int kBlock = 0; kBlock <= qBlock; kBlock++) {
                        if (mask.keep(b, h, qBlock, kBlock)) {
                            int first = kBlock * blockSize;
                            int end = Math.min(first + blockSize, r + 1);   // causal inside the diagonal block
                            row.visit(q, ((b * N + r) * Hq + h) * D, k, v, kvBase, Hkv * D, first, end, scale);
                        }
                    }
                    row.writeTo(out, ((b * N + r) * Hq + h) * D);           // empty row → 0
                }
            }
        }
    }

    static void checkInputs(double[] q, double[] k, double[] v, double[] out, AttentionShape shape, double scale) {
        Checks.shape(shape);
        Checks.scale(scale);
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        Checks.allFinite("v", Checks.length("v", v, shape.kvElements()));
        Checks.length("out", out, shape.qElements());
    }
}
