package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.engine.Floats;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The gate's tasks (pool, linears, block RoPE, logits, softmax) through the emulator against {@link AttnGate}: with
 * and without the Q linear (Dg ≠ D or qdup &gt; 1 vs the default gate with Dg = D), GQA, B = 2, partial blocks.
 */
class GateKernelTest {
    static Stream<Arguments> gates() {
        return Stream.of(
                Arguments.of("Qavg_Kmaxminavg", 2, 150, 4, 2, 64, 64, 64),      // no Q linear, K linear per q head
                Arguments.of("Qavg_Kmaxminavg", 1, 200, 4, 1, 64, 32, 64),      // Dg ≠ D: Q linear
                Arguments.of("Qmaxavg_Kmin", 2, 77, 3, 1, 32, 48, 32),          // qdup 2
                Arguments.of("Qmaxminavg_Kmaxminavg", 1, 300, 2, 2, 128, 128, 64));
    }

    @ParameterizedTest(name = "{0} B={1} N={2} Hq={3} Hkv={4} D={5} Dg={6} block={7}")
    @MethodSource("gates")
    void logitsAndScoresMatchReference(String type, int b, int n, int hq, int hkv, int d, int dg, int block) {
        AttentionShape shape = new AttentionShape(b, n, hq, hkv, d);
        GateConfig cfg = new GateConfig(GateType.parse(type), block, dg, false,
                RopeConfig.of(500_000, dg));
        Random random = new Random(n + dg);
        float[] q = TestData.gaussian(random, shape.qElements());
        float[] k = TestData.gaussian(random, shape.kvElements());
        float[] wq = cfg.hasQLinear(d) ? scaled(TestData.gaussian(random, cfg.qWeightElements(shape)), 0.05f) : null;
        float[] wk = scaled(TestData.gaussian(random, cfg.kWeightElements(shape)), 0.05f);
        AttnGate ref = new AttnGate(shape, cfg, wq == null ? null : Floats.toDouble(wq), Floats.toDouble(wk));
        AttnGate.Forward f = ref.forward(Floats.toDouble(q), Floats.toDouble(k));
        int nb = f.blocks();

        for (boolean softmax : new boolean[] {false, true}) {
            SeerTasks.GateBuffers g = SeerTasks.gateBuffers(shape, cfg);
            if (wq != null) {
                Buffers.copyIn(wq, g.wq(), "wq");
            }
            Buffers.copyIn(wk, g.wk(), "wk");
            g.logits().init(Float.NaN);
            KernelEmulator.run(SeerTasks.gate(TestData.buffer(q), TestData.buffer(k), g, shape, cfg, softmax));
            float[] ours = Buffers.toFloats(g.logits());
            if (softmax) {
                double[] scores = AttnGate.softmaxRows(f.logits(), nb);
                assertThat(TestData.relativeError(ours, scores)).isLessThan(1e-5);
            } else {
                // causal entries compared; above the diagonal exactly float32's most negative finite value
                double diff = 0;
                double norm = 0;
                for (int i = 0; i < ours.length; i++) {
                    int kBlock = i % nb;
                    int qBlock = (i / nb) % nb;
                    if (kBlock > qBlock) {
                        assertThat(ours[i]).isEqualTo(-Float.MAX_VALUE);
                    } else {
                        diff += (ours[i] - f.logits()[i]) * (ours[i] - f.logits()[i]);
                        norm += f.logits()[i] * f.logits()[i];
                    }
                }
                assertThat(Math.sqrt(diff / norm)).isLessThan(1e-5);
            }
            if (g.qGate() != g.qPooled()) {              // without a Q linear RoPE rotates the pooled Q in place
                assertThat(TestData.relativeError(g.qPooled(), f.qPooled())).isLessThan(1e-6);
            }
            assertThat(TestData.relativeError(g.kPooled(), f.kPooled())).isLessThan(1e-6);
        }
    }

    private static float[] scaled(float[] x, float s) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= s;
        }
        return x;
    }

    @SuppressWarnings("unused")
    private static FloatArray unused() {
        return new FloatArray(1);
    }
}
