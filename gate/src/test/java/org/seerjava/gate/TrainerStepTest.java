package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.GateType;

/**
 * The trainer's optimiser step against a hand computation: loss and gradients of the batch
 * ({@link DistillationTrainer#lossAndGradients}), global gradient-norm clipping to {@code maxGradNorm}, then the AdamW
 * formulas written out here, step by step. The two batches are chosen so that the first gradient is above the clip
 * and the second below it: a trainer that skips clipping (or clips the second step too, or clips per array) changes
 * the ratio of the two steps' gradients inside AdamW's moments and lands elsewhere.
 */
class TrainerStepTest {
    static final GateSpec SPEC = GateSetTest.TINY.spec(GateType.DEFAULT, 64, 64);

    /** Windows of random pooled q, k; targets one-hot on the diagonal ({@code sharp}) or uniform over the causal row. */
    static List<GateSample[]> windows(long seed, boolean sharp, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        int nb = 6;
        List<GateSample[]> windows = new ArrayList<>();
        for (int w = 0; w < count; w++) {
            GateSample[] layers = new GateSample[SPEC.layers()];
            for (int l = 0; l < SPEC.layers(); l++) {
                float[] q = new float[nb * 6 * 64];
                float[] k = new float[nb * 2 * 192];
                float[] t = new float[6 * nb * nb];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) GateParameters.gaussian(r);
                }
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) GateParameters.gaussian(r);
                }
                for (int row = 0; row < 6 * nb; row++) {
                    int i = row % nb;
                    for (int j = 0; j <= i; j++) {
                        t[row * nb + j] = sharp ? (j == i ? 1f : 0f) : 1f / (i + 1);
                    }
                }
                layers[l] = new GateSample(q, k, t, nb);
            }
            windows.add(layers);
        }
        return windows;
    }

    static double norm(List<double[]> grads) {
        double sq = 0;
        for (double[] g : grads) {
            for (double x : g) {
                sq += x * x;
            }
        }
        return Math.sqrt(sq);
    }

    /** Two AdamW steps written out (β = 0.9, 0.999, ε = 1e-8, no weight decay), clipping to {@code clip} or not. */
    static List<double[]> byHand(List<GateSample[]> a, List<GateSample[]> b, double[] lr, double clip) {
        GateSet g = GateSet.init(SPEC, 5);
        List<double[]> p = DistillationTrainer.parameters(g);
        List<double[]> m = new ArrayList<>();
        List<double[]> v = new ArrayList<>();
        for (double[] x : p) {
            m.add(new double[x.length]);
            v.add(new double[x.length]);
        }
        for (int t = 1; t <= 2; t++) {
            List<double[]> grads = DistillationTrainer.lossAndGradients(g, t == 1 ? a : b).gradients();
            double n = norm(grads);
            double f = clip > 0 && n > clip ? clip / (n + 1e-6) : 1;
            for (int a2 = 0; a2 < p.size(); a2++) {
                double[] x = p.get(a2);
                double[] gr = grads.get(a2);
                for (int i = 0; i < x.length; i++) {
                    double gi = gr[i] * f;
                    m.get(a2)[i] = 0.9 * m.get(a2)[i] + 0.1 * gi;
                    v.get(a2)[i] = 0.999 * v.get(a2)[i] + 0.001 * gi * gi;
                    double mh = m.get(a2)[i] / (1 - Math.pow(0.9, t));
                    double vh = v.get(a2)[i] / (1 - Math.pow(0.999, t));
                    x[i] -= lr[t - 1] * mh / (Math.sqrt(vh) + 1e-8);
                }
            }
        }
        return p;
    }

    @Test
    void stepClipsTheGlobalGradientNormThenAppliesAdamW() {
        List<GateSample[]> a = windows(11, true, 2);
        List<GateSample[]> b = windows(12, false, 2);
        GateSet g0 = GateSet.init(SPEC, 5);
        double na = norm(DistillationTrainer.lossAndGradients(g0, a).gradients());
        double nb = norm(DistillationTrainer.lossAndGradients(g0, b).gradients());
        double clip = Math.sqrt(na * nb);         // between the two norms
        assertTrue(na > 1.5 * clip || nb > 1.5 * clip, "norms " + na + ", " + nb + " too close to clip between");
        if (nb > na) {                            // first step above the clip, second below
            List<GateSample[]> swap = a;
            a = b;
            b = swap;
            double x = na;
            na = nb;
            nb = x;
        }

        GateSet g = GateSet.init(SPEC, 5);
        DistillationTrainer trainer = new DistillationTrainer(g, new DistillationTrainer.Settings(2, 1e-3, 0, 0, clip),
                AdamW.Settings.defaults(0));
        List<GateSample[]> first = a;
        List<GateSample[]> second = b;
        List<DistillationTrainer.StepLog> log = trainer.train(s -> s == 0 ? first : second, 0, null, null);
        double[] lr = {trainer.schedule().at(0), trainer.schedule().at(1)};
        assertEquals(1e-3, lr[0], 0);
        assertEquals(na, log.get(0).gradNorm(), 1e-12 * na, "the logged norm is the norm before clipping");
        assertEquals(DistillationTrainer.lossAndGradients(GateSet.init(SPEC, 5), a).loss(), log.get(0).loss(), 0);

        List<double[]> want = byHand(a, b, lr, clip);
        List<double[]> unclipped = byHand(a, b, lr, 0);
        List<double[]> got = DistillationTrainer.parameters(g);
        double differ = 0;
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i), got.get(i), 1e-12, "parameter array " + i);
            for (int j = 0; j < want.get(i).length; j++) {
                differ = Math.max(differ, Math.abs(want.get(i)[j] - unclipped.get(i)[j]));
            }
        }
        System.out.printf("gradient norms %.4f (clipped to %.4f), %.4f; clipped vs unclipped weights differ by %.2e%n",
                na, clip, nb, differ);
        assertTrue(differ > 1e-6, "clipping must matter for this test to mean anything: " + differ);
    }
}
