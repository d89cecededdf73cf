package org.seerjava.gate;

import org.seerjava.reference.AttnGate;
import org.seerjava.reference.DistillationLoss;

/**
 * The AttnGate forward pass starting from already pooled features, in float64, and the distillation loss with
 * its gradients. The model is frozen, so the pooled pre-RoPE Q/K of a window never change during training: the
 * trainer pools once and runs only the (tiny) linears, block RoPE and logits per step, the reference's
 * {@link AttnGate#forwardPooled}; the backward pass is the reference's {@link AttnGate#backward}.
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
        return gate(spec, p, batch, nb).forwardPooled(qPooled, kPooled);
    }

    /** The reference gate of one layer's parameters, for windows of nb blocks. */
    private static AttnGate gate(GateSpec spec, GateParameters p, int batch, int nb) {
        return new AttnGate(spec.shape(batch, nb * spec.blockSize()), spec.gate(), p.wq(), p.wk());
    }

    /**
     * The distillation loss of one layer (KL 'mean', first nb/4 rows dropped; not yet ×10) and its gradients with
     * respect to the gate weights.
     *
     * @param target the pooled attention target {@code [B, Hq, nb, nb]}
     */
    public static LossAndGradients lossAndGradients(GateSpec spec, GateParameters p, double[] qPooled,
                                                    double[] kPooled, double[] target, int batch, int nb) {
        AttnGate gate = gate(spec, p, batch, nb);
        AttnGate.Forward f = gate.forwardPooled(qPooled, kPooled);
        double[] dLogits = new double[f.logits().length];
        double loss = DistillationLoss.klMean(f.logits(), target, batch, spec.qHeads(), nb, dLogits);
        AttnGate.Gradients grads = gate.backward(f, dLogits);
        return new LossAndGradients(loss, grads.wq(), grads.wk());
    }

    /** The loss alone (for finite differences and held-out evaluation). */
    public static double loss(GateSpec spec, GateParameters p, double[] qPooled, double[] kPooled, double[] target,
                              int batch, int nb) {
        AttnGate.Forward f = forward(spec, p, qPooled, kPooled, batch, nb);
        return DistillationLoss.klMean(f.logits(), target, batch, spec.qHeads(), nb, null);
    }
}
