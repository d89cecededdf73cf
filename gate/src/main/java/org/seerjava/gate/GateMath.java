package org.seerjava.gate;

import org.seerjava.reference.AttnGate;
import org.seerjava.reference.DistillationLoss;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Rope;

/**
 * The AttnGate forward pass starting from already pooled features, in float64, and the distillation loss with
 * its gradients. The model is frozen, so the pooled pre-RoPE Q/K of a window never change during training: the
 * trainer pools once and runs only the (tiny) linears, block RoPE and logits per step. The arithmetic follows
 * {@link AttnGate#forward} operation for operation (same loops, same summation order), so the logits are
 * bit-identical; the backward pass is the reference's {@link AttnGate#backward}.
 */
public final class GateMath {
    private GateMath() {
    }

    /** Loss and gradients of one sample (or batch). {@code dWq} is null when the gate has no Q linear. */
    public record LossAndGradients(double loss, double[] dWq, double[] dWk) {
    }

    /**
     * Gate forward from pooled features.
     *
     * @param qPooled {@code [B, nb, Hq, qdup·D]}
     * @param kPooled {@code [B, nb, Hkv, kdup·D]}
     * @return the reference's forward record (pooled inputs, gate Q/K after linear and RoPE, masked logits)
     */
    public static AttnGate.Forward forward(GateSpec spec, GateParameters p, double[] qPooled, double[] kPooled,
                                           int batch, int nb) {
        GateConfig config = spec.gate();
        int Hq = spec.qHeads();
        int Hkv = spec.kvHeads();
        int g = Hq / Hkv;
        int D = spec.headDim();
        int Dg = config.hiddenSize();
        boolean hasQ = spec.hasQLinear();
        int keyHeads = hasQ ? Hkv : Hq;
        int qIn = config.type().qDup() * D;
        int kIn = config.type().kDup() * D;
        check("qPooled [B, nb, Hq, qdup·D]", qPooled, (long) batch * nb * Hq * qIn);
        check("kPooled [B, nb, Hkv, kdup·D]", kPooled, (long) batch * nb * Hkv * kIn);
        double[] qGate = hasQ ? AttnGate.multiHeadLinear(qPooled, p.wq(), batch * nb, Hq, Hq, qIn, Dg, 1) : qPooled.clone();
        double[] kGate = AttnGate.multiHeadLinear(kPooled, p.wk(), batch * nb, Hkv, keyHeads, kIn, Dg, keyHeads / Hkv);
        new Rope(config.rope()).rotateBlocks(qGate, kGate, batch, nb, Hq, keyHeads, Dg, config.blockSize(), +1);
        double scale = config.scale();
        double[] logits = new double[batch * Hq * nb * nb];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = hasQ ? h / g : h;
                for (int qBlock = 0; qBlock < nb; qBlock++) {
                    int qBase = ((b * nb + qBlock) * Hq + h) * Dg;
                    for (int kBlock = 0; kBlock < nb; kBlock++) {
                        int out = ((b * Hq + h) * nb + qBlock) * nb + kBlock;
                        if (kBlock > qBlock) {
                            logits[out] = AttnGate.MASKED_LOGIT;
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
        return new AttnGate.Forward(qPooled, kPooled, qGate, kGate, logits, nb);
    }

    /**
     * The distillation loss of one layer (KL 'mean', first nb/4 rows dropped; not yet ×10) and its gradients with
     * respect to the gate weights.
     *
     * @param target the pooled attention target {@code [B, Hq, nb, nb]}
     */
    public static LossAndGradients lossAndGradients(GateSpec spec, GateParameters p, double[] qPooled,
                                                    double[] kPooled, double[] target, int batch, int nb) {
        AttnGate.Forward f = forward(spec, p, qPooled, kPooled, batch, nb);
        double[] dLogits = new double[f.logits().length];
        double loss = DistillationLoss.klMean(f.logits(), target, batch, spec.qHeads(), nb, dLogits);
        AttnGate gate = new AttnGate(spec.shape(batch, nb * spec.blockSize()), spec.gate(), p.wq(), p.wk());
        AttnGate.Gradients grads = gate.backward(f, dLogits);
        return new LossAndGradients(loss, grads.wq(), grads.wk());
    }

    /** The loss alone (for finite differences and held-out evaluation). */
    public static double loss(GateSpec spec, GateParameters p, double[] qPooled, double[] kPooled, double[] target,
                              int batch, int nb) {
        AttnGate.Forward f = forward(spec, p, qPooled, kPooled, batch, nb);
        return DistillationLoss.klMean(f.logits(), target, batch, spec.qHeads(), nb, null);
    }

    private static void check(String what, double[] x, long expected) {
        if (x == null || x.length != expected) {
            throw new IllegalArgumentException(what + " has " + (x == null ? "null" : x.length)
                    + " elements, expected " + expected);
        }
    }
}
