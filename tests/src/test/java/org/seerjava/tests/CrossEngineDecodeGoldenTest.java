package org.seerjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.DecodeOps;

/**
 * The spec's decode goldens G4 (decode target) and G5 (decode gate and K-compression cache) of docs/SPEC.md §10 on
 * every engine that implements {@link DecodeOps} (reference, cpu, cuda). The tiny configuration: B = 4, Hq = 2,
 * Hkv = 1, D = Dg = 4, θ = 10000, inputs and weights given by formulas; the expected values are the spec's (6
 * decimals), held to 2e-6 in float32. An engine that cannot run here is skipped with its reason (cuda fails instead
 * under {@code -Dseer.requireCuda=true}).
 */
class CrossEngineDecodeGoldenTest {
    private static final int B = 4;
    private static final int HQ = 2;
    private static final int D = 4;
    private static final double TOL = 2e-6;

    static Stream<String> engines() {
        return Stream.of("reference", "cpu", "cuda");
    }

    private static DecodeOps engine(String name) {
        return DecodeOps.of(AvailableEngine.require(name, " (decode goldens)"));
    }

    /** {@code q_nope[t, h, d] = sin(0.1·(t+1) + 0.3·h + 0.7·d)}, tokens [t0, t1). */
    private static float[] qNope(int t0, int t1) {
        float[] q = new float[(t1 - t0) * HQ * D];
        for (int t = t0; t < t1; t++) {
            for (int h = 0; h < HQ; h++) {
                for (int d = 0; d < D; d++) {
                    q[((t - t0) * HQ + h) * D + d] = (float) Math.sin(0.1 * (t + 1) + 0.3 * h + 0.7 * d);
                }
            }
        }
        return q;
    }

    /** {@code k_nope[t, 0, d] = cos(0.2·(t+1) − 0.5·d)}, tokens [t0, t1). */
    private static float[] kNope(int t0, int t1) {
        float[] k = new float[(t1 - t0) * D];
        for (int t = t0; t < t1; t++) {
            for (int d = 0; d < D; d++) {
                k[(t - t0) * D + d] = (float) Math.cos(0.2 * (t + 1) - 0.5 * d);
            }
        }
        return k;
    }

    /** x {@code [L, heads, D]} rotated token by token to its position, in double, then rounded. */
    private static float[] postRope(float[] x, int length, int heads) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i];
        }
        new Rope(RopeConfig.of(10000, D)).apply(y, 1, length, heads, D, Rope.positions(length));
        float[] out = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            out[i] = (float) y[i];
        }
        return out;
    }

    /** {@code W_q[j, i, o] = 0.5·cos(0.3 + 0.9·j + 0.23·i − 0.41·o)}, {@code W_k[i, o] = 0.5·sin(2 + 0.29·i − 0.7·o)}. */
    private static DecodeGateWeights gate(CompressedKeyPosition position) {
        float[] wq = new float[2 * D * D];
        for (int j = 0; j < 2; j++) {
            for (int i = 0; i < D; i++) {
                for (int o = 0; o < D; o++) {
                    wq[(j * D + i) * D + o] = (float) (0.5 * Math.cos(0.3 + 0.9 * j + 0.23 * i - 0.41 * o));
                }
            }
        }
        float[] wk = new float[12 * D];
        for (int i = 0; i < 12; i++) {
            for (int o = 0; o < D; o++) {
                wk[i * D + o] = (float) (0.5 * Math.sin(2 + 0.29 * i - 0.7 * o));
            }
        }
        DecodeGateConfig config = DecodeGateConfig.of(B, D, 10000).withDecodeKeyPosition(position);
        return new DecodeGateWeights(HQ, 1, D, config, wq, wk, null, null);
    }

    private static void assertClose(String engine, float[] actual, int from, double... expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[from + i]).as("%s element %d", engine, from + i).isCloseTo(expected[i],
                    within(TOL));
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void g4DecodeTarget(String name) {
        DecodeOps ops = engine(name);
        int length = 12;
        AttentionShape shape = new AttentionShape(1, length, HQ, 1, D);
        float[] q = postRope(qNope(0, length), length, HQ);
        float[] k = postRope(kNope(0, length), length, 1);
        float[] v = kNope(0, length);
        float[] out = new float[shape.qElements()];
        float[] target = new float[length * 3];
        ops.attentionWithDecodeTarget(q, k, v, out, target, shape, B, 0.5);
        for (int t = 0; t < 4; t++) {
            assertClose(name, target, t * 3, 0, 0, 0);
        }
        for (int t = 4; t < 8; t++) {
            assertClose(name, target, t * 3, 1, 0, 0);
        }
        assertClose(name, target, 8 * 3, 0.607567, 0.392433, 0);
        assertClose(name, target, 9 * 3, 0.653745, 0.346255, 0);
        assertClose(name, target, 10 * 3, 0.552679, 0.447321, 0);
        assertClose(name, target, 11 * 3, 0.443115, 0.556885, 0);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void g5PrefillStepsAndSelection(String name) {
        DecodeOps ops = engine(name);
        CompressedKeyCache cache = ops.kCompressionCache(gate(CompressedKeyPosition.CURRENT_TOKEN), 1, 16);
        CompressedKeyCache start = ops.kCompressionCache(gate(CompressedKeyPosition.BLOCK_START), 1, 16);
        cache.prefill(kNope(0, 10), 10);
        start.prefill(kNope(0, 10), 10);
        assertThat(cache.blocks()).isEqualTo(3);
        assertThat(cache.remainderLength()).isEqualTo(2);
        float[] kc = cache.compressed();
        assertClose(name, kc, 0, -0.802775, 0.998481, 2.330136, 2.565891);
        assertClose(name, kc, 4, 1.946351, 0.368632, -0.351051, 2.165764);
        assertClose(name, kc, 8, 0, 0, 0, 0);

        cache.push(kNope(10, 11));
        start.push(kNope(10, 11));
        assertThat(cache.blocks()).isEqualTo(3);
        assertThat(cache.remainderLength()).isEqualTo(3);
        float[] qGate = new float[D];
        ops.decodeGateQuery(cache.gate(), qNope(10, 11), qGate, 1, 10);
        assertClose(name, qGate, 0, -0.045101, 1.603314, -2.367723, 1.976387);
        float[] logits = new float[3];
        ops.decodeGateScores(cache.gate(), qGate, cache.compressed(), null, logits, 1, 3, false);
        assertClose(name, logits, 0, 0.595581, 2.807414, 0.0);
        float[] p = new float[3];
        cache.scores(qGate, new boolean[] {true, true, true}, p);
        assertClose(name, p, 0, 0.093601, 0.854803, 0.051597);
        assertThat(ops.decodeSelect(p, 1, 1, 3, B, null, new DecodeSelectionRule.TokenBudget(4)))
                .containsExactly(false, true, true);
        assertThat(ops.decodeSelect(p, 1, 1, 3, B, null, new DecodeSelectionRule.Threshold(0.3)))
                .containsExactly(false, true, true);

        cache.push(kNope(11, 12));                              // completes block 2
        start.push(kNope(11, 12));
        assertThat(cache.remainderLength()).isZero();
        ops.decodeGateQuery(cache.gate(), qNope(11, 12), qGate, 1, 11);
        assertClose(name, cache.compressed(), 8, 0.169915, -0.089525, 0.256067, 0.308773);
        cache.scores(qGate, null, p);
        assertClose(name, p, 0, 0.032356, 0.950446, 0.017198);
        assertClose(name, start.compressed(), 0, -0.802775, 0.998481, 2.330136, 2.565891);
        assertClose(name, start.compressed(), 8, -0.132078, -0.080223, -0.277483, 0.311319);
        start.scores(qGate, null, p);
        assertClose(name, p, 0, 0.032311, 0.949110, 0.018579);
    }
}
