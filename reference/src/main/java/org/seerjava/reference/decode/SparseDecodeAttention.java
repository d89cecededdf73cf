package org.seerjava.reference.decode;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Checks;
import org.seerjava.reference.OnlineSoftmax;

/**
 * Block-sparse attention of one new query token per sequence over a left-padded KV cache (docs/SPEC.md §7.6, the
 * mask-based left-padded decode kernel). Sequence b holds {@code cacheSeqLens[b]} real tokens at padded positions
 * {@code [leftPad, Lmax)}, {@code leftPad = Lmax − cacheSeqLens[b]}; blocks are in padded coordinates. For query
 * head h of KV head kh = h / g:
 * <pre>
 *   V(b, kh) = { n : leftPad/B ≤ n &lt; nb, mask[b, kh, n] or n = leftPad/B }      (first real block forced)
 *   S        = { c : c / B ∈ V(b, kh), leftPad ≤ c &lt; Lmax }
 *   out[b, h] = Σ_{c ∈ S} softmax_c( q[b, h] · k[b, c, kh] · scale ) · v[b, c, kh]
 * </pre>
 * computed as the kernel does, one visited block at a time with the online softmax
 * ({@code m_new = max(m, rowmax s_n); l = l·e^(m − m_new) + Σ e^(s_n − m_new); acc = acc·e^(m − m_new) + Σ e^(s_n − m_new)·v}).
 * The last block is not forced here: {@link DecodeSelection#select} sets it. q and the cached k are post-RoPE;
 * the model's scale is D^-0.5. The kernel's split-K and bf16 casts are not modelled (float64 throughout).
 */
public final class SparseDecodeAttention {
    private SparseDecodeAttention() {
    }

    /**
     * Computes {@code out [batch, Hq, D]}.
     *
     * @param q            {@code [batch, Hq, D]}, the new token's post-RoPE queries
     * @param kCache       {@code [batch, Lmax, Hkv, D]}, post-RoPE keys, left-padded
     * @param vCache       {@code [batch, Lmax, Hkv, D]}, left-padded
     * @param cacheSeqLens real tokens per sequence, in {@code [1, Lmax]}
     * @param mask         {@code [batch, Hkv, nb]}, nb = ceil(Lmax / B): the gate's selection
     * @param shape        batch, {@code seqLen = Lmax}, Hq, Hkv, D
     * @throws IllegalArgumentException on wrong sizes, bad sequence lengths, a bad scale or NaN input
     */
    public static void forward(double[] q, double[] kCache, double[] vCache, int[] cacheSeqLens, boolean[] mask,
                               double[] out, AttentionShape shape, int blockSize, double scale) {
        Checks.shape(shape);
        Checks.positive("blockSize", blockSize);
        Checks.scale(scale);
        int batch = shape.batch();
        int Lmax = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int g = shape.groupSize();
        int nb = shape.blocks(blockSize);
        Checks.allFinite("q", Checks.length("q [batch, Hq, D]", q, (long) batch * Hq * D));
        Checks.allFinite("kCache", Checks.length("kCache [batch, Lmax, Hkv, D]", kCache, shape.kvElements()));
        Checks.allFinite("vCache", Checks.length("vCache [batch, Lmax, Hkv, D]", vCache, shape.kvElements()));
        Checks.length("out [batch, Hq, D]", out, (long) batch * Hq * D);
        if (cacheSeqLens == null || cacheSeqLens.length != batch) {
            throw new IllegalArgumentException("cacheSeqLens must have batch = " + batch + " entries, got "
                    + (cacheSeqLens == null ? "null" : cacheSeqLens.length));
        }
        for (int b = 0; b < batch; b++) {
            if (cacheSeqLens[b] < 1 || cacheSeqLens[b] > Lmax) {
                throw new IllegalArgumentException("cacheSeqLens[" + b + "] must be in [1, Lmax = " + Lmax + "], got "
                        + cacheSeqLens[b]);
            }
        }
        if (mask == null || mask.length != (long) batch * Hkv * nb) {
            throw new IllegalArgumentException("mask [batch, Hkv, nb] has " + (mask == null ? "null" : mask.length)
                    + " elements, expected " + (long) batch * Hkv * nb);
        }

        OnlineSoftmax row = new OnlineSoftmax(D, blockSize);
        for (int b = 0; b < batch; b++) {
            int leftPad = Lmax - cacheSeqLens[b];
            int firstBlock = leftPad / blockSize;
            for (int kh = 0; kh < Hkv; kh++) {
                for (int j = 0; j < g; j++) {
                    int h = kh * g + j;
                    int qBase = (b * Hq + h) * D;
                    row.reset();
                    for (int n = firstBlock; n < nb; n++) {
                        if (!mask[(b * Hkv + kh) * nb + n] && n != firstBlock) {
                            continue;
                        }
                        int first = Math.max(n * blockSize, leftPad);      // pad keys get −inf: skip them
                        int end = Math.min((n + 1) * blockSize, Lmax);
                        row.visit(q, qBase, kCache, vCache, (b * Lmax * Hkv + kh) * D, Hkv * D, first, end, scale);
                    }
                    row.writeTo(out, qBase);                               // the first real block is never empty
                }
            }
        }
    }

    /**
     * Teacher-forced sparse decoding of one unpadded sequence: every row t ≥ {@code from} is the decode step that
     * appends token t, i.e. {@link #forward} of {@code q[t]} over a cache of the keys and values {@code 0 … t}
     * ({@code Lmax = cacheSeqLens = t + 1}, blocks {@code 0 … t / B}) with row t's own selection. With the
     * selections a decoder would make, this is what decoding tokens {@code from … N − 1} one by one computes,
     * without the sequential loop (the held-out evaluation of docs/ACCURACY.md uses it).
     *
     * @param q     {@code [1, N, Hq, D]}, post-RoPE
     * @param k     {@code [1, N, Hkv, D]}, post-RoPE
     * @param v     {@code [1, N, Hkv, D]}
     * @param mask  {@code [N − from, Hkv, nb]}, nb = ceil(N / B): row t's selection at index {@code t − from};
     *              entries of blocks after {@code t / B} are ignored
     * @param from  the first decoded row, in {@code [0, N)}
     * @param out   {@code [1, N, Hq, D]}; rows {@code from … N − 1} are written, earlier rows are left as they are
     * @param shape batch 1, {@code seqLen = N}
     * @throws IllegalArgumentException on a batch other than 1, wrong sizes, a bad {@code from} or NaN input
     */
    public static void forwardRows(double[] q, double[] k, double[] v, boolean[] mask, int from, double[] out,
                                   AttentionShape shape, int blockSize, double scale) {
        Checks.shape(shape);
        Checks.positive("blockSize", blockSize);
        if (shape.batch() != 1) {
            throw new IllegalArgumentException("teacher-forced decoding takes one sequence (batch 1), got batch "
                    + shape.batch());
        }
        int n = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int nb = shape.blocks(blockSize);
        if (from < 0 || from >= n) {
            throw new IllegalArgumentException("from must be in [0, N = " + n + "), got " + from);
        }
        Checks.length("q [1, N, Hq, D]", q, shape.qElements());
        Checks.length("k [1, N, Hkv, D]", k, shape.kvElements());
        Checks.length("v [1, N, Hkv, D]", v, shape.kvElements());
        Checks.length("out [1, N, Hq, D]", out, shape.qElements());
        if (mask == null || mask.length != (long) (n - from) * hkv * nb) {
            throw new IllegalArgumentException("mask [N − from, Hkv, nb] has " + (mask == null ? "null" : mask.length)
                    + " elements, expected " + (long) (n - from) * hkv * nb);
        }
        for (int t = from; t < n; t++) {
            int len = t + 1;
            int rowBlocks = Math.ceilDiv(len, blockSize);
            boolean[] rowMask = new boolean[hkv * rowBlocks];
            for (int kh = 0; kh < hkv; kh++) {
                System.arraycopy(mask, ((t - from) * hkv + kh) * nb, rowMask, kh * rowBlocks, rowBlocks);
            }
            double[] qRow = java.util.Arrays.copyOfRange(q, t * hq * d, (t + 1) * hq * d);
            double[] kPrefix = java.util.Arrays.copyOf(k, len * hkv * d);
            double[] vPrefix = java.util.Arrays.copyOf(v, len * hkv * d);
            double[] o = new double[hq * d];
            forward(qRow, kPrefix, vPrefix, new int[]{len}, rowMask, o, new AttentionShape(1, len, hq, hkv, d),
                    blockSize, scale);
            System.arraycopy(o, 0, out, t * hq * d, hq * d);
        }
    }
}
