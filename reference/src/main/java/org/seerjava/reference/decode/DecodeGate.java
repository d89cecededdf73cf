package org.seerjava.reference.decode;

import org.seerjava.reference.AttnGate;
import org.seerjava.reference.Checks;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.Rope;

/**
 * The SeerAttention-R decode gate (docs/SPEC.md §7.2), per batch element b and KV head kh. It consumes pre-RoPE
 * ("nope") q and k — after the model's own q/k norms where it has them.
 * <pre>
 *   gate query, one token at position p:
 *     Qg[kh] = headpool(q[kh·g … kh·g+g−1])            Qproj: Σ_j Σ_i q[kh·g+j, i] · W_q[kh, j, i, :]
 *     Qg[kh] ← RoPE_p( qnorm(Qg[kh]) )
 *   compressed key of block n (tokens T_n), rotated at position P_n:
 *     Kc[n, kh] = RoPE_{P_n}( knorm( concat_{f ∈ kPools} f_{t ∈ T_n} k[t, kh] · W_k[kh] ) )
 *   scores over the blocks j of the cache:
 *     s[kh, j]  = Qg[kh] · Kc[j, kh] / sqrt(Dg)            (−1e20 where the block holds no real token)
 *     p[kh, :]  = softmax_j s[kh, :]
 * </pre>
 * The norms are {@link RmsNorm} with eps 1e-6 (only when {@code useQkNorm}); RoPE rotates Dg channels with the base
 * model's θ and scaling (only when {@code useRope}). GQA: KV head kh serves query heads {@code kh·g … kh·g+g−1}.
 */
public final class DecodeGate {
    /** The value the official code gives logits of blocks without a real token. */
    public static final double MASKED_LOGIT = -1e20;

    private final int qHeads;
    private final int kvHeads;
    private final int headDim;
    private final DecodeGateConfig config;
    private final double[] wq;
    private final double[] wk;
    private final double[] qNorm;
    private final double[] kNorm;
    private final Rope rope;

    /**
     * A gate with its weights.
     *
     * @param qHeads  Hq, query heads of the model
     * @param kvHeads Hkv, KV heads; must divide Hq
     * @param headDim D, the model head dim; must equal the gate hidden size Dg (docs/SPEC.md §7.3)
     * @param wq      {@code W_q [Hkv, g, D, Dg]} (Qproj), {@code [Hkv, D, Dg]} (Qavgproj), null or empty (Qavg)
     * @param wk      {@code W_k [Hkv, kdup·D, Dg]}
     * @param qNorm   qnorm weight {@code [Dg]} when {@code useQkNorm}, else null or empty
     * @param kNorm   knorm weight {@code [Dg]} when {@code useQkNorm}, else null or empty
     * @throws IllegalArgumentException on bad head counts, Dg ≠ D, a weight of the wrong size or a non-finite weight
     */
    public DecodeGate(int qHeads, int kvHeads, int headDim, DecodeGateConfig config, double[] wq, double[] wk,
                      double[] qNorm, double[] kNorm) {
        Checks.groupedHeads(qHeads, kvHeads);
        Checks.positive("headDim (D)", headDim);
        if (config == null) {
            throw new IllegalArgumentException("decode gate config must not be null");
        }
        if (config.hiddenSize() != headDim) {
            throw new IllegalArgumentException("gate hiddenSize (Dg) = " + config.hiddenSize()
                    + " must equal headDim (D) = " + headDim
                    + ": the K-compression cache keeps raw D-sized keys in Dg-sized slots (docs/SPEC.md §7.3)");
        }
        this.qHeads = qHeads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.config = config;
        if (config.queryPooling().hasLinear()) {
            Checks.length("W_q (attngate_linear_q) " + qWeightShape(), wq, qWeightElements());
            this.wq = Checks.allFinite("W_q (attngate_linear_q)", wq.clone());
        } else {
            requireAbsent("W_q (attngate_linear_q)", wq, "query pooling Qavg has no Q linear");
            this.wq = null;
        }
        Checks.length("W_k (attngate_linear_k) [Hkv, kdup·D, Dg]", wk, kWeightElements());
        this.wk = Checks.allFinite("W_k (attngate_linear_k)", wk.clone());
        if (config.useQkNorm()) {
            Checks.length("qNorm weight (attngate_qnorm) [Dg]", qNorm, config.hiddenSize());
            Checks.length("kNorm weight (attngate_knorm) [Dg]", kNorm, config.hiddenSize());
            this.qNorm = Checks.allFinite("qNorm weight (attngate_qnorm)", qNorm.clone());
            this.kNorm = Checks.allFinite("kNorm weight (attngate_knorm)", kNorm.clone());
        } else {
            requireAbsent("qNorm weight (attngate_qnorm)", qNorm, "useQkNorm is false");
            requireAbsent("kNorm weight (attngate_knorm)", kNorm, "useQkNorm is false");
            this.qNorm = null;
            this.kNorm = null;
        }
        this.rope = config.useRope() ? new Rope(config.rope()) : null;
    }

    private static void requireAbsent(String name, double[] w, String why) {
        if (w != null && w.length != 0) {
            throw new IllegalArgumentException(name + " was given with " + w.length + " elements, but " + why);
        }
    }

    public DecodeGateConfig config() {
        return config;
    }

    public int qHeads() {
        return qHeads;
    }

    public int kvHeads() {
        return kvHeads;
    }

    /** g = Hq / Hkv. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** D (= Dg). */
    public int headDim() {
        return headDim;
    }

    /** Dg (= D). */
    public int hiddenSize() {
        return config.hiddenSize();
    }

    /** B. */
    public int blockSize() {
        return config.blockSize();
    }

    /** Elements of {@code W_q}: Hkv·g·D·Dg (Qproj), Hkv·D·Dg (Qavgproj), 0 (Qavg). */
    public int qWeightElements() {
        return switch (config.queryPooling()) {
            case QProj -> Checks.arraySize("W_q", (long) kvHeads * groupSize() * headDim * config.hiddenSize());
            case QAvgProj -> Checks.arraySize("W_q", (long) kvHeads * headDim * config.hiddenSize());
            case QAvg -> 0;
        };
    }

    private String qWeightShape() {
        return config.queryPooling() == QueryHeadPooling.QProj ? "[Hkv, g, D, Dg]" : "[Hkv, D, Dg]";
    }

    /** Elements of {@code W_k = [Hkv, kdup·D, Dg]}. */
    public int kWeightElements() {
        return Checks.arraySize("W_k", (long) kvHeads * config.kDup() * headDim * config.hiddenSize());
    }

    /**
     * The gate query of one token per sequence: {@code qNope [batch, Hq, D]} → {@code Qg [batch, Hkv, Dg]}, head
     * pooling, linear, qnorm, then RoPE at {@code position} (the token's padded position, shared by the batch).
     *
     * @throws IllegalArgumentException on wrong sizes, a negative position or NaN input
     */
    public double[] query(double[] qNope, int batch, int position) {
        Checks.positive("batch", batch);
        Checks.nonNegative("position", position);
        Checks.length("qNope [batch, Hq, D]", qNope, (long) batch * qHeads * headDim);
        Checks.allFinite("qNope", qNope);
        int g = groupSize();
        int D = headDim;
        int Dg = config.hiddenSize();
        double[] qGate = new double[batch * kvHeads * Dg];
        double[] groupMean = new double[D];
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int out = (b * kvHeads + kh) * Dg;
                for (int i = 0; i < D; i++) {
                    double sum = 0;
                    for (int j = 0; j < g; j++) {
                        sum += qNope[(b * qHeads + kh * g + j) * D + i];
                    }
                    groupMean[i] = sum / g;
                }
                switch (config.queryPooling()) {
                    case QProj -> {
                        for (int j = 0; j < g; j++) {
                            int qBase = (b * qHeads + kh * g + j) * D;
                            for (int i = 0; i < D; i++) {
                                int wBase = ((kh * g + j) * D + i) * Dg;
                                for (int o = 0; o < Dg; o++) {
                                    qGate[out + o] += qNope[qBase + i] * wq[wBase + o];
                                }
                            }
                        }
                    }
                    case QAvgProj -> {
                        for (int i = 0; i < D; i++) {
                            int wBase = (kh * D + i) * Dg;
                            for (int o = 0; o < Dg; o++) {
                                qGate[out + o] += groupMean[i] * wq[wBase + o];
                            }
                        }
                    }
                    case QAvg -> System.arraycopy(groupMean, 0, qGate, out, D);
                }
                normAndRotate(qGate, out, qNorm, position);
            }
        }
        return qGate;
    }

    /**
     * Compressed keys of the blocks of {@code kNope [batch, seqLen, Hkv, D]} (blocks of B tokens, the last one
     * possibly partial): pool ({@link Pooling}, kdup·D features), linear {@code W_k}, knorm, then RoPE of block n at
     * {@code blockPositions[n]}. Returns {@code Kc [batch, nb, Hkv, Dg]} with nb = ceil(seqLen / B).
     *
     * @throws IllegalArgumentException on wrong sizes, a negative position or NaN input
     */
    public double[] compressedKeys(double[] kNope, int batch, int seqLen, int[] blockPositions) {
        Checks.positive("batch", batch);
        Checks.positive("seqLen", seqLen);
        Checks.length("kNope [batch, seqLen, Hkv, D]", kNope, (long) batch * seqLen * kvHeads * headDim);
        int nb = Math.ceilDiv(seqLen, config.blockSize());
        if (blockPositions == null || blockPositions.length != nb) {
            throw new IllegalArgumentException("blockPositions must have nb = ceil(" + seqLen + " / "
                    + config.blockSize() + ") = " + nb + " entries, got "
                    + (blockPositions == null ? "null" : blockPositions.length));
        }
        for (int n = 0; n < nb; n++) {
            Checks.nonNegative("blockPositions[" + n + "]", blockPositions[n]);
        }
        int features = config.kDup() * headDim;
        int Dg = config.hiddenSize();
        double[] pooled = new double[Checks.arraySize("pooled keys", (long) batch * nb * kvHeads * features)];
        Pooling.pool(kNope, pooled, batch, seqLen, kvHeads, headDim, config.blockSize(), config.kPools());

        double[] kc = new double[batch * nb * kvHeads * Dg];
        for (int b = 0; b < batch; b++) {
            for (int n = 0; n < nb; n++) {
                for (int kh = 0; kh < kvHeads; kh++) {
                    int row = (b * nb + n) * kvHeads + kh;
                    for (int i = 0; i < features; i++) {
                        double x = pooled[row * features + i];
                        int wBase = (kh * features + i) * Dg;
                        for (int o = 0; o < Dg; o++) {
                            kc[row * Dg + o] += x * wk[wBase + o];
                        }
                    }
                    normAndRotate(kc, row * Dg, kNorm, blockPositions[n]);
                }
            }
        }
        return kc;
    }

    private void normAndRotate(double[] x, int offset, double[] normWeight, int position) {
        if (normWeight != null) {
            RmsNorm.apply(x, offset, normWeight, DecodeGateConfig.NORM_EPS);
        }
        if (rope != null) {
            rope.rotate(x, offset, position, +1);
        }
    }

    /**
     * Gate logits {@code s [batch, Hkv, nb]}: {@code s[b, kh, j] = Qg[b, kh] · Kc[b, j, kh] / sqrt(Dg)}, or
     * {@link #MASKED_LOGIT} where {@code blockAttentionMask[b, j]} is false.
     *
     * @param qGate              {@code [batch, Hkv, Dg]} from {@link #query}
     * @param kCompressed        {@code [batch, nb, Hkv, Dg]}, e.g. {@link KCompressionCache#compressed()}
     * @param blockAttentionMask {@code [batch, nb]}, see {@link #blockAttentionMask}; null means every block is real
     * @throws IllegalArgumentException on wrong sizes or NaN input
     */
    public double[] logits(double[] qGate, double[] kCompressed, int batch, int blocks, boolean[] blockAttentionMask) {
        Checks.positive("batch", batch);
        Checks.positive("blocks", blocks);
        int Dg = config.hiddenSize();
        Checks.allFinite("qGate", Checks.length("qGate [batch, Hkv, Dg]", qGate, (long) batch * kvHeads * Dg));
        Checks.allFinite("kCompressed",
                Checks.length("kCompressed [batch, nb, Hkv, Dg]", kCompressed, (long) batch * blocks * kvHeads * Dg));
        if (blockAttentionMask != null && blockAttentionMask.length != (long) batch * blocks) {
            throw new IllegalArgumentException("blockAttentionMask [batch, nb] has " + blockAttentionMask.length
                    + " elements, expected " + (long) batch * blocks);
        }
        double scale = config.scale();
        double[] logits = new double[batch * kvHeads * blocks];
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int qBase = (b * kvHeads + kh) * Dg;
                for (int j = 0; j < blocks; j++) {
                    int out = (b * kvHeads + kh) * blocks + j;
                    if (blockAttentionMask != null && !blockAttentionMask[b * blocks + j]) {
                        logits[out] = MASKED_LOGIT;
                        continue;
                    }
                    int kBase = ((b * blocks + j) * kvHeads + kh) * Dg;
                    double dot = 0;
                    for (int d = 0; d < Dg; d++) {
                        dot += qGate[qBase + d] * kCompressed[kBase + d];
                    }
                    logits[out] = dot * scale;
                }
            }
        }
        return logits;
    }

    /** Gate scores {@code p [batch, Hkv, nb]}: the softmax over blocks of {@link #logits}. */
    public double[] scores(double[] qGate, double[] kCompressed, int batch, int blocks, boolean[] blockAttentionMask) {
        return AttnGate.softmaxRows(logits(qGate, kCompressed, batch, blocks, blockAttentionMask), blocks);
    }

    /**
     * The block attention mask {@code [batch, nb]} of a left-padded cache of {@code seqLen} padded positions
     * ({@code max_pool1d(attention_mask, B, ceil_mode)}): block n is true when it holds any real token, i.e. any
     * position c in {@code [n·B, min((n+1)·B, seqLen))} with {@code c ≥ leftPad[b]}.
     *
     * @param leftPad pad tokens at the start of each sequence, in {@code [0, seqLen)}
     */
    public static boolean[] blockAttentionMask(int[] leftPad, int seqLen, int blockSize) {
        Checks.positive("seqLen", seqLen);
        Checks.positive("blockSize", blockSize);
        if (leftPad == null || leftPad.length == 0) {
            throw new IllegalArgumentException("leftPad must have one entry per sequence, got "
                    + (leftPad == null ? "null" : "none"));
        }
        int nb = Math.ceilDiv(seqLen, blockSize);
        boolean[] mask = new boolean[leftPad.length * nb];
        for (int b = 0; b < leftPad.length; b++) {
            if (leftPad[b] < 0 || leftPad[b] >= seqLen) {
                throw new IllegalArgumentException("leftPad[" + b + "] must be in [0, seqLen = " + seqLen + "), got "
                        + leftPad[b]);
            }
            for (int n = 0; n < nb; n++) {
                int end = Math.min((n + 1) * blockSize, seqLen);
                mask[b * nb + n] = end > leftPad[b];
            }
        }
        return mask;
    }
}
