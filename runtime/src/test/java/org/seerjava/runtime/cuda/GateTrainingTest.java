package org.seerjava.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.gate.GateMath;
import org.seerjava.gate.GateParameters;
import org.seerjava.gate.GateSpec;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.llm.GateTraining;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;

/**
 * The gate's distillation loss and weight gradients on the GPU (fp32) against {@code GateMath} (float64, the
 * reference's AttnGate backward) on random pooled features and targets: both gate cases (no Q linear, one K linear
 * per query head; a Q linear with K linears per key/value head), GQA, block counts that are not multiples of the
 * GEMM tile, two windows summed with weights.
 */
class GateTrainingTest {
    @BeforeEach
    void gpu() {
        CudaRuntimeTest.assumeGpu();
    }

    static float[] rand(Random r, int n, double s) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * s);
        }
        return x;
    }

    static double[] d(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i];
        }
        return y;
    }

    /** A pooled target: every causal row a probability vector. */
    static float[] target(Random r, int hq, int nb) {
        float[] t = new float[hq * nb * nb];
        for (int h = 0; h < hq; h++) {
            for (int m = 0; m < nb; m++) {
                double sum = 0;
                for (int n = 0; n <= m; n++) {
                    double v = r.nextDouble() < 0.3 ? 0 : Math.exp(2 * r.nextGaussian());
                    t[(h * nb + m) * nb + n] = (float) v;
                    sum += v;
                }
                for (int n = 0; n <= m; n++) {
                    int i = (h * nb + m) * nb + n;
                    t[i] = sum > 0 ? (float) (t[i] / sum) : 0f;
                }
            }
        }
        return t;
    }

    static double relErr(float[] got, double[] want) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < want.length; i++) {
            double e = got[i] - want[i];
            num += e * e;
            den += want[i] * want[i];
        }
        return Math.sqrt(num / den);
    }

    @ParameterizedTest
    @CsvSource({"Qavg_Kmaxminavg, 64, 6, 2, 64, 37", "Qmaxmin_Kmaxmin, 32, 8, 2, 64, 70", "Qavg_Kmax, 128, 4, 4, 128, 65",
            "Qavg_Kmaxminavg, 128, 32, 8, 128, 200"})
    void lossAndGradientsMatchTheFloat64Reference(String type, int dg, int hq, int hkv, int d, int nb) {
        GateSpec spec = GateSpec.of(GateType.parse(type), 64, dg, 1, hq, hkv, d, RopeConfig.of(500000.0, d));
        Random r = new Random(nb * 31L + dg);
        GateParameters p = GateParameters.init(spec, 0.05, new SplittableRandom(nb));
        int fq = spec.gate().type().qDup() * d;
        int fk = spec.gate().type().kDup() * d;
        float[][] qp = {rand(r, nb * hq * fq, 1), rand(r, nb * hq * fq, 1)};
        float[][] kp = {rand(r, nb * hkv * fk, 1), rand(r, nb * hkv * fk, 1)};
        float[][] tg = {target(r, hq, nb), target(r, hq, nb)};
        float[] weights = {0.75f, 1.5f};
        double wantLoss = 0;
        double[] wantWq = spec.hasQLinear() ? new double[spec.wqElements()] : null;
        double[] wantWk = new double[spec.wkElements()];
        for (int w = 0; w < 2; w++) {
            // the reference on the fp32 values the GPU sees (weights rounded to fp32 as uploaded)
            GateParameters pf = new GateParameters(p.wq() == null ? null : d(p.wqFloats()), d(p.wkFloats()));
            GateMath.LossAndGradients ref = GateMath.lossAndGradients(spec, pf, d(qp[w]), d(kp[w]), d(tg[w]), 1, nb);
            wantLoss += ref.loss();
            for (int i = 0; i < wantWk.length; i++) {
                wantWk[i] += weights[w] * ref.dWk()[i];
            }
            if (wantWq != null) {
                for (int i = 0; i < wantWq.length; i++) {
                    wantWq[i] += weights[w] * ref.dWq()[i];
                }
            }
        }
        try (GateTraining gt = new GateTraining(spec.gate(), 1, hq, hkv, d)) {
            gt.setWeights(0, p.wq() == null ? null : p.wqFloats(), p.wkFloats());
            gt.zeroGradients();
            double loss = 0;
            for (int w = 0; w < 2; w++) {
                try (var cap = new GateTraining.LayerCapture(DeviceBuffer.of(qp[w]), DeviceBuffer.of(kp[w]),
                        DeviceBuffer.of(tg[w]), nb)) {
                    loss += gt.accumulate(0, cap, weights[w]);
                }
            }
            double eLoss = Math.abs(loss - wantLoss) / Math.abs(wantLoss);
            double eWk = relErr(gt.gradientWk(0), wantWk);
            double eWq = wantWq == null ? 0 : relErr(gt.gradientWq(0), wantWq);
            System.out.printf(Locale.ROOT, "[seer-runtime] GPU gate training %s Dg %d, %d/%d heads, D %d, nb %d%s: loss"
                    + " %.6f vs %.6f (rel %.1e), dW_k rel %.1e, dW_q rel %.1e%n", type, dg, hq, hkv, d, nb,
                    spec.hasQLinear() ? " (Q linear)" : "", loss, wantLoss, eLoss, eWk, eWq);
            assertTrue(eLoss < 1e-4, "loss " + loss + " vs " + wantLoss);
            assertTrue(eWk < 1e-3, "dW_k relative error " + eWk);
            assertTrue(eWq < 1e-3, "dW_q relative error " + eWq);
        }
    }
}
