package org.seerjava.gate;

import org.seerjava.reference.decode.DecodeDistillationLoss;
import org.seerjava.reference.decode.DecodeGateTraining;

/**
 * The decode gate's training forward from captured samples, in float64, with its loss and gradients: the
 * reference's {@link DecodeGateTraining} and {@link DecodeDistillationLoss}.
 */
public final class DecodeGateMath {
    private DecodeGateMath() {
    }

    /** Loss (one layer, one window, not yet ×10) and the gradients of the layer's trainable arrays. */
    public record LossAndGradients(double loss, DecodeGateTraining.Gradients gradients) {
    }

    private static DecodeGateTraining gate(DecodeGateSpec spec, DecodeGateParameters p) {
        return new DecodeGateTraining(spec.qHeads(), spec.kvHeads(), spec.headDim(), spec.gate(), p.wq(), p.wk(),
                p.qNorm(), p.kNorm());
    }

    /** The KL 'mean' loss of a layer's gate on a sample and its gradients. */
    public static LossAndGradients lossAndGradients(DecodeGateSpec spec, DecodeGateParameters p, DecodeGateSample s) {
        DecodeGateTraining g = gate(spec, p);
        double[] q = DistillationTrainer.toDouble(s.qNope());
        double[] pooled = DistillationTrainer.toDouble(s.kPooled());
        DecodeGateTraining.Forward f = g.forward(q, s.positions(), pooled, s.blocks());
        double[] dLogits = new double[f.logits().length];
        double loss = DecodeDistillationLoss.klMean(f.logits(), DistillationTrainer.toDouble(s.target()),
                spec.kvHeads() * s.positions().length, s.blocks(), dLogits);
        return new LossAndGradients(loss, g.backward(f, q, pooled, dLogits));
    }

    /** The loss alone (held-out evaluation). */
    public static double loss(DecodeGateSpec spec, DecodeGateParameters p, DecodeGateSample s) {
        DecodeGateTraining.Forward f = gate(spec, p).forward(DistillationTrainer.toDouble(s.qNope()), s.positions(),
                DistillationTrainer.toDouble(s.kPooled()), s.blocks());
        return DecodeDistillationLoss.klMean(f.logits(), DistillationTrainer.toDouble(s.target()),
                spec.kvHeads() * s.positions().length, s.blocks(), null);
    }
}
