package org.seerjava.reference.engine;

import org.seerjava.reference.Checks;
import org.seerjava.reference.decode.DecodeGate;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.QueryHeadPooling;

/**
 * One layer's SeerAttention-R decode gate as the engines take it: the configuration, the model's head counts and
 * the weights in float32 (docs/SPEC.md §7.2). The weights are checked once, here (sizes, finite values, Dg = D), so
 * that a decode step does not scan them again; the arrays are copied in and must not be modified through
 * {@link #wq()} and the other accessors.
 *
 * <pre>
 *   W_q   [Hkv, g, D, Dg]  (Qproj) or [Hkv, D, Dg] (Qavgproj); absent for Qavg      attngate_linear_q.weight
 *   W_k   [Hkv, kdup·D, Dg]                                                         attngate_linear_k.weight
 *   qNorm [Dg], kNorm [Dg] (only with qk norm)                                      attngate_qnorm / attngate_knorm
 * </pre>
 */
public final class DecodeGateWeights {
    private final int qHeads;
    private final int kvHeads;
    private final int headDim;
    private final DecodeGateConfig config;
    private final float[] wq;
    private final float[] wk;
    private final float[] qNorm;
    private final float[] kNorm;

    /**
     * Checks and copies the weights.
     *
     * @param qHeads  Hq of the model
     * @param kvHeads Hkv of the model; must divide Hq
     * @param headDim D of the model; must equal the gate hidden size Dg (docs/SPEC.md §7.3)
     * @param config  the gate configuration
     * @param wq      {@code W_q}, or null / empty for Qavg
     * @param wk      {@code W_k}
     * @param qNorm   the q norm weight {@code [Dg]} with qk norm, else null / empty
     * @param kNorm   the k norm weight {@code [Dg]} with qk norm, else null / empty
     * @throws IllegalArgumentException naming the weight on a wrong size, a non-finite value, Dg ≠ D, or a weight
     *                                  given that the configuration has no use for
     */
    public DecodeGateWeights(int qHeads, int kvHeads, int headDim, DecodeGateConfig config, float[] wq, float[] wk,
                             float[] qNorm, float[] kNorm) {
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
        int dg = config.hiddenSize();
        if (config.queryPooling().hasLinear()) {
            String shape = config.queryPooling() == QueryHeadPooling.QProj ? "[Hkv, g, D, Dg]" : "[Hkv, D, Dg]";
            this.wq = Checks.allFinite("W_q (attngate_linear_q)",
                    Checks.length("W_q (attngate_linear_q) " + shape, wq, qWeightElements(config, qHeads, kvHeads,
                            headDim)).clone());
        } else {
            absent("W_q (attngate_linear_q)", wq, "query pooling Qavg has no Q linear");
            this.wq = null;
        }
        this.wk = Checks.allFinite("W_k (attngate_linear_k)", Checks.length("W_k (attngate_linear_k) [Hkv, kdup·D, Dg]",
                wk, Checks.arraySize("W_k", (long) kvHeads * config.kDup() * headDim * dg)).clone());
        if (config.useQkNorm()) {
            this.qNorm = Checks.allFinite("qNorm weight (attngate_qnorm)",
                    Checks.length("qNorm weight (attngate_qnorm) [Dg]", qNorm, dg).clone());
            this.kNorm = Checks.allFinite("kNorm weight (attngate_knorm)",
                    Checks.length("kNorm weight (attngate_knorm) [Dg]", kNorm, dg).clone());
        } else {
            absent("qNorm weight (attngate_qnorm)", qNorm, "useQkNorm is false");
            absent("kNorm weight (attngate_knorm)", kNorm, "useQkNorm is false");
            this.qNorm = null;
            this.kNorm = null;
        }
    }

    private static void absent(String name, float[] w, String why) {
        if (w != null && w.length != 0) {
            throw new IllegalArgumentException(name + " was given with " + w.length + " elements, but " + why);
        }
    }

    /** Elements of {@code W_q}: Hkv·g·D·Dg (Qproj), Hkv·D·Dg (Qavgproj), 0 (Qavg). */
    public static int qWeightElements(DecodeGateConfig config, int qHeads, int kvHeads, int headDim) {
        long dg = config.hiddenSize();
        return switch (config.queryPooling()) {
            case QProj -> Checks.arraySize("W_q", (long) qHeads * headDim * dg);
            case QAvgProj -> Checks.arraySize("W_q", (long) kvHeads * headDim * dg);
            case QAvg -> 0;
        };
    }

    /** The float64 reference gate with these weights (widened exactly). */
    public DecodeGate toReference() {
        return new DecodeGate(qHeads, kvHeads, headDim, config, wq == null ? null : Floats.toDouble(wq), Floats.toDouble(wk),
                qNorm == null ? null : Floats.toDouble(qNorm), kNorm == null ? null : Floats.toDouble(kNorm));
    }

    public DecodeGateConfig config() {
        return config;
    }

    /** Hq. */
    public int qHeads() {
        return qHeads;
    }

    /** Hkv. */
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

    /** {@code W_q}, or null for Qavg. Not a copy: do not modify. */
    public float[] wq() {
        return wq;
    }

    /** {@code W_k [Hkv, kdup·D, Dg]}. Not a copy: do not modify. */
    public float[] wk() {
        return wk;
    }

    /** The q norm weight {@code [Dg]}, or null without qk norm. Not a copy: do not modify. */
    public float[] qNorm() {
        return qNorm;
    }

    /** The k norm weight {@code [Dg]}, or null without qk norm. Not a copy: do not modify. */
    public float[] kNorm() {
        return kNorm;
    }
}
