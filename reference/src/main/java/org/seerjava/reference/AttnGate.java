package org.seerjava.reference;

/**
 * The prefill AttnGate of SeerAttention (docs/SPEC.md §2.4), per batch element b, query head h, blocks i, j:
 * <pre>
 *   Qp[i, h]  = concat_{f ∈ qPools} f_{t ∈ block i} q[t, h]              (pre-RoPE q, {@link Pooling})
 *   Kp[i, kh] = concat_{f ∈ kPools} f_{t ∈ block i} k[t, kh]             (pre-RoPE k)
 *   case A (Q linear):  Qg[i, h] = Qp[i, h] · W_q[h]     Kg[i, kh] = Kp[i, kh] · W_k[kh]     (Hkv key heads)
 *   case B (no Q linear): Qg[i, h] = Qp[i, h]            Kg[i, h]  = Kp[i, h/g] · W_k[h]     (Hq key heads)
 *   Qg[i], Kg[i] ← RoPE at position i·B (rotary dim Dg)
 *   logit[h, i, j] = Qg[i, h] · Kg[j, key(h)] · Dg^-0.5 + M[i, j],   M = 0 for j ≤ i, float32 min above
 *   score[h, i, :] = softmax_j logit[h, i, :]     (inference, threshold method)
 * </pre>
 * with key(h) = h/g in case A and h in case B. Training uses the raw masked logits. The masked value is the
 * finite {@link #MASKED_LOGIT} so that {@code 0 · logit} stays 0 in the KL loss.
 */
public final class AttnGate {
    /** The value added above the block diagonal: PyTorch's {@code torch.finfo(float32).min}. */
    public static final double MASKED_LOGIT = -Float.MAX_VALUE;

    private final AttentionShape shape;
    private final GateConfig config;
    private final double[] wq;
    private final double[] wk;
    private final Rope rope;
    private final boolean hasQLinear;
    private final int keyHeads;

    /**
     * A gate with its weights.
     *
     * @param wq {@code W_q [Hq, qdup·D, Dg]} in case A, {@code null} (or empty) in case B
     * @param wk {@code W_k [heads, kdup·D, Dg]} with heads = Hkv (case A) or Hq (case B)
     * @throws IllegalArgumentException when a weight has the wrong size or is not finite
     */
    public AttnGate(AttentionShape shape, GateConfig config, double[] wq, double[] wk) {
        if (shape == null || config == null) {
            throw new IllegalArgumentException("shape and gate config must not be null");
        }
        this.shape = shape;
        this.config = config;
        this.hasQLinear = config.hasQLinear(shape.headDim());
        this.keyHeads = config.kLinearHeads(shape);
        if (hasQLinear) {
            Checks.length("W_q (mask_linear_q) [Hq, qdup·D, Dg]", wq, config.qWeightElements(shape));
            this.wq = Checks.allFinite("W_q (mask_linear_q)", wq);
        } else {
            if (wq != null && wq.length != 0) {
                throw new IllegalArgumentException("gate type " + config.type() + " with Dg = D = " + shape.headDim()
                        + " has no Q linear, but W_q (mask_linear_q) was given with " + wq.length + " elements");
            }
            this.wq = null;
        }
        Checks.length("W_k (mask_linear_k) [" + keyHeads + ", kdup·D, Dg]", wk, config.kWeightElements(shape));
        this.wk = Checks.allFinite("W_k (mask_linear_k)", wk);
        this.rope = new Rope(config.rope());
    }

    public AttentionShape shape() {
        return shape;
    }

    public GateConfig config() {
        return config;
    }

    /** Whether this gate has a Q linear (case A). */
    public boolean hasQLinear() {
        return hasQLinear;
    }

    /** Heads of the gate key: Hkv (case A) or Hq (case B). */
    public int keyHeads() {
        return keyHeads;
    }

    /**
     * Everything the forward pass computes; kept for the backward pass.
     *
     * @param qPooled {@code [B, nb, Hq, qdup·D]}
     * @param kPooled {@code [B, nb, Hkv, kdup·D]}
     * @param qGate   {@code [B, nb, Hq, Dg]}, after the linear and RoPE
     * @param kGate   {@code [B, nb, keyHeads, Dg]}, after the linear and RoPE
     * @param logits  {@code [B, Hq, nb, nb]}, masked
     * @param blocks  nb
     */
    public record Forward(double[] qPooled, double[] kPooled, double[] qGate, double[] kGate, double[] logits,
                          int blocks) {
    }

    /** Gradients of a scalar loss with respect to the gate weights ({@code wq} is null in case B). */
    public record Gradients(double[] wq, double[] wk) {
    }

    /**
     * The gate forward pass on pre-RoPE {@code q [B, N, Hq, D]} and {@code k [B, N, Hkv, D]}: pooling, then
     * {@link #forwardPooled}.
     *
     * @throws IllegalArgumentException on wrong sizes or NaN/±∞ input
     */
    public Forward forward(double[] q, double[] k) {
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        int B = shape.batch();
        int D = shape.headDim();
        int nb = shape.blocks(config.blockSize());
        GateType type = config.type();
        double[] qPooled = new double[B * nb * shape.qHeads() * type.qDup() * D];
        double[] kPooled = new double[B * nb * shape.kvHeads() * type.kDup() * D];
        Pooling.pool(q, qPooled, B, shape.seqLen(), shape.qHeads(), D, config.blockSize(), type.qPools());
        Pooling.pool(k, kPooled, B, shape.seqLen(), shape.kvHeads(), D, config.blockSize(), type.kPools());
        return forwardPooled(qPooled, kPooled);
    }

    /**
     * The gate forward pass after pooling: the linears, block RoPE and the block-causal logits. The gate trainer
     * starts here, since the pooled features of a frozen model's window never change.
     *
     * @param qPooled {@code [B, nb, Hq, qdup·D]}, the pooled pre-RoPE q (kept, not copied, in the result)
     * @param kPooled {@code [B, nb, Hkv, kdup·D]}, the pooled pre-RoPE k
     * @throws IllegalArgumentException on wrong sizes
     */
    public Forward forwardPooled(double[] qPooled, double[] kPooled) {
        int B = shape.batch();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int g = shape.groupSize();
        int D = shape.headDim();
        int Dg = config.hiddenSize();
        int nb = shape.blocks(config.blockSize());
        GateType type = config.type();
        Checks.length("qPooled [B, nb, Hq, qdup·D]", qPooled, (long) B * nb * Hq * type.qDup() * D);
        Checks.length("kPooled [B, nb, Hkv, kdup·D]", kPooled, (long) B * nb * Hkv * type.kDup() * D);

        // Linears: Qg = Qp · W_q[h] (or Qp itself), Kg = Kp[src] · W_k[kh].
        double[] qGate = hasQLinear
                ? multiHeadLinear(qPooled, wq, B * nb, Hq, Hq, type.qDup() * D, Dg, 1)
                : qPooled.clone();
        double[] kGate = multiHeadLinear(kPooled, wk, B * nb, Hkv, keyHeads, type.kDup() * D, Dg,
                keyHeads / Hkv);

        // Block RoPE at the first token of each block.
        rope.rotateBlocks(qGate, kGate, B, nb, Hq, keyHeads, Dg, config.blockSize(), +1);

        // Block-causal logits.
        double scale = config.scale();
        double[] logits = new double[B * Hq * nb * nb];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = keyHead(h, g);
                for (int qBlock = 0; qBlock < nb; qBlock++) {
                    int qBase = ((b * nb + qBlock) * Hq + h) * Dg;
                    for (int kBlock = 0; kBlock < nb; kBlock++) {
                        int out = ((b * Hq + h) * nb + qBlock) * nb + kBlock;
                        if (kBlock > qBlock) {
                            logits[out] = MASKED_LOGIT;
                            continue;
                        }
                        int kBase = ((b * nb + kBlock) * keyHeads + kh) * Dg;
                        double dot = 0;
                        for (int d = 0; d < Dg; d++) {
                            dot += qGate[qBase + d] * kGate[kBase + d];
                        }
                        logits[out] = dot * scale;
                    }
                }
            }
        }
        return new Forward(qPooled, kPooled, qGate, kGate, logits, nb);
    }

    /** Gate softmax scores {@code [B, Hq, nb, nb]} (inference with the threshold method). */
    public double[] scores(double[] q, double[] k) {
        Forward f = forward(q, k);
        return softmaxRows(f.logits(), f.blocks());
    }

    /** Row-wise softmax of {@code [rows, cols]} logits: p_j = exp(x_j − max) / Σ exp(x − max). */
    public static double[] softmaxRows(double[] logits, int cols) {
        Checks.positive("cols", cols);
        if (logits.length % cols != 0) {
            throw new IllegalArgumentException("logits have " + logits.length + " elements, not a multiple of " + cols);
        }
        double[] p = new double[logits.length];
        for (int row = 0; row < logits.length / cols; row++) {
            int base = row * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, logits[base + j]);
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                p[base + j] = Math.exp(logits[base + j] - max);
                sum += p[base + j];
            }
            for (int j = 0; j < cols; j++) {
                p[base + j] /= sum;
            }
        }
        return p;
    }

    /**
     * Backward pass: given dL/dlogit {@code [B, Hq, nb, nb]}, returns dL/dW_q and dL/dW_k. Masked logits are
     * constants, so their gradient entries are ignored. RoPE is a rotation R, so its backward is R^T (rotation by
     * the negative angle).
     */
    public Gradients backward(Forward forward, double[] dLogits) {
        int B = shape.batch();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int g = shape.groupSize();
        int D = shape.headDim();
        int Dg = config.hiddenSize();
        int nb = forward.blocks();
        GateType type = config.type();
        Checks.length("dLogits", dLogits, (long) B * Hq * nb * nb);
        double scale = config.scale();

        double[] qGate = forward.qGate();
        double[] kGate = forward.kGate();
        double[] dQGate = new double[qGate.length];
        double[] dKGate = new double[kGate.length];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = keyHead(h, g);
                for (int qBlock = 0; qBlock < nb; qBlock++) {
                    int qBase = ((b * nb + qBlock) * Hq + h) * Dg;
                    for (int kBlock = 0; kBlock <= qBlock; kBlock++) {
                        double dl = dLogits[((b * Hq + h) * nb + qBlock) * nb + kBlock] * scale;
                        int kBase = ((b * nb + kBlock) * keyHeads + kh) * Dg;
                        for (int d = 0; d < Dg; d++) {
                            dQGate[qBase + d] += dl * kGate[kBase + d];
                            dKGate[kBase + d] += dl * qGate[qBase + d];
                        }
                    }
                }
            }
        }
        // Undo RoPE on the gradients (R^T = rotation by −angle).
        rope.rotateBlocks(dQGate, dKGate, B, nb, Hq, keyHeads, Dg, config.blockSize(), -1);
        double[] dWq = hasQLinear
                ? linearWeightGradient(forward.qPooled(), dQGate, B * nb, Hq, Hq, type.qDup() * D, Dg, 1)
                : null;
        double[] dWk = linearWeightGradient(forward.kPooled(), dKGate, B * nb, Hkv, keyHeads, type.kDup() * D, Dg,
                keyHeads / Hkv);
        return new Gradients(dWq, dWk);
    }

    private int keyHead(int h, int g) {
        return hasQLinear ? h / g : h;
    }

    /**
     * MultiHeadLinear: {@code y[r, oh, o] = Σ_in x[r, oh / repeat, in] · W[oh, in, o]}; an input with fewer heads is
     * repeat-interleaved ({@code repeat} = outHeads / inHeads) up to the weight's heads first.
     */
    public static double[] multiHeadLinear(double[] x, double[] w, int rows, int inHeads, int outHeads, int in, int out,
                                    int repeat) {
        double[] y = new double[rows * outHeads * out];
        for (int r = 0; r < rows; r++) {
            for (int oh = 0; oh < outHeads; oh++) {
                int xBase = (r * inHeads + oh / repeat) * in;
                int yBase = (r * outHeads + oh) * out;
                for (int i = 0; i < in; i++) {
                    double xi = x[xBase + i];
                    int wBase = (oh * in + i) * out;
                    for (int o = 0; o < out; o++) {
                        y[yBase + o] += xi * w[wBase + o];
                    }
                }
            }
        }
        return y;
    }

    /**
     * dW[oh, in, o] = Σ_r x[r, oh / repeat, in] · dy[r, oh, o]: the weight gradient of {@link #multiHeadLinear}. Its
     * loops are those of the forward product, written out again on purpose: the sum runs over other indices
     * (rows, not inputs), so each formula reads as it is written here.
     */
    static double[] linearWeightGradient(double[] x, double[] dy, int rows, int inHeads, int outHeads, int in,
                                         int out, int repeat) {
        double[] dw = new double[outHeads * in * out];
        for (int r = 0; r < rows; r++) {
            for (int oh = 0; oh < outHeads; oh++) {
                int xBase = (r * inHeads + oh / repeat) * in;
                int dyBase = (r * outHeads + oh) * out;
                for (int i = 0; i < in; i++) {
                    double xi = x[xBase + i];
                    int wBase = (oh * in + i) * out;
                    for (int o = 0; o < out; o++) {
                        dw[wBase + o] += xi * dy[dyBase + o];
                    }
                }
            }
        }
        return dw;
    }
}
