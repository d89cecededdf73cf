package org.seerjava.reference.decode;

import org.seerjava.reference.Checks;
import org.seerjava.reference.Rope;

/**
 * The decode gate as it is trained (docs/SPEC.md §7.7): the logits of many query tokens of one sequence against the
 * compressed keys of its blocks, and the gradients of a loss on them with respect to the gate's weights. For query
 * row r (the token at position {@code pos[r]}) and KV head kh, with the g query heads of the group
 * {@code x = q[r, kh·g … kh·g+g−1]} (pre-RoPE) and the pooled keys {@code P[j, kh]} of block j:
 * <pre>
 *   a[r, kh]  = headpool(x) · W_q[kh]               (Qproj: Σ_j Σ_i x[j, i] · W_q[kh, j, i, :]; Qavg: the mean)
 *   u[r, kh]  = RoPE_{pos[r]}( qnorm(a) )
 *   b[j, kh]  = P[j, kh] · W_k[kh]
 *   z[j, kh]  = RoPE_{j·B}( knorm(b) )              keys rotated at their block's first token, as in prefill
 *   s[kh, r, j] = u · z / √Dg   for j &lt; pos[r] / B;   {@link DecodeGate#MASKED_LOGIT} otherwise
 * </pre>
 * The query's own block and later ones are masked (training scores only strictly earlier blocks). This is
 * {@link DecodeGate#query} and {@link DecodeGate#compressedKeys} row by row ({@code DecodeGateTrainingTest} checks
 * it); the backward pass applies the chain rule through the linears, the RMSNorms
 * ({@code ∂a_k = s·w_k·∂y_k − a_k · s³/n · Σ_i ∂y_i·w_i·a_i}, s = (mean a² + ε)^−½) and RoPE (a rotation, so its
 * transpose rotates back).
 */
public final class DecodeGateTraining {
    private final DecodeGateConfig config;
    private final int qHeads;
    private final int kvHeads;
    private final int headDim;
    private final double[] wq;
    private final double[] wk;
    private final double[] qNorm;
    private final double[] kNorm;
    private final Rope rope;

    /**
     * A gate with its weights; the same arguments and checks as {@link DecodeGate}.
     *
     * @throws IllegalArgumentException on bad head counts, Dg ≠ D, a weight of the wrong size or a non-finite weight
     */
    public DecodeGateTraining(int qHeads, int kvHeads, int headDim, DecodeGateConfig config, double[] wq,
                              double[] wk, double[] qNorm, double[] kNorm) {
        new DecodeGate(qHeads, kvHeads, headDim, config, wq, wk, qNorm, kNorm);       // the checks
        this.config = config;
        this.qHeads = qHeads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.wq = wq;
        this.wk = wk;
        this.qNorm = config.useQkNorm() ? qNorm : null;
        this.kNorm = config.useQkNorm() ? kNorm : null;
        this.rope = config.useRope() ? new Rope(config.rope()) : null;
    }

    /**
     * What the forward pass keeps for the backward pass.
     *
     * @param positions the query rows' positions
     * @param blocks    nb, the compressed keys
     * @param qLinear   {@code a [R, Hkv, Dg]}, before the norm
     * @param qGate     {@code u [R, Hkv, Dg]}
     * @param kLinear   {@code b [nb, Hkv, Dg]}, before the norm
     * @param kGate     {@code z [nb, Hkv, Dg]}
     * @param logits    {@code s [Hkv, R, nb]}
     */
    public record Forward(int[] positions, int blocks, double[] qLinear, double[] qGate, double[] kLinear,
                          double[] kGate, double[] logits) {
        /** R, the query rows. */
        public int rows() {
            return positions.length;
        }
    }

    /**
     * Gradients with respect to the weights (null where the gate has no such weight).
     *
     * @param wq    {@code ∂/∂W_q}
     * @param wk    {@code ∂/∂W_k}
     * @param qNorm {@code ∂/∂} the q norm weight
     * @param kNorm {@code ∂/∂} the k norm weight
     */
    public record Gradients(double[] wq, double[] wk, double[] qNorm, double[] kNorm) {
    }

    /**
     * The training logits.
     *
     * @param qNope     {@code [R, Hq, D]}, pre-RoPE queries of the rows
     * @param positions each row's position, ≥ 0
     * @param kPooled   {@code [nb, Hkv, kdup·D]}, the sequence's keys pooled per block (max, min, avg as configured)
     * @param blocks    nb
     * @throws IllegalArgumentException on wrong sizes, a negative position or non-finite input
     */
    public Forward forward(double[] qNope, int[] positions, double[] kPooled, int blocks) {
        Checks.positive("blocks", blocks);
        if (positions == null || positions.length == 0) {
            throw new IllegalArgumentException("positions must name at least one query row");
        }
        int rows = positions.length;
        for (int r = 0; r < rows; r++) {
            Checks.nonNegative("positions[" + r + "]", positions[r]);
        }
        int d = headDim;
        int dg = config.hiddenSize();
        int features = config.kDup() * d;
        Checks.allFinite("qNope", Checks.length("qNope [R, Hq, D]", qNope, (long) rows * qHeads * d));
        Checks.allFinite("kPooled", Checks.length("kPooled [nb, Hkv, kdup·D]", kPooled,
                (long) blocks * kvHeads * features));
        double[] qLinear = new double[rows * kvHeads * dg];
        double[] qGate = new double[qLinear.length];
        for (int r = 0; r < rows; r++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int at = (r * kvHeads + kh) * dg;
                headPool(qNope, r, kh, qLinear, at);
                System.arraycopy(qLinear, at, qGate, at, dg);
                normAndRotate(qGate, at, qNorm, positions[r], +1);
            }
        }
        double[] kLinear = new double[blocks * kvHeads * dg];
        double[] kGate = new double[kLinear.length];
        for (int j = 0; j < blocks; j++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int at = (j * kvHeads + kh) * dg;
                for (int i = 0; i < features; i++) {
                    double x = kPooled[at / dg * features + i];
                    int w = (kh * features + i) * dg;
                    for (int o = 0; o < dg; o++) {
                        kLinear[at + o] += x * wk[w + o];
                    }
                }
                System.arraycopy(kLinear, at, kGate, at, dg);
                normAndRotate(kGate, at, kNorm, (long) j * config.blockSize(), +1);
            }
        }
        double scale = config.scale();
        double[] logits = new double[kvHeads * rows * blocks];
        for (int kh = 0; kh < kvHeads; kh++) {
            for (int r = 0; r < rows; r++) {
                int visible = positions[r] / config.blockSize();
                int u = (r * kvHeads + kh) * dg;
                for (int j = 0; j < blocks; j++) {
                    int out = (kh * rows + r) * blocks + j;
                    if (j >= visible) {
                        logits[out] = DecodeGate.MASKED_LOGIT;
                        continue;
                    }
                    int z = (j * kvHeads + kh) * dg;
                    double dot = 0;
                    for (int o = 0; o < dg; o++) {
                        dot += qGate[u + o] * kGate[z + o];
                    }
                    logits[out] = dot * scale;
                }
            }
        }
        return new Forward(positions.clone(), blocks, qLinear, qGate, kLinear, kGate, logits);
    }

    /** {@code a = headpool(q[r, group kh]) · W_q[kh]} into {@code out[at …]}. */
    private void headPool(double[] qNope, int r, int kh, double[] out, int at) {
        int g = qHeads / kvHeads;
        int d = headDim;
        int dg = config.hiddenSize();
        int group = (r * qHeads + kh * g) * d;
        switch (config.queryPooling()) {
            case QProj -> {
                for (int i = 0; i < g * d; i++) {
                    double x = qNope[group + i];
                    int w = (kh * g * d + i) * dg;
                    for (int o = 0; o < dg; o++) {
                        out[at + o] += x * wq[w + o];
                    }
                }
            }
            case QAvgProj -> {
                for (int i = 0; i < d; i++) {
                    double x = groupMean(qNope, group, g, d, i);
                    int w = (kh * d + i) * dg;
                    for (int o = 0; o < dg; o++) {
                        out[at + o] += x * wq[w + o];
                    }
                }
            }
            case QAvg -> {
                for (int i = 0; i < d; i++) {
                    out[at + i] = groupMean(qNope, group, g, d, i);
                }
            }
        }
    }

    private static double groupMean(double[] q, int group, int g, int d, int i) {
        double sum = 0;
        for (int j = 0; j < g; j++) {
            sum += q[group + j * d + i];
        }
        return sum / g;
    }

    private void normAndRotate(double[] x, int at, double[] norm, long position, int sign) {
        if (norm != null) {
            RmsNorm.apply(x, at, norm, DecodeGateConfig.NORM_EPS);
        }
        if (rope != null) {
            rope.rotate(x, at, position, sign);
        }
    }

    /**
     * The gradients of a loss given its gradient with respect to the logits {@code dLogits [Hkv, R, nb]}; entries of
     * masked logits are ignored (those logits are constants).
     *
     * @param qNope   the forward pass's queries
     * @param kPooled the forward pass's pooled keys
     */
    public Gradients backward(Forward f, double[] qNope, double[] kPooled, double[] dLogits) {
        int rows = f.rows();
        int blocks = f.blocks();
        int d = headDim;
        int dg = config.hiddenSize();
        int features = config.kDup() * d;
        int bs = config.blockSize();
        Checks.length("dLogits [Hkv, R, nb]", dLogits, (long) kvHeads * rows * blocks);
        double scale = config.scale();
        double[] du = new double[f.qGate().length];
        double[] dz = new double[f.kGate().length];
        for (int kh = 0; kh < kvHeads; kh++) {
            for (int r = 0; r < rows; r++) {
                int visible = Math.min(blocks, f.positions()[r] / bs);
                int u = (r * kvHeads + kh) * dg;
                for (int j = 0; j < visible; j++) {
                    double ds = dLogits[(kh * rows + r) * blocks + j] * scale;
                    int z = (j * kvHeads + kh) * dg;
                    for (int o = 0; o < dg; o++) {
                        du[u + o] += ds * f.kGate()[z + o];
                        dz[z + o] += ds * f.qGate()[u + o];
                    }
                }
            }
        }
        double[] dQNorm = qNorm == null ? null : new double[dg];
        double[] dKNorm = kNorm == null ? null : new double[dg];
        for (int r = 0; r < rows; r++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                unrotateAndUnnorm(du, f.qLinear(), (r * kvHeads + kh) * dg, f.positions()[r], qNorm, dQNorm);
            }
        }
        for (int j = 0; j < blocks; j++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                unrotateAndUnnorm(dz, f.kLinear(), (j * kvHeads + kh) * dg, (long) j * bs, kNorm, dKNorm);
            }
        }
        double[] dWq = wq == null ? null : new double[wq.length];
        if (dWq != null) {
            int g = qHeads / kvHeads;
            for (int r = 0; r < rows; r++) {
                for (int kh = 0; kh < kvHeads; kh++) {
                    int da = (r * kvHeads + kh) * dg;
                    int group = (r * qHeads + kh * g) * d;
                    int inputs = config.queryPooling() == QueryHeadPooling.QProj ? g * d : d;
                    for (int i = 0; i < inputs; i++) {
                        double x = config.queryPooling() == QueryHeadPooling.QProj ? qNope[group + i]
                                : groupMean(qNope, group, g, d, i);
                        int w = (kh * inputs + i) * dg;
                        for (int o = 0; o < dg; o++) {
                            dWq[w + o] += x * du[da + o];
                        }
                    }
                }
            }
        }
        double[] dWk = new double[wk.length];
        for (int j = 0; j < blocks; j++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int db = (j * kvHeads + kh) * dg;
                for (int i = 0; i < features; i++) {
                    double x = kPooled[(j * kvHeads + kh) * features + i];
                    int w = (kh * features + i) * dg;
                    for (int o = 0; o < dg; o++) {
                        dWk[w + o] += x * dz[db + o];
                    }
                }
            }
        }
        return new Gradients(dWq, dWk, dQNorm, dKNorm);
    }

    /**
     * Turns ∂/∂(rotated, normed vector) at {@code grad[at …]} into ∂/∂(linear output) in place: RoPE back, then the
     * RMSNorm's backward (accumulating the norm weight's gradient into {@code dNorm}).
     */
    private void unrotateAndUnnorm(double[] grad, double[] linear, int at, long position, double[] norm,
                                   double[] dNorm) {
        if (rope != null) {
            rope.rotate(grad, at, position, -1);
        }
        if (norm == null) {
            return;
        }
        int n = norm.length;
        double meanSquare = 0;
        for (int i = 0; i < n; i++) {
            meanSquare += linear[at + i] * linear[at + i];
        }
        double s = 1.0 / Math.sqrt(meanSquare / n + DecodeGateConfig.NORM_EPS);
        double dot = 0;
        for (int i = 0; i < n; i++) {
            dNorm[i] += grad[at + i] * linear[at + i] * s;
            dot += grad[at + i] * norm[i] * linear[at + i];
        }
        double c = s * s * s / n * dot;
        for (int i = 0; i < n; i++) {
            grad[at + i] = s * norm[i] * grad[at + i] - c * linear[at + i];
        }
    }
}
