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
}
