package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The analytic gradient of the distillation loss with respect to the gate weights matches central finite
 * differences in float64 (issue #2, acceptance 3).
 */
class GradientCheckTest {

    @ParameterizedTest(name = "{0} N={1} Hq={2} Hkv={3} D={4} Dg={5} B={6}")
    @CsvSource({
            "Qavg_Kmaxminavg, 37, 4, 2, 8, 8, 1",      // case B, GQA 2, partial block
            "Qavg_Kmaxminavg, 40, 4, 2, 8, 6, 2",      // case A (Dg != D), batch 2
            "Qmaxmin_Kavg,    33, 3, 1, 4, 4, 1",      // case A (qdup 2), GQA 3
            "Qavg_Kmin,       48, 2, 2, 6, 6, 1",      // case B, MHA
            "Qmaxminavg_Kmaxminavg, 20, 2, 1, 4, 8, 2"})
    void analyticGradientMatchesCentralDifferences(String type, int N, int Hq, int Hkv, int D, int Dg, int B) {
        Random rng = new Random(type.hashCode() * 31L + N);
        int block = 8;
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        GateConfig config = new GateConfig(GateType.parse(type), block, Dg, false, RopeConfig.of(10000, Dg));
        double[] wq = config.hasQLinear(D) ? Random64.normal(rng, config.qWeightElements(shape), 0.3) : null;
        double[] wk = Random64.normal(rng, config.kWeightElements(shape), 0.3);
        double[] q = Random64.normal(rng, shape.qElements(), 1);
        double[] k = Random64.normal(rng, shape.kvElements(), 1);
        int nb = shape.blocks(block);
        double[] target = new double[B * Hq * nb * nb];
        PooledAttentionTarget.compute(q, k, target, shape, block, shape.defaultScale());

        AttnGate gate = new AttnGate(shape, config, wq, wk);
        AttnGate.Forward forward = gate.forward(q, k);
        double[] dLogits = new double[forward.logits().length];
        DistillationLoss.klMean(forward.logits(), target, B, Hq, nb, dLogits);
        AttnGate.Gradients grads = gate.backward(forward, dLogits);

        check("W_k", wk, grads.wk(), rng, w -> loss(shape, config, wq, w, q, k, target));
        if (wq != null) {
            check("W_q", wq, grads.wq(), rng, w -> loss(shape, config, w, wk, q, k, target));
        } else {
            assertThat(grads.wq()).isNull();
        }
    }

    private static double loss(AttentionShape s, GateConfig c, double[] wq, double[] wk, double[] q, double[] k,
                               double[] target) {
        AttnGate.Forward f = new AttnGate(s, c, wq, wk).forward(q, k);
        return DistillationLoss.klMean(f.logits(), target, s.batch(), s.qHeads(), f.blocks(), null);
    }

    private static void check(String name, double[] w, double[] analytic, Random rng,
                              java.util.function.ToDoubleFunction<double[]> loss) {
        double h = 1e-5;
        double maxGrad = 0;
        for (double g : analytic) {
            maxGrad = Math.max(maxGrad, Math.abs(g));
        }
        assertThat(maxGrad).as("%s gradient is not identically zero", name).isGreaterThan(1e-8);
        for (int sample = 0; sample < 40; sample++) {
            int i = rng.nextInt(w.length);
            double[] plus = w.clone();
            double[] minus = w.clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (loss.applyAsDouble(plus) - loss.applyAsDouble(minus)) / (2 * h);
            assertThat(Math.abs(numeric - analytic[i]))
                    .as("%s[%d]: analytic %.10g vs numeric %.10g", name, i, analytic[i], numeric)
                    .isLessThanOrEqualTo(1e-7 * maxGrad + 1e-6 * Math.abs(numeric));
        }
    }
}
