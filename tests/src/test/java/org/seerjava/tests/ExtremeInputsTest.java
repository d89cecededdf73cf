package org.seerjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineArgs;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;

/**
 * Finite inputs from 1 to the largest float, in q, k, v and the gate weights, through every operation of every
 * engine: each engine either computes an output that is finite everywhere, or refuses with the reference's message to
 * the letter; and it refuses exactly when the reference does (the range rule of {@link EngineArgs}). Before the rule,
 * q of 1e38 made the CPU's gate scores NaN while the float64 reference returned finite ones.
 */
class ExtremeInputsTest {
    static final AttentionShape SHAPE = new AttentionShape(1, 130, 4, 2, 32);
    static final GateConfig GATE = GateConfig.of(GateType.DEFAULT, 64, 32, 10000);
    static final GateConfig GATE_Q = GateConfig.of(GateType.parse("Qavg_Kmaxmin"), 64, 16, 10000);

    record Call(String name, BiConsumer<Engine, float[]> call, int outLength) {
    }

    /** Uniform in [−magnitude, magnitude] (finite for every finite magnitude). */
    static float[] uniform(int n, long seed, float magnitude) {
        java.util.Random r = new java.util.Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((2 * r.nextDouble() - 1) * magnitude);
        }
        return x;
    }

    static List<Call> calls(float mq, float mk, float mv, float mw) {
        float[] q = uniform(SHAPE.qElements(), 1, mq);
        float[] k = uniform(SHAPE.kvElements(), 2, mk);
        float[] v = uniform(SHAPE.kvElements(), 3, mv);
        float[] wk = uniform(GATE.kWeightElements(SHAPE), 4, mw);
        float[] wq2 = uniform(GATE_Q.qWeightElements(SHAPE), 5, mw);
        float[] wk2 = uniform(GATE_Q.kWeightElements(SHAPE), 6, mw);
        int nb = SHAPE.blocks(64);
        int map = SHAPE.qHeads() * nb * nb;
        BlockMask mask = BlockMask.causal(1, SHAPE.qHeads(), nb);
        double scale = 1 / Math.sqrt(32);
        return List.of(
                new Call("denseCausal", (e, o) -> e.denseCausal(q, k, v, o, SHAPE, scale), SHAPE.qElements()),
                new Call("blockSparse", (e, o) -> e.blockSparse(q, k, v, mask, o, SHAPE, 64, scale), SHAPE.qElements()),
                new Call("attentionWithPooledTarget", (e, o) -> e.attentionWithPooledTarget(q, k, v, o, new float[map],
                        SHAPE, 64, scale), SHAPE.qElements()),
                new Call("gateScores (no Q linear)", (e, o) -> e.gateScores(q, k, null, wk, o, SHAPE, GATE, true), map),
                new Call("gateScores (Q linear) logits", (e, o) -> e.gateScores(q, k, wq2, wk2, o, SHAPE, GATE_Q, false),
                        map),
                new Call("pool", (e, o) -> e.pool(q, o, 1, SHAPE.seqLen(), 4, 32, 64, GATE.type().qPools()), nb * 4 * 32));
    }

    @Test
    void everyEngineComputesFiniteOutputsOrRefusesAsTheReferenceDoes() {
        Engine reference = Engines.byName("reference");
        List<Engine> engines = new ArrayList<>();
        for (EngineProvider p : Engines.providers()) {
            if (p.unavailableReason() != null) {
                System.out.println("SKIPPED engine " + p.name() + ": " + p.unavailableReason());
            } else if (!p.name().equals("reference")) {
                engines.add(Engines.byName(p.name()));
            }
        }
        float[] magnitudes = {1f, 1e8f, 1e15f, 1e18f, 1e19f, 1e20f, 1e30f, 1e37f, 1e38f, Float.MAX_VALUE};
        int refused = 0;
        int computed = 0;
        for (float m : magnitudes) {
            float[][] settings = {{m, 1, 1, 0.02f}, {1, m, 1, 0.02f}, {1, 1, m, 0.02f}, {m, m, 1, 0.02f},
                    {1, 1, 1, Math.min(m, 1e30f)}};
            for (float[] s : settings) {
                List<Call> calls = calls(s[0], s[1], s[2], s[3]);
                for (Call call : calls) {
                    String what = call.name() + " at |q|, |k|, |v|, |W| up to " + Arrays.toString(s);
                    float[] refOut = new float[call.outLength()];
                    Throwable refFailure = catchThrowable(() -> call.call().accept(reference, refOut));
                    if (refFailure == null) {
                        for (int i = 0; i < refOut.length; i++) {
                            assertThat(Float.isFinite(refOut[i])).as("reference %s: out[%d]", what, i).isTrue();
                        }
                        computed++;
                    } else {
                        assertThat(refFailure).as(what).isInstanceOf(IllegalArgumentException.class)
                                .hasMessageContaining("too large for float32");
                        refused++;
                    }
                    for (Engine engine : engines) {
                        float[] out = new float[call.outLength()];
                        Throwable failure = catchThrowable(() -> call.call().accept(engine, out));
                        if (refFailure == null) {
                            assertThat(failure).as("%s %s", engine.name(), what).isNull();
                            for (int i = 0; i < out.length; i++) {
                                assertThat(Float.isFinite(out[i])).as("%s %s: out[%d] = %s", engine.name(), what, i,
                                        out[i]).isTrue();
                            }
                        } else {
                            assertThat(failure).as("%s %s", engine.name(), what)
                                    .isInstanceOf(IllegalArgumentException.class);
                            assertThat(failure.getMessage()).as("%s %s", engine.name(), what)
                                    .isEqualTo(refFailure.getMessage());
                        }
                    }
                }
            }
        }
        assertThat(refused).as("refused calls").isPositive();
        assertThat(computed).as("computed calls").isPositive();
    }

    @Test
    void theLimitIsWhereTheBoundCrosses2To126() {
        double limit = EngineArgs.RANGE_LIMIT;
        assertThat(limit).isEqualTo(Math.scalb(1.0, 126));
        // D · |q| · |k| · max(1, scale) just inside and just outside the limit
        AttentionShape s = new AttentionShape(1, 4, 1, 1, 16);
        double edge = Math.sqrt(limit / 16);
        EngineArgs.attentionRange(s, 0.25, edge * 0.999, edge * 0.999, 1);
        assertThat(catchThrowable(() -> EngineArgs.attentionRange(s, 0.25, edge * 1.001, edge * 1.001, 1)))
                .hasMessageContaining("q and k too large for float32");
        assertThat(catchThrowable(() -> EngineArgs.attentionRange(s, 0.25, 1, 1, limit / 4 * 1.001)))
                .hasMessageContaining("N · max|v|");
    }
}
