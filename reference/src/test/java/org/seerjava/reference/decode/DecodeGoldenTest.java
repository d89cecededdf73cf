package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.seerjava.reference.decode.TinyDecodeFixture.B;
import static org.seerjava.reference.decode.TinyDecodeFixture.D;
import static org.seerjava.reference.decode.TinyDecodeFixture.HKV;
import static org.seerjava.reference.decode.TinyDecodeFixture.HQ;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;

/** Goldens G4 (decode 1-D ground truth) and G5 (decode gate and K-compression cache) of docs/SPEC.md §10. */
class DecodeGoldenTest {
    /** The spec quotes 6 decimals. */
    private static final double TOL = 1e-6;

    private static void assertClose(double[] actual, int from, double... expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[from + i]).as("element %d", from + i).isCloseTo(expected[i], within(TOL));
        }
    }

    // ---- G4 ----------------------------------------------------------------------------------------------------

    private static final int L4 = 12;
    private static final int NB4 = 3;

    /** Post-RoPE q and k of the G4 sequence. */
    private static final double[] G4_Q = TinyDecodeFixture.postRope(TinyDecodeFixture.qNope(L4), L4, HQ);
    private static final double[] G4_K = TinyDecodeFixture.postRope(TinyDecodeFixture.kNope(L4), L4, HKV);

    private static AttentionShape g4Shape() {
        return new AttentionShape(1, L4, HQ, HKV, D);
    }

    @Test
    void g4GroundTruthRows() {
        double[] q = G4_Q.clone();
        double[] k = G4_K.clone();
        double[] target = new double[HKV * L4 * NB4];
        DecodeTarget.compute(q, k, target, g4Shape(), B, 0.5);

        for (int t = 0; t < 4; t++) {
            assertClose(target, t * NB4, 0, 0, 0);
        }
        for (int t = 4; t < 8; t++) {
            assertClose(target, t * NB4, 1, 0, 0);
        }
        assertClose(target, 8 * NB4, 0.607567, 0.392433, 0);
        assertClose(target, 9 * NB4, 0.653745, 0.346255, 0);
        assertClose(target, 10 * NB4, 0.552679, 0.447321, 0);
        assertClose(target, 11 * NB4, 0.443115, 0.556885, 0);
    }

    @Test
    void g4PerHeadRawMaximaRows8To11() {
        double[] q = G4_Q.clone();
        double[] k = G4_K.clone();
        double[] maxima = new double[HQ * L4 * NB4];
        DecodeTarget.headMaxima(q, k, maxima, g4Shape(), B, 0.5);
        double[][][] expected = {
                {{0.198052, 0.127923, 0.088280}, {0.192912, 0.122224, 0.077634}},
                {{0.185055, 0.099165, 0.106870}, {0.196940, 0.104309, 0.100204}},
                {{0.187630, 0.152459, 0.096631}, {0.188369, 0.129460, 0.099963}},
                {{0.119577, 0.171784, 0.089147}, {0.136689, 0.164588, 0.091647}},
        };
        for (int row = 8; row < 12; row++) {
            for (int h = 0; h < HQ; h++) {
                assertClose(maxima, (h * L4 + row) * NB4, expected[row - 8][h]);
            }
        }
    }

    // ---- G5 ----------------------------------------------------------------------------------------------------

    private static KCompressionCache prefilledCache(CompressedKeyPosition position) {
        KCompressionCache cache = new KCompressionCache(TinyDecodeFixture.gate(position), 1);
        cache.prefill(TinyDecodeFixture.kNope(10), 10);
        return cache;
    }

    /** Token t's pre-RoPE q {@code [1, Hq, D]} and k {@code [1, Hkv, D]}. */
    private static double[] qAt(int t) {
        return TinyDecodeFixture.tokens(TinyDecodeFixture.qNope(t + 1), 0, t + 1, HQ * D, t, t + 1);
    }

    private static double[] kAt(int t) {
        return TinyDecodeFixture.tokens(TinyDecodeFixture.kNope(t + 1), 0, t + 1, HKV * D, t, t + 1);
    }

    @Test
    void g5PrefillCompressesTwoBlocksAndKeepsTheRemainder() {
        KCompressionCache cache = prefilledCache(CompressedKeyPosition.CURRENT_TOKEN);
        assertThat(cache.blocks()).isEqualTo(3);
        assertThat(cache.length()).isEqualTo(10);
        assertThat(cache.remainderLength()).isEqualTo(2);
        double[] kc = cache.compressed();
        assertClose(kc, 0, -0.802775, 0.998481, 2.330136, 2.565891);
        assertClose(kc, 4, 1.946351, 0.368632, -0.351051, 2.165764);
        assertThat(java.util.Arrays.copyOfRange(kc, 8, 12)).containsOnly(0.0);
        double[] k = TinyDecodeFixture.kNope(10);
        assertThat(cache.remainder()).containsExactly(java.util.Arrays.copyOfRange(k, 8 * D, 10 * D));
    }

    @Test
    void g5StepAtTen() {
        KCompressionCache cache = prefilledCache(CompressedKeyPosition.CURRENT_TOKEN);
        DecodeGate gate = cache.gate();
        cache.push(kAt(10));
        assertThat(cache.blocks()).isEqualTo(3);
        assertThat(cache.remainderLength()).isEqualTo(3);
        assertThat(java.util.Arrays.copyOfRange(cache.compressed(), 8, 12)).containsOnly(0.0);

        double[] qGate = gate.query(qAt(10), 1, 10);
        assertClose(qGate, 0, -0.045101, 1.603314, -2.367723, 1.976387);
        double[] logits = gate.logits(qGate, cache.compressed(), 1, 3, null);
        assertClose(logits, 0, 0.595581, 2.807414, 0.0);
        double[] p = cache.scores(qGate, DecodeGate.blockAttentionMask(new int[]{0}, 11, B));
        assertClose(p, 0, 0.093601, 0.854803, 0.051597);

        boolean[] budget = DecodeSelection.select(p, 1, HKV, 3, B, null, new DecodeSelectionRule.TokenBudget(4));
        assertThat(budget).containsExactly(false, true, true);
        assertThat(DecodeSelection.effective(budget, 1, HKV, 3, B, new int[]{0})).containsExactly(true, true, true);
        boolean[] threshold = DecodeSelection.select(p, 1, HKV, 3, B, null, new DecodeSelectionRule.Threshold(0.3));
        assertThat(threshold).containsExactly(false, true, true);
    }

    @Test
    void g5StepAtElevenCompletesBlockTwoAtTheCurrentToken() {
        KCompressionCache cache = prefilledCache(CompressedKeyPosition.CURRENT_TOKEN);
        cache.push(kAt(10));
        cache.push(kAt(11));
        assertThat(cache.blocks()).isEqualTo(3);
        assertThat(cache.remainderLength()).isZero();
        double[] kc = cache.compressed();
        assertClose(kc, 8, 0.169915, -0.089525, 0.256067, 0.308773);
        double[] qGate = cache.gate().query(qAt(11), 1, 11);
        assertClose(cache.gate().logits(qGate, kc, 1, 3, null), 0, 0.831745, 4.211871, 0.199715);
        assertClose(cache.scores(qGate, null), 0, 0.032356, 0.950446, 0.017198);
    }

    @Test
    void g5StepAtElevenCompletesBlockTwoAtTheBlockStart() {
        KCompressionCache cache = prefilledCache(CompressedKeyPosition.BLOCK_START);
        cache.push(kAt(10));
        cache.push(kAt(11));
        double[] kc = cache.compressed();
        assertClose(kc, 0, -0.802775, 0.998481, 2.330136, 2.565891);
        assertClose(kc, 8, -0.132078, -0.080223, -0.277483, 0.311319);
        double[] qGate = cache.gate().query(qAt(11), 1, 11);
        assertClose(cache.gate().logits(qGate, kc, 1, 3, null), 0, 0.831745, 4.211871, 0.278367);
        assertClose(cache.scores(qGate, null), 0, 0.032311, 0.949110, 0.018579);
    }
}
