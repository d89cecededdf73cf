package org.seerjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Block-sparse FlashAttention forward, the kernel form of {@link org.seerjava.reference.BlockSparseAttention#forward}
 * with the online softmax of {@link org.seerjava.reference.OnlineSoftmax}: for the rows r of query block m of head h,
 * <pre>
 *   for every kept key block n ≤ m (mask[b, h, m, n] = 1):
 *     S      = Q_m · K_nᵀ · scale                 (−∞ above the diagonal inside block m, and for keys ≥ N)
 *     m_new  = max(m_r, rowmax S);   corr = e^(m_r − m_new)
 *     l_r    = l_r · corr + Σ_c e^(S − m_new);   O_r = O_r · corr + e^(S − m_new) · V_n;   m_r = m_new
 *   out[r] = O_r / l_r                            (zero for a row that kept no block)
 * </pre>
 * The same kernel computes {@link org.seerjava.reference.DenseAttention#causal} ({@link #DENSE}: every causal block
 * kept) and the first half of the fused distillation pass ({@link #TARGET}: it also records every row's maximum
 * score per key block and its final m and l, from which {@link PooledAttentionTarget#fromRowMaxima} forms the pooled
 * target). CUDA forms: {@code attn_f32_body} in {@code gpu/.../kernels/ops_fp32.cu} (one thread per row) and
 * {@code attention_bf16.cu} (tensor cores).
 *
 * <p><b>Tiling.</b> One work-group of {@link #THREADS} work-items per {@link #QUERY_ROWS} query rows (half of a
 * 64-row query block) of head h and sequence b; the late, heavy query blocks start first. The work-group visits one
 * key block of up to {@link #TILE} keys at a time. Work-item t owns four rows ({@code r0 = 4·(t / 8)} to
 * {@code r0 + 3}) and, of every row, the keys and output channels {@code t % 8 + 8·j}: the 4 × 8 scores
 * {@code s<row><j>} and the 4 × D/8 outputs {@code o<row><j>} (j in hex) are its own registers, so every value it
 * reads from local memory feeds 4 or 8 multiply-adds. The eight work-items of a row exchange their partial row
 * maxima through local memory and keep their partial row sums until the end. (TornadoVM's PTX backend keeps a
 * private {@code float[]} in local memory and does not fuse vector-type multiply-adds, hence plain scalars.)
 *
 * <p><b>Local memory</b> (34 KB of the H200's 48 KB per work-group, all static): Q transposed,
 * {@code qT[d · 33 + r]}; one staging area holding in turn a 32-channel chunk of K transposed, {@code kT[dd · 65 +
 * c]}, or a 16-key chunk of V, {@code v[c · D + d]}; the probabilities P transposed, {@code pT[c · 33 + r]}; and the
 * row-maximum exchange. The odd pitches put the 32 channels a warp stores into 32 different banks.
 *
 * <p>GQA: query head h reads key/value head {@code h / (Hq / Hkv)} of the {@code [B, N, Hkv, D]} tensors, nothing
 * is copied. A block size below {@link #TILE} pads the key tile (keys beyond the block are masked); block sizes up
 * to {@link #QUERY_ROWS} leave the second work-group of each query block without rows.
 */
public final class BlockSparseAttention {
    /** Block-sparse attention: key blocks kept by the mask. */
    public static final int SPARSE = 0;
    /** Dense causal attention: every key block n ≤ m. */
    public static final int DENSE = 1;
    /** Dense causal attention, recording each row's block maxima and final (m, l) for the pooled target. */
    public static final int TARGET = 2;

    /** Keys of a key tile; the largest block size the kernel takes. */
    public static final int TILE = 64;
    /** Query rows of a work-group (two work-groups per 64-row query block). */
    public static final int QUERY_ROWS = 32;
    /** Work-items per work-group: four rows × eight lanes each. */
    public static final int THREADS = 64;
    /** Work-items sharing a row (they split its keys and output channels). */
    public static final int LANES = 8;
    /** Largest head dim (the Q tile's local-memory size). */
    public static final int MAX_HEAD_DIM = 128;
    /** Head dims must be a multiple of this: one staged chunk of K channels. */
    public static final int CHANNEL_CHUNK = 32;
    /** Keys of V staged at a time. */
    public static final int KEY_CHUNK = 16;

    static final int QP = QUERY_ROWS + 1;                         // pitch of qT and pT
    static final int KP = TILE + 1;                               // pitch of the K chunk
    static final int STAGE = CHANNEL_CHUNK * KP;                  // ≥ KEY_CHUNK · MAX_HEAD_DIM
    static final int PT = QP;

    private BlockSparseAttention() {
    }

    /**
     * Attention over post-RoPE {@code q [B, N, Hq, D]}, {@code k, v [B, N, Hkv, D]} into {@code out [B, N, Hq, D]}.
     * Grid: {@code 2·nb · THREADS} × Hq × B work-items in work-groups of {@link #THREADS}.
     *
     * @param mask     {@code [B, Hq, nb, nb]} 0/1 ({@link #SPARSE}; ignored otherwise)
     * @param rowMax   {@link #TARGET}: {@code [B, Hq, nb, TILE, nb]}, row r's maximum score in key block n
     * @param rowStats {@link #TARGET}: {@code [B, Hq, nb, TILE, 2]}, row r's final (m, l)
     * @param mode     {@link #SPARSE}, {@link #DENSE} or {@link #TARGET}
     */
    public static void forward(KernelContext context, FloatArray q, FloatArray k, FloatArray v, ByteArray mask,
                               FloatArray out, FloatArray rowMax, FloatArray rowStats, int seqLen, int qHeads,
                               int kvHeads, int headDim, int blockSize, float scale, int mode) {
        float[] qT = context.allocateFloatLocalArray(MAX_HEAD_DIM * QP);
        float[] stage = context.allocateFloatLocalArray(STAGE);
        float[] pT = context.allocateFloatLocalArray(TILE * PT);
        float[] exchange = context.allocateFloatLocalArray(QUERY_ROWS * LANES);

        int tid = context.localIdx;
        int nb = (seqLen + blockSize - 1) / blockSize;
        int qBlock = nb - 1 - context.groupIdx / 2;                  // heavy query blocks first
        int rowOffset = (context.groupIdx % 2) * QUERY_ROWS;          // this work-group's half of the block
        int h = context.groupIdy;
        int b = context.groupIdz;
        int kh = h / (qHeads / kvHeads);
        int r0 = (tid / LANES) * 4;                                   // this work-item's first row in the tile
        int lane = tid % LANES;
        int kd = tid % CHANNEL_CHUNK;                                 // the K channel this work-item stages
        int channels = headDim / LANES;                               // output channels per work-item
        int firstRow = qBlock * blockSize + rowOffset;
        int rows = TornadoMath.min(TornadoMath.min(QUERY_ROWS, blockSize - rowOffset), seqLen - firstRow);
        int row0 = rowOffset + r0;                                    // index of row r0 inside its query block
        int maskRow = ((b * qHeads + h) * nb + qBlock) * nb;
        int scratchRow = ((b * qHeads + h) * nb + qBlock) * TILE + row0;

        if (rows > 0) {
            // Q tile, transposed: qT[d · QP + r]. Rows past the block or the sequence repeat its last row (their
            // results are never written); eight loads in flight per work-item.
            int lastRow = rows - 1;
            int qRow0 = (b * seqLen + firstRow) * qHeads + h;                  // row r at (qRow0 + r·Hq) · D
            for (int d = tid; d < headDim; d += THREADS) {
                for (int r = 0; r < QUERY_ROWS; r += 8) {
                    float q0 = q.get((qRow0 + TornadoMath.min(r, lastRow) * qHeads) * headDim + d);
                    float q1 = q.get((qRow0 + TornadoMath.min(r + 1, lastRow) * qHeads) * headDim + d);
                    float q2 = q.get((qRow0 + TornadoMath.min(r + 2, lastRow) * qHeads) * headDim + d);
                    float q3 = q.get((qRow0 + TornadoMath.min(r + 3, lastRow) * qHeads) * headDim + d);
                    float q4 = q.get((qRow0 + TornadoMath.min(r + 4, lastRow) * qHeads) * headDim + d);
                    float q5 = q.get((qRow0 + TornadoMath.min(r + 5, lastRow) * qHeads) * headDim + d);
                    float q6 = q.get((qRow0 + TornadoMath.min(r + 6, lastRow) * qHeads) * headDim + d);
                    float q7 = q.get((qRow0 + TornadoMath.min(r + 7, lastRow) * qHeads) * headDim + d);
                    qT[d * QP + r] = q0; qT[d * QP + r + 1] = q1; qT[d * QP + r + 2] = q2; qT[d * QP + r + 3] = q3;
                    qT[d * QP + r + 4] = q4; qT[d * QP + r + 5] = q5; qT[d * QP + r + 6] = q6;
                    qT[d * QP + r + 7] = q7;
                }
            }
        }

        float m0 = Float.NEGATIVE_INFINITY, m1 = Float.NEGATIVE_INFINITY;
        float m2 = Float.NEGATIVE_INFINITY, m3 = Float.NEGATIVE_INFINITY;
        float l0 = 0f, l1 = 0f, l2 = 0f, l3 = 0f;
        float o00 = 0f, o01 = 0f, o02 = 0f, o03 = 0f, o04 = 0f, o05 = 0f, o06 = 0f, o07 = 0f;
        float o08 = 0f, o09 = 0f, o0a = 0f, o0b = 0f, o0c = 0f, o0d = 0f, o0e = 0f, o0f = 0f;
        float o10 = 0f, o11 = 0f, o12 = 0f, o13 = 0f, o14 = 0f, o15 = 0f, o16 = 0f, o17 = 0f;
        float o18 = 0f, o19 = 0f, o1a = 0f, o1b = 0f, o1c = 0f, o1d = 0f, o1e = 0f, o1f = 0f;
        float o20 = 0f, o21 = 0f, o22 = 0f, o23 = 0f, o24 = 0f, o25 = 0f, o26 = 0f, o27 = 0f;
        float o28 = 0f, o29 = 0f, o2a = 0f, o2b = 0f, o2c = 0f, o2d = 0f, o2e = 0f, o2f = 0f;
        float o30 = 0f, o31 = 0f, o32 = 0f, o33 = 0f, o34 = 0f, o35 = 0f, o36 = 0f, o37 = 0f;
        float o38 = 0f, o39 = 0f, o3a = 0f, o3b = 0f, o3c = 0f, o3d = 0f, o3e = 0f, o3f = 0f;

        for (int kBlock = 0; kBlock <= qBlock && rows > 0; kBlock++) {
            if (mode != SPARSE || mask.get(maskRow + kBlock) != 0) {
                int firstKey = kBlock * blockSize;
                int keys = TornadoMath.min(blockSize, seqLen - firstKey);
                int lastKey = keys - 1;                   // keys past the block repeat its last one (masked below)
                int kvRow0 = (b * seqLen + firstKey) * kvHeads + kh;            // key c at (kvRow0 + c·Hkv) · D
                boolean diagonal = kBlock == qBlock;

                // S = Q · Kᵀ, K staged 32 channels at a time, transposed: kT[dd · KP + c].
                float s00 = 0f, s01 = 0f, s02 = 0f, s03 = 0f, s04 = 0f, s05 = 0f, s06 = 0f, s07 = 0f;
                float s10 = 0f, s11 = 0f, s12 = 0f, s13 = 0f, s14 = 0f, s15 = 0f, s16 = 0f, s17 = 0f;
                float s20 = 0f, s21 = 0f, s22 = 0f, s23 = 0f, s24 = 0f, s25 = 0f, s26 = 0f, s27 = 0f;
                float s30 = 0f, s31 = 0f, s32 = 0f, s33 = 0f, s34 = 0f, s35 = 0f, s36 = 0f, s37 = 0f;
                for (int d0 = 0; d0 < headDim; d0 += CHANNEL_CHUNK) {
                    context.localBarrier();
                    // K chunk, transposed: work-item t stages channel t % 32 of keys t / 32 + 2i; 8 loads in flight.
                    for (int c = tid / CHANNEL_CHUNK; c < TILE; c += 16) {
                        float k0 = k.get((kvRow0 + TornadoMath.min(c, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k1 = k.get((kvRow0 + TornadoMath.min(c + 2, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k2 = k.get((kvRow0 + TornadoMath.min(c + 4, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k3 = k.get((kvRow0 + TornadoMath.min(c + 6, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k4 = k.get((kvRow0 + TornadoMath.min(c + 8, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k5 = k.get((kvRow0 + TornadoMath.min(c + 10, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k6 = k.get((kvRow0 + TornadoMath.min(c + 12, lastKey) * kvHeads) * headDim + d0 + kd);
                        float k7 = k.get((kvRow0 + TornadoMath.min(c + 14, lastKey) * kvHeads) * headDim + d0 + kd);
                        stage[kd * KP + c] = k0; stage[kd * KP + c + 2] = k1; stage[kd * KP + c + 4] = k2;
                        stage[kd * KP + c + 6] = k3; stage[kd * KP + c + 8] = k4; stage[kd * KP + c + 10] = k5;
                        stage[kd * KP + c + 12] = k6; stage[kd * KP + c + 14] = k7;
                    }
                    context.localBarrier();
                    for (int dd0 = 0; dd0 < CHANNEL_CHUNK; dd0 += 4) {
                      for (int u = 0; u < 4; u++) {                      // four channels per iteration (unrolled)
                        int dd = dd0 + u;
                        int qAt = (d0 + dd) * QP + r0;
                        float q0 = qT[qAt], q1 = qT[qAt + 1], q2 = qT[qAt + 2], q3 = qT[qAt + 3];
                        int kAt = dd * KP + lane;
                        float k0 = stage[kAt], k1 = stage[kAt + 8], k2 = stage[kAt + 16], k3 = stage[kAt + 24];
                        float k4 = stage[kAt + 32], k5 = stage[kAt + 40], k6 = stage[kAt + 48], k7 = stage[kAt + 56];
                        s00 += q0 * k0; s01 += q0 * k1; s02 += q0 * k2; s03 += q0 * k3;
                        s04 += q0 * k4; s05 += q0 * k5; s06 += q0 * k6; s07 += q0 * k7;
                        s10 += q1 * k0; s11 += q1 * k1; s12 += q1 * k2; s13 += q1 * k3;
                        s14 += q1 * k4; s15 += q1 * k5; s16 += q1 * k6; s17 += q1 * k7;
                        s20 += q2 * k0; s21 += q2 * k1; s22 += q2 * k2; s23 += q2 * k3;
                        s24 += q2 * k4; s25 += q2 * k5; s26 += q2 * k6; s27 += q2 * k7;
                        s30 += q3 * k0; s31 += q3 * k1; s32 += q3 * k2; s33 += q3 * k3;
                        s34 += q3 * k4; s35 += q3 * k5; s36 += q3 * k6; s37 += q3 * k7;
                      }
                    }
                }

                // Scale and mask: key c of row i counts when c < limit_i (the block's keys; in the diagonal block
                // only keys up to the row itself), else −∞.
                int limit0 = diagonal ? TornadoMath.min(keys, row0 + 1) : keys;
                int limit1 = diagonal ? TornadoMath.min(keys, row0 + 2) : keys;
                int limit2 = diagonal ? TornadoMath.min(keys, row0 + 3) : keys;
                int limit3 = diagonal ? TornadoMath.min(keys, row0 + 4) : keys;
                s00 = score(s00, scale, lane, limit0); s01 = score(s01, scale, lane + 8, limit0);
                s02 = score(s02, scale, lane + 16, limit0); s03 = score(s03, scale, lane + 24, limit0);
                s04 = score(s04, scale, lane + 32, limit0); s05 = score(s05, scale, lane + 40, limit0);
                s06 = score(s06, scale, lane + 48, limit0); s07 = score(s07, scale, lane + 56, limit0);
                s10 = score(s10, scale, lane, limit1); s11 = score(s11, scale, lane + 8, limit1);
                s12 = score(s12, scale, lane + 16, limit1); s13 = score(s13, scale, lane + 24, limit1);
                s14 = score(s14, scale, lane + 32, limit1); s15 = score(s15, scale, lane + 40, limit1);
                s16 = score(s16, scale, lane + 48, limit1); s17 = score(s17, scale, lane + 56, limit1);
                s20 = score(s20, scale, lane, limit2); s21 = score(s21, scale, lane + 8, limit2);
                s22 = score(s22, scale, lane + 16, limit2); s23 = score(s23, scale, lane + 24, limit2);
                s24 = score(s24, scale, lane + 32, limit2); s25 = score(s25, scale, lane + 40, limit2);
                s26 = score(s26, scale, lane + 48, limit2); s27 = score(s27, scale, lane + 56, limit2);
                s30 = score(s30, scale, lane, limit3); s31 = score(s31, scale, lane + 8, limit3);
                s32 = score(s32, scale, lane + 16, limit3); s33 = score(s33, scale, lane + 24, limit3);
                s34 = score(s34, scale, lane + 32, limit3); s35 = score(s35, scale, lane + 40, limit3);
                s36 = score(s36, scale, lane + 48, limit3); s37 = score(s37, scale, lane + 56, limit3);

                // The block's row maxima: each work-item's maximum over its keys, exchanged between the row's lanes.
                exchange[r0 * LANES + lane] = max8(s00, s01, s02, s03, s04, s05, s06, s07);
                exchange[(r0 + 1) * LANES + lane] = max8(s10, s11, s12, s13, s14, s15, s16, s17);
                exchange[(r0 + 2) * LANES + lane] = max8(s20, s21, s22, s23, s24, s25, s26, s27);
                exchange[(r0 + 3) * LANES + lane] = max8(s30, s31, s32, s33, s34, s35, s36, s37);
                context.localBarrier();
                int e0 = r0 * LANES;
                int e1 = (r0 + 1) * LANES;
                int e2 = (r0 + 2) * LANES;
                int e3 = (r0 + 3) * LANES;
                float x0 = max8(exchange[e0], exchange[e0 + 1], exchange[e0 + 2], exchange[e0 + 3],
                        exchange[e0 + 4], exchange[e0 + 5], exchange[e0 + 6], exchange[e0 + 7]);
                float x1 = max8(exchange[e1], exchange[e1 + 1], exchange[e1 + 2], exchange[e1 + 3],
                        exchange[e1 + 4], exchange[e1 + 5], exchange[e1 + 6], exchange[e1 + 7]);
                float x2 = max8(exchange[e2], exchange[e2 + 1], exchange[e2 + 2], exchange[e2 + 3],
                        exchange[e2 + 4], exchange[e2 + 5], exchange[e2 + 6], exchange[e2 + 7]);
                float x3 = max8(exchange[e3], exchange[e3 + 1], exchange[e3 + 2], exchange[e3 + 3],
                        exchange[e3 + 4], exchange[e3 + 5], exchange[e3 + 6], exchange[e3 + 7]);
                if (mode == TARGET && lane == 0) {
                    rowMax.set(scratchRow * nb + kBlock, x0);
                    rowMax.set((scratchRow + 1) * nb + kBlock, x1);
                    rowMax.set((scratchRow + 2) * nb + kBlock, x2);
                    rowMax.set((scratchRow + 3) * nb + kBlock, x3);
                }

                // Online softmax: new maxima, corrections c = e^(m − m_new), P = e^(S − m_new), l = l·c + Σ P.
                float n0 = TornadoMath.max(m0, x0), n1 = TornadoMath.max(m1, x1);
                float n2 = TornadoMath.max(m2, x2), n3 = TornadoMath.max(m3, x3);
                float c0 = TornadoMath.exp(m0 - n0), c1 = TornadoMath.exp(m1 - n1);
                float c2 = TornadoMath.exp(m2 - n2), c3 = TornadoMath.exp(m3 - n3);
                m0 = n0;
                m1 = n1;
                m2 = n2;
                m3 = n3;
                s00 = TornadoMath.exp(s00 - m0); s01 = TornadoMath.exp(s01 - m0); s02 = TornadoMath.exp(s02 - m0);
                s03 = TornadoMath.exp(s03 - m0); s04 = TornadoMath.exp(s04 - m0); s05 = TornadoMath.exp(s05 - m0);
                s06 = TornadoMath.exp(s06 - m0); s07 = TornadoMath.exp(s07 - m0);
                s10 = TornadoMath.exp(s10 - m1); s11 = TornadoMath.exp(s11 - m1); s12 = TornadoMath.exp(s12 - m1);
                s13 = TornadoMath.exp(s13 - m1); s14 = TornadoMath.exp(s14 - m1); s15 = TornadoMath.exp(s15 - m1);
                s16 = TornadoMath.exp(s16 - m1); s17 = TornadoMath.exp(s17 - m1);
                s20 = TornadoMath.exp(s20 - m2); s21 = TornadoMath.exp(s21 - m2); s22 = TornadoMath.exp(s22 - m2);
                s23 = TornadoMath.exp(s23 - m2); s24 = TornadoMath.exp(s24 - m2); s25 = TornadoMath.exp(s25 - m2);
                s26 = TornadoMath.exp(s26 - m2); s27 = TornadoMath.exp(s27 - m2);
                s30 = TornadoMath.exp(s30 - m3); s31 = TornadoMath.exp(s31 - m3); s32 = TornadoMath.exp(s32 - m3);
                s33 = TornadoMath.exp(s33 - m3); s34 = TornadoMath.exp(s34 - m3); s35 = TornadoMath.exp(s35 - m3);
                s36 = TornadoMath.exp(s36 - m3); s37 = TornadoMath.exp(s37 - m3);
                l0 = l0 * c0 + ((s00 + s01) + (s02 + s03)) + ((s04 + s05) + (s06 + s07));
                l1 = l1 * c1 + ((s10 + s11) + (s12 + s13)) + ((s14 + s15) + (s16 + s17));
                l2 = l2 * c2 + ((s20 + s21) + (s22 + s23)) + ((s24 + s25) + (s26 + s27));
                l3 = l3 * c3 + ((s30 + s31) + (s32 + s33)) + ((s34 + s35) + (s36 + s37));
                o00 *= c0; o01 *= c0; o02 *= c0; o03 *= c0;
                if (channels > 4) { o04 *= c0; o05 *= c0; o06 *= c0; o07 *= c0; }
                if (channels > 8) { o08 *= c0; o09 *= c0; o0a *= c0; o0b *= c0; }
                if (channels > 12) { o0c *= c0; o0d *= c0; o0e *= c0; o0f *= c0; }
                o10 *= c1; o11 *= c1; o12 *= c1; o13 *= c1;
                if (channels > 4) { o14 *= c1; o15 *= c1; o16 *= c1; o17 *= c1; }
                if (channels > 8) { o18 *= c1; o19 *= c1; o1a *= c1; o1b *= c1; }
                if (channels > 12) { o1c *= c1; o1d *= c1; o1e *= c1; o1f *= c1; }
                o20 *= c2; o21 *= c2; o22 *= c2; o23 *= c2;
                if (channels > 4) { o24 *= c2; o25 *= c2; o26 *= c2; o27 *= c2; }
                if (channels > 8) { o28 *= c2; o29 *= c2; o2a *= c2; o2b *= c2; }
                if (channels > 12) { o2c *= c2; o2d *= c2; o2e *= c2; o2f *= c2; }
                o30 *= c3; o31 *= c3; o32 *= c3; o33 *= c3;
                if (channels > 4) { o34 *= c3; o35 *= c3; o36 *= c3; o37 *= c3; }
                if (channels > 8) { o38 *= c3; o39 *= c3; o3a *= c3; o3b *= c3; }
                if (channels > 12) { o3c *= c3; o3d *= c3; o3e *= c3; o3f *= c3; }

                // P to local memory, transposed: pT[c · PT + r] (each work-item its 4 rows × 8 keys).
                int at;
                at = lane * PT + r0; pT[at] = s00; pT[at + 1] = s10; pT[at + 2] = s20; pT[at + 3] = s30;
                at = (8 + lane) * PT + r0; pT[at] = s01; pT[at + 1] = s11; pT[at + 2] = s21; pT[at + 3] = s31;
                at = (16 + lane) * PT + r0; pT[at] = s02; pT[at + 1] = s12; pT[at + 2] = s22; pT[at + 3] = s32;
                at = (24 + lane) * PT + r0; pT[at] = s03; pT[at + 1] = s13; pT[at + 2] = s23; pT[at + 3] = s33;
                at = (32 + lane) * PT + r0; pT[at] = s04; pT[at + 1] = s14; pT[at + 2] = s24; pT[at + 3] = s34;
                at = (40 + lane) * PT + r0; pT[at] = s05; pT[at + 1] = s15; pT[at + 2] = s25; pT[at + 3] = s35;
                at = (48 + lane) * PT + r0; pT[at] = s06; pT[at + 1] = s16; pT[at + 2] = s26; pT[at + 3] = s36;
                at = (56 + lane) * PT + r0; pT[at] = s07; pT[at + 1] = s17; pT[at + 2] = s27; pT[at + 3] = s37;

                // O += P · V, V staged 16 keys at a time: v[c · D + d].
                for (int kc = 0; kc < TILE; kc += KEY_CHUNK) {
                    context.localBarrier();
                    // V chunk: work-item t stages channels t, t + 64 of the 16 keys, eight loads in flight.
                    for (int d = tid; d < headDim; d += THREADS) {
                        for (int c = 0; c < KEY_CHUNK; c += 8) {
                            float v0 = v.get((kvRow0 + TornadoMath.min(kc + c, lastKey) * kvHeads) * headDim + d);
                            float v1 = v.get((kvRow0 + TornadoMath.min(kc + c + 1, lastKey) * kvHeads) * headDim + d);
                            float v2 = v.get((kvRow0 + TornadoMath.min(kc + c + 2, lastKey) * kvHeads) * headDim + d);
                            float v3 = v.get((kvRow0 + TornadoMath.min(kc + c + 3, lastKey) * kvHeads) * headDim + d);
                            float v4 = v.get((kvRow0 + TornadoMath.min(kc + c + 4, lastKey) * kvHeads) * headDim + d);
                            float v5 = v.get((kvRow0 + TornadoMath.min(kc + c + 5, lastKey) * kvHeads) * headDim + d);
                            float v6 = v.get((kvRow0 + TornadoMath.min(kc + c + 6, lastKey) * kvHeads) * headDim + d);
                            float v7 = v.get((kvRow0 + TornadoMath.min(kc + c + 7, lastKey) * kvHeads) * headDim + d);
                            stage[c * headDim + d] = v0; stage[(c + 1) * headDim + d] = v1;
                            stage[(c + 2) * headDim + d] = v2; stage[(c + 3) * headDim + d] = v3;
                            stage[(c + 4) * headDim + d] = v4; stage[(c + 5) * headDim + d] = v5;
                            stage[(c + 6) * headDim + d] = v6; stage[(c + 7) * headDim + d] = v7;
                        }
                    }
                    context.localBarrier();
                    for (int key0 = 0; key0 < KEY_CHUNK; key0 += 2) {
                      for (int u = 0; u < 2; u++) {                      // two keys per iteration (unrolled)
                        int c = key0 + u;
                        int pAt = (kc + c) * PT + r0;
                        float p0 = pT[pAt], p1 = pT[pAt + 1], p2 = pT[pAt + 2], p3 = pT[pAt + 3];
                        int vAt = c * headDim + lane;
                        float v0 = stage[vAt], v1 = stage[vAt + 8],
                                v2 = stage[vAt + 16], v3 = stage[vAt + 24];
                        o00 += p0 * v0; o01 += p0 * v1; o02 += p0 * v2; o03 += p0 * v3;
                        o10 += p1 * v0; o11 += p1 * v1; o12 += p1 * v2; o13 += p1 * v3;
                        o20 += p2 * v0; o21 += p2 * v1; o22 += p2 * v2; o23 += p2 * v3;
                        o30 += p3 * v0; o31 += p3 * v1; o32 += p3 * v2; o33 += p3 * v3;
                        if (channels > 4) {
                            float v4 = stage[vAt + 32], v5 = stage[vAt + 40],
                                    v6 = stage[vAt + 48], v7 = stage[vAt + 56];
                            o04 += p0 * v4; o05 += p0 * v5; o06 += p0 * v6; o07 += p0 * v7;
                            o14 += p1 * v4; o15 += p1 * v5; o16 += p1 * v6; o17 += p1 * v7;
                            o24 += p2 * v4; o25 += p2 * v5; o26 += p2 * v6; o27 += p2 * v7;
                            o34 += p3 * v4; o35 += p3 * v5; o36 += p3 * v6; o37 += p3 * v7;
                        }
                        if (channels > 8) {
                            float v8 = stage[vAt + 64], v9 = stage[vAt + 72],
                                    va = stage[vAt + 80], vb = stage[vAt + 88];
                            o08 += p0 * v8; o09 += p0 * v9; o0a += p0 * va; o0b += p0 * vb;
                            o18 += p1 * v8; o19 += p1 * v9; o1a += p1 * va; o1b += p1 * vb;
                            o28 += p2 * v8; o29 += p2 * v9; o2a += p2 * va; o2b += p2 * vb;
                            o38 += p3 * v8; o39 += p3 * v9; o3a += p3 * va; o3b += p3 * vb;
                        }
                        if (channels > 12) {
                            float vc = stage[vAt + 96], vd = stage[vAt + 104],
                                    ve = stage[vAt + 112], vf = stage[vAt + 120];
                            o0c += p0 * vc; o0d += p0 * vd; o0e += p0 * ve; o0f += p0 * vf;
                            o1c += p1 * vc; o1d += p1 * vd; o1e += p1 * ve; o1f += p1 * vf;
                            o2c += p2 * vc; o2d += p2 * vd; o2e += p2 * ve; o2f += p2 * vf;
                            o3c += p3 * vc; o3d += p3 * vd; o3e += p3 * ve; o3f += p3 * vf;
                        }
                      }
                    }
                }
            }
        }

        // Row sums: the eight lanes of a row add their shares; out = O / l (zero for a row that kept no block).
        context.localBarrier();
        exchange[r0 * LANES + lane] = l0;
        exchange[(r0 + 1) * LANES + lane] = l1;
        exchange[(r0 + 2) * LANES + lane] = l2;
        exchange[(r0 + 3) * LANES + lane] = l3;
        context.localBarrier();
        int f0 = r0 * LANES;
        int f1 = (r0 + 1) * LANES;
        int f2 = (r0 + 2) * LANES;
        int f3 = (r0 + 3) * LANES;
        l0 = sum8(exchange[f0], exchange[f0 + 1], exchange[f0 + 2], exchange[f0 + 3],
                exchange[f0 + 4], exchange[f0 + 5], exchange[f0 + 6], exchange[f0 + 7]);
        l1 = sum8(exchange[f1], exchange[f1 + 1], exchange[f1 + 2], exchange[f1 + 3],
                exchange[f1 + 4], exchange[f1 + 5], exchange[f1 + 6], exchange[f1 + 7]);
        l2 = sum8(exchange[f2], exchange[f2 + 1], exchange[f2 + 2], exchange[f2 + 3],
                exchange[f2 + 4], exchange[f2 + 5], exchange[f2 + 6], exchange[f2 + 7]);
        l3 = sum8(exchange[f3], exchange[f3 + 1], exchange[f3 + 2], exchange[f3 + 3],
                exchange[f3 + 4], exchange[f3 + 5], exchange[f3 + 6], exchange[f3 + 7]);
        if (r0 < rows) {
            int at = ((b * seqLen + firstRow + r0) * qHeads + h) * headDim + lane;
            float inv = l0 > 0f ? 1f / l0 : 0f;
            out.set(at, o00 * inv); out.set(at + 8, o01 * inv); out.set(at + 16, o02 * inv);
            out.set(at + 24, o03 * inv);
            if (channels > 4) {
                out.set(at + 32, o04 * inv); out.set(at + 40, o05 * inv); out.set(at + 48, o06 * inv);
                out.set(at + 56, o07 * inv);
            }
            if (channels > 8) {
                out.set(at + 64, o08 * inv); out.set(at + 72, o09 * inv); out.set(at + 80, o0a * inv);
                out.set(at + 88, o0b * inv);
            }
            if (channels > 12) {
                out.set(at + 96, o0c * inv); out.set(at + 104, o0d * inv); out.set(at + 112, o0e * inv);
                out.set(at + 120, o0f * inv);
            }
        }
        if (r0 + 1 < rows) {
            int at = ((b * seqLen + firstRow + r0 + 1) * qHeads + h) * headDim + lane;
            float inv = l1 > 0f ? 1f / l1 : 0f;
            out.set(at, o10 * inv); out.set(at + 8, o11 * inv); out.set(at + 16, o12 * inv);
            out.set(at + 24, o13 * inv);
            if (channels > 4) {
                out.set(at + 32, o14 * inv); out.set(at + 40, o15 * inv); out.set(at + 48, o16 * inv);
                out.set(at + 56, o17 * inv);
            }
            if (channels > 8) {
                out.set(at + 64, o18 * inv); out.set(at + 72, o19 * inv); out.set(at + 80, o1a * inv);
                out.set(at + 88, o1b * inv);
            }
            if (channels > 12) {
                out.set(at + 96, o1c * inv); out.set(at + 104, o1d * inv); out.set(at + 112, o1e * inv);
                out.set(at + 120, o1f * inv);
            }
        }
        if (r0 + 2 < rows) {
            int at = ((b * seqLen + firstRow + r0 + 2) * qHeads + h) * headDim + lane;
            float inv = l2 > 0f ? 1f / l2 : 0f;
            out.set(at, o20 * inv); out.set(at + 8, o21 * inv); out.set(at + 16, o22 * inv);
            out.set(at + 24, o23 * inv);
            if (channels > 4) {
                out.set(at + 32, o24 * inv); out.set(at + 40, o25 * inv); out.set(at + 48, o26 * inv);
                out.set(at + 56, o27 * inv);
            }
            if (channels > 8) {
                out.set(at + 64, o28 * inv); out.set(at + 72, o29 * inv); out.set(at + 80, o2a * inv);
                out.set(at + 88, o2b * inv);
            }
            if (channels > 12) {
                out.set(at + 96, o2c * inv); out.set(at + 104, o2d * inv); out.set(at + 112, o2e * inv);
                out.set(at + 120, o2f * inv);
            }
        }
        if (r0 + 3 < rows) {
            int at = ((b * seqLen + firstRow + r0 + 3) * qHeads + h) * headDim + lane;
            float inv = l3 > 0f ? 1f / l3 : 0f;
            out.set(at, o30 * inv); out.set(at + 8, o31 * inv); out.set(at + 16, o32 * inv);
            out.set(at + 24, o33 * inv);
            if (channels > 4) {
                out.set(at + 32, o34 * inv); out.set(at + 40, o35 * inv); out.set(at + 48, o36 * inv);
                out.set(at + 56, o37 * inv);
            }
            if (channels > 8) {
                out.set(at + 64, o38 * inv); out.set(at + 72, o39 * inv); out.set(at + 80, o3a * inv);
                out.set(at + 88, o3b * inv);
            }
            if (channels > 12) {
                out.set(at + 96, o3c * inv); out.set(at + 104, o3d * inv); out.set(at + 112, o3e * inv);
                out.set(at + 120, o3f * inv);
            }
        }
        if (mode == TARGET && lane == 0) {
            if (r0 < rows) {
                rowStats.set(scratchRow * 2, m0);
                rowStats.set(scratchRow * 2 + 1, l0);
            }
            if (r0 + 1 < rows) {
                rowStats.set((scratchRow + 1) * 2, m1);
                rowStats.set((scratchRow + 1) * 2 + 1, l1);
            }
            if (r0 + 2 < rows) {
                rowStats.set((scratchRow + 2) * 2, m2);
                rowStats.set((scratchRow + 2) * 2 + 1, l2);
            }
            if (r0 + 3 < rows) {
                rowStats.set((scratchRow + 3) * 2, m3);
                rowStats.set((scratchRow + 3) * 2 + 1, l3);
            }
        }
    }

    /** A score scaled, or −∞ when key {@code c} of the tile is not visible to the row ({@code c ≥ limit}). */
    static float score(float s, float scale, int c, int limit) {
        float x = Float.NEGATIVE_INFINITY;
        if (c < limit) {
            x = s * scale;
        }
        return x;
    }

    static float max8(float a, float b, float c, float d, float e, float f, float g, float h) {
        return TornadoMath.max(TornadoMath.max(TornadoMath.max(a, b), TornadoMath.max(c, d)),
                TornadoMath.max(TornadoMath.max(e, f), TornadoMath.max(g, h)));
    }

    static float sum8(float a, float b, float c, float d, float e, float f, float g, float h) {
        return ((a + b) + (c + d)) + ((e + f) + (g + h));
    }
}
