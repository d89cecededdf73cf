package org.seerjava.tornado.kernels;

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

    /**
     * {@link org.seerjava.reference.AttnGate#multiHeadLinear}: {@code y[r, oh, o] = Σ_in x[r, oh / repeat, in] ·
     * w[oh, in, o]}, one work-item per output; {@code x [rows, inHeads, in]}, {@code w [outHeads, in, out]}.
     */
    public static void multiHeadLinear(FloatArray x, FloatArray w, FloatArray y, int rows, int inHeads, int outHeads,
                                       int in, int out, int repeat) {
        for (@Parallel int i = 0; i < rows * outHeads * out; i++) {
            int o = i % out;
            int oh = (i / out) % outHeads;
            int r = i / (out * outHeads);
            int xBase = (r * inHeads + oh / repeat) * in;
            float acc = 0f;
            for (int j = 0; j < in; j++) {
                acc += x.get(xBase + j) * w.get((oh * in + j) * out + o);
            }
            y.set(i, acc);
        }
    }

    /**
     * The block-causal logits of {@link org.seerjava.reference.AttnGate#forward}: {@code logits [B, Hq, nb, nb]} from
     * {@code qGate [B, nb, Hq, Dg]} and {@code kGate [B, nb, keyHeads, Dg]}; query head h reads key head
     * {@code h / (Hq / keyHeads)}; {@link #MASKED_LOGIT} above the diagonal.
     */
    public static void logits(FloatArray qGate, FloatArray kGate, FloatArray logits, int batch, int nb, int qHeads,
                              int keyHeads, int dg, float scale) {
        int group = qHeads / keyHeads;
        for (@Parallel int i = 0; i < batch * qHeads * nb * nb; i++) {
            int kBlock = i % nb;
            int qBlock = (i / nb) % nb;
            int h = (i / (nb * nb)) % qHeads;
            int b = i / (nb * nb * qHeads);
            float value = MASKED_LOGIT;
            if (kBlock <= qBlock) {
                int qBase = ((b * nb + qBlock) * qHeads + h) * dg;
                int kBase = ((b * nb + kBlock) * keyHeads + h / group) * dg;
                float dot = 0f;
                for (int d = 0; d < dg; d++) {
                    dot += qGate.get(qBase + d) * kGate.get(kBase + d);
                }
                value = dot * scale;
            }
            logits.set(i, value);
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
