package org.seerjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The AttnGate forward pass after pooling, as kernels; the reference is {@link org.seerjava.reference.AttnGate}
 * (pooling: {@link Pooling}, block RoPE: {@link Rope}):
 * <pre>
 *   Qg[i, h]  = Qp[i, h] · W_q[h]            Kg[i, kh] = Kp[i, kh / repeat] · W_k[kh]        ({@link #multiHeadLinear})
 *   logit[h, i, j] = Qg[i, h] · Kg[j, key(h)] · Dg^-0.5   for j ≤ i,  −float32 max above      ({@link #logits})
 *   score[h, i, :] = softmax_j logit[h, i, :]                                                  ({@link #softmaxRows})
 * </pre>
 * CUDA forms: {@code gemm_f32} (linears and logits) and {@code softmax_rows_f32} in {@code ops_fp32.cu}.
 */
public final class AttnGate {
    /** The logit above the block diagonal: {@link org.seerjava.reference.AttnGate#MASKED_LOGIT}. */
    public static final float MASKED_LOGIT = -Float.MAX_VALUE;

    private AttnGate() {
    }

    /** Rows of {@link #multiHeadLinear} per work-item (each weight read feeds this many multiply-adds). */
    public static final int LINEAR_ROWS = 4;

    /**
     * {@link org.seerjava.reference.AttnGate#multiHeadLinear}: {@code y[r, oh, o] = Σ_in x[r, oh / repeat, in] ·
     * w[oh, in, o]}, {@code x [rows, inHeads, in]}, {@code w [outHeads, in, out]}. One work-item per output channel o
     * of {@link #LINEAR_ROWS} consecutive rows: neighbouring work-items read neighbouring weights, and each weight is
     * read once for the four rows.
     */
    public static void multiHeadLinear(FloatArray x, FloatArray w, FloatArray y, int rows, int inHeads, int outHeads,
                                       int in, int out, int repeat) {
        int rowGroups = (rows + LINEAR_ROWS - 1) / LINEAR_ROWS;
        for (@Parallel int i = 0; i < rowGroups * outHeads * out; i++) {
            int o = i % out;
            int oh = (i / out) % outHeads;
            int r0 = (i / (out * outHeads)) * LINEAR_ROWS;
            int last = rows - 1;
            int x0 = (TornadoMath.min(r0, last) * inHeads + oh / repeat) * in;       // rows past the end repeat
            int x1 = (TornadoMath.min(r0 + 1, last) * inHeads + oh / repeat) * in;   // the last one (not written)
            int x2 = (TornadoMath.min(r0 + 2, last) * inHeads + oh / repeat) * in;
            int x3 = (TornadoMath.min(r0 + 3, last) * inHeads + oh / repeat) * in;
            float a0 = 0f;
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            for (int j = 0; j < in; j++) {
                float wj = w.get((oh * in + j) * out + o);
                a0 += x.get(x0 + j) * wj;
                a1 += x.get(x1 + j) * wj;
                a2 += x.get(x2 + j) * wj;
                a3 += x.get(x3 + j) * wj;
            }
            // y[r, oh, o]; a row past the end writes the last row's value to the last row (the same bits as its own
            // work-item: the same x row, weights and order). No branches on the row count: TornadoVM 5.2.0's PTX
            // backend miscompiles an if whose condition folds to a constant under its scalar specialisation
            // (tornado/scripts/ptx-inspect finds such branches).
            y.set((r0 * outHeads + oh) * out + o, a0);
            y.set((TornadoMath.min(r0 + 1, last) * outHeads + oh) * out + o, a1);
            y.set((TornadoMath.min(r0 + 2, last) * outHeads + oh) * out + o, a2);
            y.set((TornadoMath.min(r0 + 3, last) * outHeads + oh) * out + o, a3);
        }
    }

    /** Query and key blocks of a {@link #logits} tile (a work-group of LOGIT_TILE² work-items). */
    public static final int LOGIT_TILE = 16;
    /** Gate channels staged in local memory at a time by {@link #logits}. */
    public static final int LOGIT_CHUNK = 32;

    /**
     * The block-causal logits of {@link org.seerjava.reference.AttnGate#forward}: {@code logits [B, Hq, nb, nb]} from
     * {@code qGate [B, nb, Hq, Dg]} and {@code kGate [B, nb, keyHeads, Dg]}; query head h reads key head
     * {@code h / (Hq / keyHeads)}; {@link #MASKED_LOGIT} above the diagonal. One work-group per 16 × 16 tile of
     * (query block i, key block j) of a head and sequence; the tile's 16 query and 16 key vectors are staged in
     * local memory 32 channels at a time, and each work-item forms one dot product. Tiles wholly above the
     * diagonal only write {@link #MASKED_LOGIT}. Grid: {@code T² · 256} × Hq × B, T = ceil(nb / 16).
     */
    public static void logits(KernelContext context, FloatArray qGate, FloatArray kGate, FloatArray logits, int nb,
                              int qHeads, int keyHeads, int dg, float scale) {
        float[] qs = context.allocateFloatLocalArray(LOGIT_TILE * (LOGIT_CHUNK + 1));
        float[] ks = context.allocateFloatLocalArray(LOGIT_TILE * (LOGIT_CHUNK + 1));
        int tiles = (nb + LOGIT_TILE - 1) / LOGIT_TILE;
        int ti = context.groupIdx / tiles;
        int tj = context.groupIdx % tiles;
        int h = context.groupIdy;
        int b = context.groupIdz;
        int kh = h / (qHeads / keyHeads);
        int tid = context.localIdx;
        int qBlock = ti * LOGIT_TILE + tid / LOGIT_TILE;
        int kBlock = tj * LOGIT_TILE + tid % LOGIT_TILE;
        float dot = 0f;
        if (tj <= ti) {                                   // the same for the whole work-group
            // staging: work-item t loads channel t % 32 of vectors t / 32 and t / 32 + 8 of the tile
            int row = tid / LOGIT_CHUNK;
            int channel = tid % LOGIT_CHUNK;
            int qa = TornadoMath.min(ti * LOGIT_TILE + row, nb - 1);
            int qb = TornadoMath.min(ti * LOGIT_TILE + row + 8, nb - 1);
            int ka = TornadoMath.min(tj * LOGIT_TILE + row, nb - 1);
            int kb = TornadoMath.min(tj * LOGIT_TILE + row + 8, nb - 1);
            for (int d0 = 0; d0 < dg; d0 += LOGIT_CHUNK) {
                int d = TornadoMath.min(d0 + channel, dg - 1);
                float zero = d0 + channel < dg ? 1f : 0f;             // channels past Dg count as zero
                context.localBarrier();
                qs[row * (LOGIT_CHUNK + 1) + channel] = qGate.get(((b * nb + qa) * qHeads + h) * dg + d) * zero;
                qs[(row + 8) * (LOGIT_CHUNK + 1) + channel] = qGate.get(((b * nb + qb) * qHeads + h) * dg + d) * zero;
                ks[row * (LOGIT_CHUNK + 1) + channel] = kGate.get(((b * nb + ka) * keyHeads + kh) * dg + d);
                ks[(row + 8) * (LOGIT_CHUNK + 1) + channel] = kGate.get(((b * nb + kb) * keyHeads + kh) * dg + d);
                context.localBarrier();
                int qAt = (tid / LOGIT_TILE) * (LOGIT_CHUNK + 1);
                int kAt = (tid % LOGIT_TILE) * (LOGIT_CHUNK + 1);
                for (int dd = 0; dd < LOGIT_CHUNK; dd++) {
                    dot += qs[qAt + dd] * ks[kAt + dd];
                }
            }
        }
        if (qBlock < nb && kBlock < nb) {
            float value = MASKED_LOGIT;
            if (kBlock <= qBlock) {
                value = dot * scale;
            }
            logits.set(((b * qHeads + h) * nb + qBlock) * nb + kBlock, value);
        }
    }

    /**
     * {@link org.seerjava.reference.AttnGate#softmaxRows} in place on {@code x [rows, cols]}:
     * {@code p_j = exp(x_j − max) / Σ exp(x − max)}, one work-item per row.
     */
    public static void softmaxRows(FloatArray x, int rows, int cols) {
        for (@Parallel int row = 0; row < rows; row++) {
            int base = row * cols;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = TornadoMath.max(max, x.get(base + j));
            }
            float sum = 0f;
            for (int j = 0; j < cols; j++) {
                float e = TornadoMath.exp(x.get(base + j) - max);
                x.set(base + j, e);
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = 0; j < cols; j++) {
                x.set(base + j, x.get(base + j) * inv);
            }
        }
    }
}
