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
 * kept) and, fused with it, the pooled distillation target of
 * {@link org.seerjava.reference.PooledAttentionTarget#compute} ({@link #TARGET}). CUDA forms: {@code attn_f32_body}
 * in {@code ops_fp32.cu} (one thread per row) and {@code attention_bf16.cu} (tensor cores).
 *
 * <p><b>Tiling.</b> One work-group of {@link #THREADS} work-items per (query block m, head h, sequence b), the
 * late (heavy) query blocks first. The work-group holds a {@link #TILE}-row query tile and visits one
 * {@link #TILE}-key block at a time. Work-item t owns {@link #ROWS} rows ({@code 4·(t / 8) + i}) and, of every row,
 * the keys and the output channels {@code t % 8 + 8·j}: a 4 × 8 tile of S and a 4 × D/8 tile of O live in its
 * registers, so that every value it reads from local memory feeds 4 or 8 multiply-adds. The eight work-items of a
 * row exchange their partial row maxima through local memory; their partial row sums stay private until the end.
 *
 * <p><b>Local memory</b> (48 KB per work-group on the H200, all of it static): Q transposed,
 * {@code qT[d · PAD + r]} (33 KB for D = 128); one staging area (12 KB) holding in turn a 32-channel chunk of K
 * transposed, {@code kT[dd · PAD + c]}, or a 16-key chunk of V, {@code v[c · D + d]}, with the matching chunk of
 * probabilities P, {@code p[c · PAD + r]}; and the row-maximum exchange (2 KB). The odd row pitch
 * {@code PAD = 65} puts the 32 channels a warp stores into 32 different banks.
 *
 * <p>GQA: query head h reads key/value head {@code h / (Hq / Hkv)} of the {@code [B, N, Hkv, D]} tensors, nothing
 * is copied. A block size below {@link #TILE} pads the tile (rows and keys beyond the block are masked).
 */
public final class BlockSparseAttention {
    /** Block-sparse attention: key blocks kept by the mask. */
    public static final int SPARSE = 0;
    /** Dense causal attention: every key block n ≤ m. */
    public static final int DENSE = 1;
    /** Dense causal attention and the pooled target (row maxima of each block to a scratch, then the target). */
    public static final int TARGET = 2;

    /** Query rows and keys of a tile; the largest block size the kernel takes. */
    public static final int TILE = 64;
    /** Work-items per work-group. */
    public static final int THREADS = 128;
    /** Query rows per work-item. */
    public static final int ROWS = 4;
    /** Work-items sharing a row (they split its keys and channels). */
    public static final int LANES = 8;
    /** Largest head dim (the Q tile's local-memory size). */
    public static final int MAX_HEAD_DIM = 128;
    /** Head dims must be a multiple of this (one K chunk). */
    public static final int CHANNEL_CHUNK = 32;
    /** Keys of V staged at a time. */
    public static final int KEY_CHUNK = 16;
    /** Row pitch of the transposed tiles in local memory. */
    public static final int PAD = TILE + 1;

    static final int KEYS_PER_LANE = TILE / LANES;                              // 8
    static final int MAX_CHANNELS_PER_LANE = MAX_HEAD_DIM / LANES;              // 16
    static final int P_OFFSET = KEY_CHUNK * MAX_HEAD_DIM;                       // P chunk after the V chunk
    static final int STAGE = Math.max(CHANNEL_CHUNK * PAD, P_OFFSET + KEY_CHUNK * PAD);

    private BlockSparseAttention() {
    }

    /**
     * Attention over post-RoPE {@code q [B, N, Hq, D]}, {@code k, v [B, N, Hkv, D]} into {@code out [B, N, Hq, D]}.
     * Grid: {@code nb · THREADS} × Hq × B work-items in work-groups of {@link #THREADS} (see {@code Grid}).
     *
     * @param mask   {@code [B, Hq, nb, nb]} 0/1 ({@link #SPARSE}; ignored otherwise)
     * @param rowMax {@link #TARGET}: scratch {@code [B·Hq·nb, TILE, nb]} of each row's maximum score per key block
     * @param target {@link #TARGET}: the pooled target {@code [B, Hq, nb, nb]}
     * @param mode   {@link #SPARSE}, {@link #DENSE} or {@link #TARGET}
     */
    public static void forward(KernelContext context, FloatArray q, FloatArray k, FloatArray v, ByteArray mask,
                               FloatArray out, FloatArray rowMax, FloatArray target, int seqLen, int qHeads,
                               int kvHeads, int headDim, int blockSize, float scale, int mode) {
        float[] qT = context.allocateFloatLocalArray(MAX_HEAD_DIM * PAD);
        float[] stage = context.allocateFloatLocalArray(STAGE);
        float[] exchange = context.allocateFloatLocalArray(TILE * LANES);

        int tid = context.localIdx;
        int nb = (seqLen + blockSize - 1) / blockSize;
        int qBlock = nb - 1 - context.groupIdx;
        int h = context.groupIdy;
        int b = context.groupIdz;
        int kh = h / (qHeads / kvHeads);
        int r0 = (tid / LANES) * ROWS;                 // this work-item's first row in the tile
        int lane = tid % LANES;
        int channels = headDim / LANES;                // output channels per work-item
        int firstRow = qBlock * blockSize;
        int rows = TornadoMath.min(blockSize, seqLen - firstRow);
        int maskRow = ((b * qHeads + h) * nb + qBlock) * nb;

        // Q tile, transposed: qT[d · PAD + r] (zero for padding rows).
        for (int e = tid; e < TILE * headDim; e += THREADS) {
            int r = e / headDim;
            int d = e % headDim;
            float value = 0f;
            if (r < rows) {
                value = q.get(((b * seqLen + firstRow + r) * qHeads + h) * headDim + d);
            }
            qT[d * PAD + r] = value;
        }

        float[] s = new float[ROWS * KEYS_PER_LANE];                 // S (then P) of rows r0+i, keys lane+8j
        float[] o = new float[ROWS * MAX_CHANNELS_PER_LANE];         // O of rows r0+i, channels lane+8j
        float[] m = new float[ROWS];                                 // running row maxima
        float[] l = new float[ROWS];                                 // this work-item's share of the row sums
        for (int i = 0; i < ROWS; i++) {
            m[i] = Float.NEGATIVE_INFINITY;
            l[i] = 0f;
            for (int j = 0; j < MAX_CHANNELS_PER_LANE; j++) {
                o[i * MAX_CHANNELS_PER_LANE + j] = 0f;
            }
        }

        for (int kBlock = 0; kBlock <= qBlock; kBlock++) {
            if (mode != SPARSE || mask.get(maskRow + kBlock) != 0) {
                int firstKey = kBlock * blockSize;
                int keys = TornadoMath.min(blockSize, seqLen - firstKey);

                // S = Q · Kᵀ, K staged 32 channels at a time, transposed: kT[dd · PAD + c].
                for (int x = 0; x < ROWS * KEYS_PER_LANE; x++) {
                    s[x] = 0f;
                }
                for (int d0 = 0; d0 < headDim; d0 += CHANNEL_CHUNK) {
                    context.localBarrier();
                    for (int e = tid; e < TILE * CHANNEL_CHUNK; e += THREADS) {
                        int c = e / CHANNEL_CHUNK;
                        int dd = e % CHANNEL_CHUNK;
                        float value = 0f;
                        if (c < keys) {
                            value = k.get(((b * seqLen + firstKey + c) * kvHeads + kh) * headDim + d0 + dd);
                        }
                        stage[dd * PAD + c] = value;
                    }
                    context.localBarrier();
                    for (int dd = 0; dd < CHANNEL_CHUNK; dd++) {
                        int qRow = (d0 + dd) * PAD + r0;
                        float q0 = qT[qRow];
                        float q1 = qT[qRow + 1];
                        float q2 = qT[qRow + 2];
                        float q3 = qT[qRow + 3];
                        for (int j = 0; j < KEYS_PER_LANE; j++) {
                            float kv = stage[dd * PAD + lane + LANES * j];
                            s[j] += q0 * kv;
                            s[KEYS_PER_LANE + j] += q1 * kv;
                            s[2 * KEYS_PER_LANE + j] += q2 * kv;
                            s[3 * KEYS_PER_LANE + j] += q3 * kv;
                        }
                    }
                }

                // Scale and mask; each work-item's maximum over its keys, per row, to the exchange.
                for (int i = 0; i < ROWS; i++) {
                    float rowMaxPart = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < KEYS_PER_LANE; j++) {
                        int c = lane + LANES * j;
                        float x = s[i * KEYS_PER_LANE + j] * scale;
                        if (c >= keys || (kBlock == qBlock && c > r0 + i)) {
                            x = Float.NEGATIVE_INFINITY;
                        }
                        s[i * KEYS_PER_LANE + j] = x;
                        rowMaxPart = TornadoMath.max(rowMaxPart, x);
                    }
                    exchange[(r0 + i) * LANES + lane] = rowMaxPart;
                }
                context.localBarrier();

                // Online softmax: the block's row maxima, the correction of the running state, P = e^(S − m).
                for (int i = 0; i < ROWS; i++) {
                    float blockMax = Float.NEGATIVE_INFINITY;
                    for (int t = 0; t < LANES; t++) {
                        blockMax = TornadoMath.max(blockMax, exchange[(r0 + i) * LANES + t]);
                    }
                    if (mode == TARGET && lane == 0 && r0 + i < rows) {
                        rowMax.set((((b * qHeads + h) * nb + qBlock) * TILE + r0 + i) * nb + kBlock, blockMax);
                    }
                    float mNew = TornadoMath.max(m[i], blockMax);
                    float correction = TornadoMath.exp(m[i] - mNew);
                    m[i] = mNew;
                    float sum = l[i] * correction;
                    for (int j = 0; j < KEYS_PER_LANE; j++) {
                        float p = TornadoMath.exp(s[i * KEYS_PER_LANE + j] - mNew);
                        s[i * KEYS_PER_LANE + j] = p;
                        sum += p;
                    }
                    l[i] = sum;
                    for (int j = 0; j < MAX_CHANNELS_PER_LANE; j++) {
                        o[i * MAX_CHANNELS_PER_LANE + j] *= correction;
                    }
                }

                // O += P · V, V staged 16 keys at a time with the matching chunk of P: p[c · PAD + r].
                for (int c0 = 0; c0 < TILE; c0 += KEY_CHUNK) {
                    context.localBarrier();
                    for (int j = 0; j < KEYS_PER_LANE; j++) {
                        int c = lane + LANES * j;
                        if (c >= c0 && c < c0 + KEY_CHUNK) {
                            int at = P_OFFSET + (c - c0) * PAD + r0;
                            stage[at] = s[j];
                            stage[at + 1] = s[KEYS_PER_LANE + j];
                            stage[at + 2] = s[2 * KEYS_PER_LANE + j];
                            stage[at + 3] = s[3 * KEYS_PER_LANE + j];
                        }
                    }
                    for (int e = tid; e < KEY_CHUNK * headDim; e += THREADS) {
                        int c = e / headDim;
                        int d = e % headDim;
                        float value = 0f;
                        if (c0 + c < keys) {
                            value = v.get(((b * seqLen + firstKey + c0 + c) * kvHeads + kh) * headDim + d);
                        }
                        stage[c * headDim + d] = value;
                    }
                    context.localBarrier();
                    for (int c = 0; c < KEY_CHUNK; c++) {
                        int pRow = P_OFFSET + c * PAD + r0;
                        float p0 = stage[pRow];
                        float p1 = stage[pRow + 1];
                        float p2 = stage[pRow + 2];
                        float p3 = stage[pRow + 3];
                        for (int j = 0; j < channels; j++) {
                            float vv = stage[c * headDim + lane + LANES * j];
                            o[j] += p0 * vv;
                            o[MAX_CHANNELS_PER_LANE + j] += p1 * vv;
                            o[2 * MAX_CHANNELS_PER_LANE + j] += p2 * vv;
                            o[3 * MAX_CHANNELS_PER_LANE + j] += p3 * vv;
                        }
                    }
                }
            }
        }

        // Row sums: the eight work-items of a row add their shares; out = O / l (zero for an empty row).
        context.localBarrier();
        for (int i = 0; i < ROWS; i++) {
            exchange[(r0 + i) * LANES + lane] = l[i];
        }
        context.localBarrier();
        for (int i = 0; i < ROWS; i++) {
            float sum = 0f;
            for (int t = 0; t < LANES; t++) {
                sum += exchange[(r0 + i) * LANES + t];
            }
            l[i] = sum;
            if (r0 + i < rows) {
                float inv = sum > 0f ? 1f / sum : 0f;
                int outBase = ((b * seqLen + firstRow + r0 + i) * qHeads + h) * headDim + lane;
                for (int j = 0; j < channels; j++) {
                    out.set(outBase + LANES * j, o[i * MAX_CHANNELS_PER_LANE + j] * inv);
                }
            }
        }

        if (mode == TARGET) {
            // raw[n] = max_r e^(rowMax[r, n] − m_r) / l_r over the block's rows, then raw / Σ_n raw.
            context.localBarrier();
            if (lane == 0) {
                for (int i = 0; i < ROWS; i++) {
                    exchange[(r0 + i) * LANES] = m[i];
                    exchange[(r0 + i) * LANES + 1] = l[i] > 0f ? 1f / l[i] : 0f;
                }
            }
            context.localBarrier();
            int scratch = ((b * qHeads + h) * nb + qBlock) * TILE * nb;
            int targetRow = ((b * qHeads + h) * nb + qBlock) * nb;
            float partial = 0f;
            for (int n = tid; n < nb; n += THREADS) {
                float raw = 0f;
                if (n <= qBlock) {
                    for (int r = 0; r < rows; r++) {
                        float p = TornadoMath.exp(rowMax.get(scratch + r * nb + n) - exchange[r * LANES])
                                * exchange[r * LANES + 1];
                        raw = TornadoMath.max(raw, p);
                    }
                }
                target.set(targetRow + n, raw);
                partial += raw;
            }
            context.localBarrier();
            exchange[tid] = partial;
            context.localBarrier();
            float total = 0f;
            for (int t = 0; t < THREADS; t++) {
                total += exchange[t];
            }
            float inv = total > 0f ? 1f / total : 0f;
            for (int n = tid; n < nb; n += THREADS) {
                target.set(targetRow + n, target.get(targetRow + n) * inv);
            }
        }
    }
}
