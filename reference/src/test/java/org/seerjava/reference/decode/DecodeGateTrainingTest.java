package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.Pool;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.RopeConfig;

/**
 * The decode gate's training forward against the inference gate row by row, its backward against central finite
 * differences of the KL loss, and the loss's conventions.
 */
class DecodeGateTrainingTest {
    static final int HQ = 6;
    static final int HKV = 2;
    static final int D = 8;
    static final int BS = 4;

    private static double[] random(Random r, int n, double scale) {
        return TinyDecodeFixture.random(r, n, scale);
    }

    private static DecodeGateConfig config(QueryHeadPooling pooling, boolean qkNorm) {
        return new DecodeGateConfig(pooling, DecodeGateConfig.DEFAULT_K_POOLS, BS, D, qkNorm, true,
                RopeConfig.of(500, 2), CompressedKeyPosition.CURRENT_TOKEN);
    }

    /** Weights {W_q, W_k, qNorm, kNorm} for a configuration (W_q and the norms null where absent). */
    private static double[][] weights(Random r, DecodeGateConfig c) {
        int wqn = switch (c.queryPooling()) {
            case QProj -> HQ * D * D;
            case QAvgProj -> HKV * D * D;
            case QAvg -> 0;
        };
        double[] qn = null;
        double[] kn = null;
        if (c.useQkNorm()) {
            qn = random(r, D, 0.5);
            kn = random(r, D, 0.5);
            for (int i = 0; i < D; i++) {
                qn[i] += 1;
                kn[i] += 1;
            }
        }
        return new double[][] {wqn == 0 ? null : random(r, wqn, 0.4), random(r, HKV * 3 * D * D, 0.4), qn, kn};
    }

    @ParameterizedTest
    @EnumSource(QueryHeadPooling.class)
    void logitsAreTheInferenceGatesRowByRowWithEarlierBlocksOnly(QueryHeadPooling pooling) {
        Random r = new Random(pooling.ordinal());
        for (boolean qkNorm : new boolean[] {false, true}) {
            DecodeGateConfig c = config(pooling, qkNorm);
            double[][] w = weights(r, c);
            int length = 19;
            int nb = 5;
            double[] k = random(r, length * HKV * D, 1);
            double[] pooled = new double[nb * HKV * 3 * D];
            Pooling.pool(k, pooled, 1, length, HKV, D, BS, c.kPools());
            int[] positions = {0, 3, 4, 9, 12, 18};
            double[] q = random(r, positions.length * HQ * D, 1);
            DecodeGateTraining training = new DecodeGateTraining(HQ, HKV, D, c, w[0], w[1], w[2], w[3]);
            double[] logits = training.forward(q, positions, pooled, nb).logits();

            DecodeGate gate = new DecodeGate(HQ, HKV, D, c, w[0], w[1], w[2], w[3]);
            double[] keys = gate.compressedKeys(k, 1, length, new int[] {0, 4, 8, 12, 16});
            for (int row = 0; row < positions.length; row++) {
                double[] qRow = java.util.Arrays.copyOfRange(q, row * HQ * D, (row + 1) * HQ * D);
                double[] expected = gate.logits(gate.query(qRow, 1, positions[row]), keys, 1, nb, null);
                for (int kh = 0; kh < HKV; kh++) {
                    for (int j = 0; j < nb; j++) {
                        double got = logits[(kh * positions.length + row) * nb + j];
                        if (j < positions[row] / BS) {
                            assertThat(got).isCloseTo(expected[kh * nb + j], within(1e-12));
                        } else {
                            assertThat(got).isEqualTo(DecodeGate.MASKED_LOGIT);
                        }
                    }
                }
            }
        }
    }

    /** The loss of a gate on fixed inputs, as a function of its weights. */
    private static double loss(DecodeGateConfig c, double[][] w, double[] q, int[] positions, double[] pooled,
                               int nb, double[] target, double[] dLogits) {
        DecodeGateTraining t = new DecodeGateTraining(HQ, HKV, D, c, w[0], w[1], w[2], w[3]);
        return DecodeDistillationLoss.klMean(t.forward(q, positions, pooled, nb).logits(), target,
                HKV * positions.length, nb, dLogits);
    }

    @ParameterizedTest
    @EnumSource(QueryHeadPooling.class)
    void gradientsMatchCentralFiniteDifferences(QueryHeadPooling pooling) {
        Random r = new Random(10 + pooling.ordinal());
        DecodeGateConfig c = config(pooling, true);
        double[][] w = weights(r, c);
        int nb = 6;
        int[] positions = {2, 9, 13, 17, 22, 23};           // row 0 sees no block: zero target, all masked
        double[] q = random(r, positions.length * HQ * D, 1);
        double[] pooled = random(r, nb * HKV * 3 * D, 1);
        double[] target = new double[HKV * positions.length * nb];
        for (int kh = 0; kh < HKV; kh++) {
            for (int row = 0; row < positions.length; row++) {
                int visible = positions[row] / BS;
                double sum = 0;
                for (int j = 0; j < visible; j++) {
                    sum += target[(kh * positions.length + row) * nb + j] = r.nextDouble();
                }
                for (int j = 0; j < visible; j++) {
                    target[(kh * positions.length + row) * nb + j] /= sum;
                }
            }
        }
        double[] dLogits = new double[target.length];
        loss(c, w, q, positions, pooled, nb, target, dLogits);
        DecodeGateTraining t = new DecodeGateTraining(HQ, HKV, D, c, w[0], w[1], w[2], w[3]);
        DecodeGateTraining.Gradients g = t.backward(t.forward(q, positions, pooled, nb), q, pooled, dLogits);
        double[][] grads = {g.wq(), g.wk(), g.qNorm(), g.kNorm()};
        String[] names = {"W_q", "W_k", "qNorm", "kNorm"};
        for (int a = 0; a < 4; a++) {
            if (w[a] == null) {
                assertThat(grads[a]).as(names[a]).isNull();
                continue;
            }
            for (int trial = 0; trial < 12; trial++) {
                int i = r.nextInt(w[a].length);
                double h = 1e-5;
                double keep = w[a][i];
                w[a][i] = keep + h;
                double up = loss(c, w, q, positions, pooled, nb, target, null);
                w[a][i] = keep - h;
                double down = loss(c, w, q, positions, pooled, nb, target, null);
                w[a][i] = keep;
                double fd = (up - down) / (2 * h);
                assertThat(grads[a][i]).as("%s[%d]", names[a], i).isCloseTo(fd, within(1e-7 + 1e-5 * Math.abs(fd)));
            }
        }
    }

    @Test
    void klMeanDividesByEveryElementAndZeroRowsAddNothing() {
        double[] logits = {0, 1, DecodeGate.MASKED_LOGIT, DecodeGate.MASKED_LOGIT, DecodeGate.MASKED_LOGIT,
                           DecodeGate.MASKED_LOGIT};
        double[] target = {0.25, 0.75, 0, 0, 0, 0};
        double[] grad = new double[6];
        double loss = DecodeDistillationLoss.klMean(logits, target, 2, 3, grad);
        double p0 = 1 / (1 + Math.E);
        double expected = (0.25 * (Math.log(0.25) - Math.log(p0)) + 0.75 * (Math.log(0.75) - Math.log(1 - p0))) / 6;
        assertThat(loss).isCloseTo(expected, within(1e-12));
        assertThat(grad[0]).isCloseTo((p0 - 0.25) / 6, within(1e-12));
        assertThat(grad[2]).isZero();
        assertThat(List.of(grad[3], grad[4], grad[5])).containsOnly(0.0);
        assertThat(DecodeGateConfig.DEFAULT_K_POOLS).containsExactly(Pool.MAX, Pool.MIN, Pool.AVG);
    }
}
