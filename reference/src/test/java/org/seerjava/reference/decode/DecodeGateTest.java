package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;

/** The decode gate's query branch, norms and masking (docs/SPEC.md §7.2). */
class DecodeGateTest {

    private static final int HQ = 4;
    private static final int HKV = 2;
    private static final int D = 4;

    private static DecodeGateConfig config(QueryHeadPooling pooling, boolean qkNorm, boolean rope) {
        return new DecodeGateConfig(pooling, DecodeGateConfig.DEFAULT_K_POOLS, 4, D, qkNorm, rope,
                RopeConfig.of(1e4, D), CompressedKeyPosition.CURRENT_TOKEN);
    }

    /**
     * Logits and scores for a batch of 2 with 2 kv heads and a masked block, by hand: q_gate · k_block · Dg^-½ per
     * (batch, kv head, block), the masked block at the masked logit and 0 in the softmax, each row summing to 1.
     */
    @Test
    void logitsAndScoresOfEveryBatchAndKvHead() {
        Random random = new Random(43);
        double[] wq = TinyDecodeFixture.random(random, HKV * 2 * D * D, 1.0);
        double[] wk = TinyDecodeFixture.random(random, HKV * 3 * D * D, 1.0);
        DecodeGate gate = new DecodeGate(HQ, HKV, D, config(QueryHeadPooling.QProj, false, false), wq, wk, null, null);
        int blocks = 3;
        double[] qGate = TinyDecodeFixture.random(random, 2 * HKV * D, 1.0);
        double[] keys = TinyDecodeFixture.random(random, 2 * blocks * HKV * D, 1.0);
        boolean[] real = {true, true, true, false, true, true};      // batch 1's first block is padding
        double[] logits = gate.logits(qGate, keys, 2, blocks, real);
        double[] scores = gate.scores(qGate, keys, 2, blocks, real);
        for (int b = 0; b < 2; b++) {
            for (int kh = 0; kh < HKV; kh++) {
                double[] e = new double[blocks];
                double sum = 0;
                for (int j = 0; j < blocks; j++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++) {
                        dot += qGate[(b * HKV + kh) * D + d] * keys[((b * blocks + j) * HKV + kh) * D + d];
                    }
                    int at = (b * HKV + kh) * blocks + j;
                    if (real[b * blocks + j]) {
                        assertThat(logits[at]).isCloseTo(dot / Math.sqrt(D), within(1e-12));
                        e[j] = Math.exp(dot / Math.sqrt(D));
                    } else {
                        assertThat(logits[at]).isEqualTo(DecodeGate.MASKED_LOGIT);
                    }
                    sum += e[j];
                }
                for (int j = 0; j < blocks; j++) {
                    assertThat(scores[(b * HKV + kh) * blocks + j]).isCloseTo(e[j] / sum, within(1e-12));
                }
            }
        }
    }

    @Test
    void qProjIsOneProjectionOfTheConcatenatedGroup() {
        Random random = new Random(41);
        double[] wq = TinyDecodeFixture.random(random, HKV * 2 * D * D, 1.0);
        double[] wk = TinyDecodeFixture.random(random, HKV * 3 * D * D, 1.0);
        DecodeGate gate = new DecodeGate(HQ, HKV, D, config(QueryHeadPooling.QProj, false, false), wq, wk, null, null);
        double[] q = TinyDecodeFixture.random(random, 2 * HQ * D, 1.0);
        double[] qGate = gate.query(q, 2, 17);
        for (int b = 0; b < 2; b++) {
            for (int kh = 0; kh < HKV; kh++) {
                for (int o = 0; o < D; o++) {
                    double expected = 0;
                    for (int c = 0; c < 2 * D; c++) {       // concat(q[kh·g], q[kh·g+1]) · W[kh] as [g·D, Dg]
                        expected += q[(b * HQ + kh * 2) * D + c] * wq[(kh * 2 * D + c) * D + o];
                    }
                    assertThat(qGate[(b * HKV + kh) * D + o]).isCloseTo(expected, within(1e-12));
                }
            }
        }
    }

    @Test
    void qAvgProjAndQAvgAverageTheGroupFirst() {
        Random random = new Random(42);
        double[] wq = TinyDecodeFixture.random(random, HKV * D * D, 1.0);
        double[] wk = TinyDecodeFixture.random(random, HKV * 3 * D * D, 1.0);
        DecodeGate avgProj = new DecodeGate(HQ, HKV, D, config(QueryHeadPooling.QAvgProj, false, false), wq, wk, null,
                null);
        DecodeGate avg = new DecodeGate(HQ, HKV, D, config(QueryHeadPooling.QAvg, false, false), null, wk, null, null);
        assertThat(avgProj.qWeightElements()).isEqualTo(HKV * D * D);
        assertThat(avg.qWeightElements()).isZero();
        double[] q = TinyDecodeFixture.random(random, HQ * D, 1.0);
        double[] projected = avgProj.query(q, 1, 0);
        double[] averaged = avg.query(q, 1, 0);
        for (int kh = 0; kh < HKV; kh++) {
            for (int i = 0; i < D; i++) {
                double mean = (q[(kh * 2) * D + i] + q[(kh * 2 + 1) * D + i]) / 2;
                assertThat(averaged[kh * D + i]).isCloseTo(mean, within(1e-15));
            }
            for (int o = 0; o < D; o++) {
                double expected = 0;
                for (int i = 0; i < D; i++) {
                    expected += averaged[kh * D + i] * wq[(kh * D + i) * D + o];
                }
                assertThat(projected[kh * D + o]).isCloseTo(expected, within(1e-12));
            }
        }
    }

    @Test
    void qkNormThenRopeAtTheTokenPosition() {
        Random random = new Random(43);
        double[] wk = TinyDecodeFixture.random(random, HKV * 3 * D * D, 1.0);
        double[] qNorm = {0.5, 1.5, -1.0, 2.0};
        double[] kNorm = {1.0, 1.0, 1.0, 1.0};
        DecodeGate gate = new DecodeGate(HQ, HKV, D, config(QueryHeadPooling.QAvg, true, true), null, wk, qNorm, kNorm);
        DecodeGate plain = new DecodeGate(HQ, HKV, D, config(QueryHeadPooling.QAvg, false, false), null, wk, null,
                null);
        double[] q = TinyDecodeFixture.random(random, HQ * D, 3.0);
        double[] expected = plain.query(q, 1, 0);
        Rope rope = new Rope(RopeConfig.of(1e4, D));
        for (int kh = 0; kh < HKV; kh++) {
            double meanSquare = 0;
            for (int i = 0; i < D; i++) {
                meanSquare += expected[kh * D + i] * expected[kh * D + i] / D;
            }
            for (int i = 0; i < D; i++) {
                expected[kh * D + i] = qNorm[i] * expected[kh * D + i] / Math.sqrt(meanSquare + 1e-6);
            }
            rope.rotate(expected, kh * D, 9, +1);
        }
        double[] actual = gate.query(q, 1, 9);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).isCloseTo(expected[i], within(1e-12));
        }
    }

    @Test
    void logitsAreRelativeInPositionWithRope() {
        // RoPE makes Qg(p)·Kc(P) depend on p − P only
        DecodeGate gate = TinyDecodeFixture.gate(CompressedKeyPosition.CURRENT_TOKEN);
        double[] q = TinyDecodeFixture.tokens(TinyDecodeFixture.qNope(1), 0, 1, 8, 0, 1);
        double[] k = TinyDecodeFixture.kNope(4);
        double near = gate.logits(gate.query(q, 1, 10), gate.compressedKeys(k, 1, 4, new int[]{4}), 1, 1, null)[0];
        double far = gate.logits(gate.query(q, 1, 1010), gate.compressedKeys(k, 1, 4, new int[]{1004}), 1, 1, null)[0];
        assertThat(far).isCloseTo(near, within(1e-9));
    }

    @Test
    void blocksWithoutRealTokensGetTheMaskedLogitAndZeroProbability() {
        DecodeGate gate = TinyDecodeFixture.gate(CompressedKeyPosition.CURRENT_TOKEN);
        double[] qGate = gate.query(TinyDecodeFixture.tokens(TinyDecodeFixture.qNope(1), 0, 1, 8, 0, 1), 1, 11);
        double[] kc = TinyDecodeFixture.random(new Random(44), 3 * 4, 1.0);
        boolean[] blockMask = DecodeGate.blockAttentionMask(new int[]{4}, 12, 4);
        assertThat(blockMask).containsExactly(false, true, true);
        assertThat(gate.logits(qGate, kc, 1, 3, blockMask)[0]).isEqualTo(DecodeGate.MASKED_LOGIT);
        double[] p = gate.scores(qGate, kc, 1, 3, blockMask);
        assertThat(p[0]).isZero();
        assertThat(p[1] + p[2]).isCloseTo(1.0, within(1e-15));
    }

    @Test
    void blockAttentionMaskMarksBlocksHoldingAnyRealToken() {
        assertThat(DecodeGate.blockAttentionMask(new int[]{0, 3, 4, 9}, 10, 4)).containsExactly(
                true, true, true,
                true, true, true,
                false, true, true,
                false, false, true);
    }

    @Test
    void configDefaultsAndNames() {
        DecodeGateConfig config = DecodeGateConfig.of(64, 128, 1e6);
        assertThat(config.queryPooling()).isEqualTo(QueryHeadPooling.QProj);
        assertThat(config.kPoolingName()).isEqualTo("Kmaxminavg");
        assertThat(config.kDup()).isEqualTo(3);
        assertThat(config.useRope()).isTrue();
        assertThat(config.useQkNorm()).isFalse();
        assertThat(config.decodeKeyPosition()).isEqualTo(CompressedKeyPosition.CURRENT_TOKEN);
        assertThat(config.rope().rotaryDim()).isEqualTo(128);
        assertThat(config.scale()).isEqualTo(1.0 / Math.sqrt(128));
        assertThat(QueryHeadPooling.parse("Qavgproj")).isEqualTo(QueryHeadPooling.QAvgProj);
        assertThat(CompressedKeyPosition.CURRENT_TOKEN.position(127, 64)).isEqualTo(127);
        assertThat(CompressedKeyPosition.BLOCK_START.position(127, 64)).isEqualTo(64);
    }
}
