package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * The prefill gate's value types at the limits of their checks (the smallest value allowed is accepted, the next
 * one down refused, with the message), copies, a gate file's layer count, the selectors' names and the policy's
 * per-step report: the density of each (sequence, head) of a batch of two and the time of its two parts.
 */
class GateLimitsTest {
    static final RopeConfig ROPE = RopeConfig.of(10000, 8);

    @TempDir
    Path dir;

    @Test
    void modelDimsAndGateSpecsAcceptOneOfEachAndRefuseZero() {
        ModelDims one = new ModelDims(1, 1, 1, 1, ROPE);
        assertThat(one.layers()).isEqualTo(1);
        String dims = "model dims need positive layers/heads/head_dim and a rope config";
        assertThatThrownBy(() -> new ModelDims(0, 1, 1, 1, ROPE)).hasMessage(dims);
        assertThatThrownBy(() -> new ModelDims(1, 0, 1, 1, ROPE)).hasMessage(dims);
        assertThatThrownBy(() -> new ModelDims(1, 1, 0, 1, ROPE)).hasMessage(dims);
        assertThatThrownBy(() -> new ModelDims(1, 1, 1, 0, ROPE)).hasMessage(dims);
        assertThatThrownBy(() -> new ModelDims(1, 1, 1, 1, null)).hasMessage(dims);

        GateConfig c = new GateConfig(GateType.DEFAULT, 4, 8, false, ROPE);
        assertThat(new GateSpec(c, 1, 1, 1, 1).headDim()).isEqualTo(1);
        String spec = "gate spec needs positive layers, qHeads, kvHeads and headDim, got ";
        assertThatThrownBy(() -> new GateSpec(c, 0, 1, 1, 1)).hasMessage(spec + "0, 1, 1, 1");
        assertThatThrownBy(() -> new GateSpec(c, 1, 0, 1, 1)).hasMessage(spec + "1, 0, 1, 1");
        assertThatThrownBy(() -> new GateSpec(c, 1, 1, 0, 1)).hasMessage(spec + "1, 1, 0, 1");
        assertThatThrownBy(() -> new GateSpec(c, 1, 1, 1, 0)).hasMessage(spec + "1, 1, 1, 0");
    }

    @Test
    void optimiserScheduleAndSampleLimits() {
        AdamW.Settings zero = new AdamW.Settings(0, 0, Double.MIN_VALUE, 0);
        assertThat(zero.beta1()).isZero();
        String adam = "AdamW needs 0 <= beta < 1, eps > 0, weight decay >= 0, got ";
        assertThatThrownBy(() -> new AdamW.Settings(1, 0.5, 1e-8, 0)).hasMessage(adam + "1.0, 0.5, 1.0E-8, 0.0");
        assertThatThrownBy(() -> new AdamW.Settings(0.5, 1, 1e-8, 0)).hasMessage(adam + "0.5, 1.0, 1.0E-8, 0.0");
        assertThatThrownBy(() -> new AdamW.Settings(-0.1, 0.5, 1e-8, 0)).hasMessageStartingWith(adam);
        assertThatThrownBy(() -> new AdamW.Settings(0.5, -0.1, 1e-8, 0)).hasMessageStartingWith(adam);
        assertThatThrownBy(() -> new AdamW.Settings(0.5, 0.5, 0, 0)).hasMessage(adam + "0.5, 0.5, 0.0, 0.0");
        assertThatThrownBy(() -> new AdamW.Settings(0.5, 0.5, 1e-8, -1e-9)).hasMessageStartingWith(adam);
        AdamW a = new AdamW(List.of(new double[] {1, 2}), AdamW.Settings.defaults(0));
        assertThat(a.steps()).isZero();
        a.step(List.of(new double[] {0.5, -0.5}), 0.1);
        a.step(List.of(new double[] {0.5, -0.5}), 0.1);
        assertThat(a.steps()).isEqualTo(2);

        LrSchedule s = new LrSchedule(Double.MIN_VALUE, 0, 1);
        assertThat(s.total()).isEqualTo(1);
        String lr = "schedule needs lr > 0, warmup >= 0, steps > 0, got ";
        assertThatThrownBy(() -> new LrSchedule(1, 0, 0)).hasMessage(lr + "1.0, 0, 0");
        assertThatThrownBy(() -> new LrSchedule(1, -1, 1)).hasMessage(lr + "1.0, -1, 1");
        assertThatThrownBy(() -> new LrSchedule(0, 0, 1)).hasMessage(lr + "0.0, 0, 1");

        float[] f = new float[1];
        assertThat(new GateSample(f, f, f, 1).blocks()).isEqualTo(1);
        assertThatThrownBy(() -> new GateSample(f, f, f, 0)).hasMessage("gate sample needs pooled q, k, a target and nb > 0");
    }

    @Test
    void selectorsAtTheirLimitsAndTheirNames() {
        Engine cpu = Engines.byName("cpu");
        assertThat(new SinkLocalSelection(1.0, 1).blockSize()).isEqualTo(1);
        assertThatThrownBy(() -> new SinkLocalSelection(0, 4)).hasMessage("density must be in (0, 1], got 0.0");
        assertThatThrownBy(() -> new SinkLocalSelection(1.5, 4)).hasMessage("density must be in (0, 1], got 1.5");
        assertThatThrownBy(() -> new SinkLocalSelection(0.5, 0)).hasMessage("block size must be > 0, got 0");
        assertThat(new SinkLocalSelection(0.5, 4).name()).isEqualTo("sink-local");
        OracleSelection oracle = new OracleSelection(cpu, 0.5, 1);
        assertThat(oracle.blockSize()).isEqualTo(1);
        assertThat(oracle.name()).isEqualTo("oracle");
        assertThatThrownBy(() -> new OracleSelection(cpu, 0.5, 0)).hasMessage("block size must be > 0, got 0");
        assertThatThrownBy(() -> new OracleSelection(null, 0.5, 4)).hasMessage("engine must not be null");
        GateSet gates = GateSet.init(new ModelDims(2, 4, 2, 8, ROPE).spec(GateType.DEFAULT, 4, 8), 1);
        GateSelection g = GateSelection.topK(cpu, gates, 0.5);
        assertThat(g.name()).isEqualTo("gate");
        assertThat(g.rule()).isEqualTo(new SelectionRule.TopK(0.5, false, true));
        AttentionShape shape = new AttentionShape(1, 8, 4, 2, 8);
        LayerAttention in = new LayerAttention(shape, new float[shape.qElements()], new float[shape.kvElements()],
                new float[shape.qElements()], new float[shape.kvElements()], new float[shape.kvElements()], 0.35);
        assertThatThrownBy(() -> g.select(2, in)).hasMessage("layer 2 has no gate: the gate set has 2 layers");
        assertThatThrownBy(() -> g.select(-1, in)).hasMessage("layer -1 has no gate: the gate set has 2 layers");
        assertThat(g.select(1, in).blocks()).isEqualTo(2);
        // k = max(1, int((1 − √(1 − d)) · nb))
        assertThat(BlockSelector.topK(1.0, 4)).isEqualTo(4);
        assertThat(BlockSelector.topK(0.5, 10)).isEqualTo(2);
        assertThat(BlockSelector.topK(0.01, 10)).isEqualTo(1);
        // the sink-local mask of every (sequence, head): rows {0, i − k + 2 … i}
        BlockMask m = SinkLocalSelection.mask(2, 3, 5, 3);
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < 3; h++) {
                for (int i = 0; i < 5; i++) {
                    for (int j = 0; j < 5; j++) {
                        boolean want = j <= i && (j == 0 || j >= i - 1);
                        assertThat(m.keep(b, h, i, j)).as("b %d h %d (%d, %d)", b, h, i, j).isEqualTo(want);
                    }
                }
            }
        }
    }

    @Test
    void gateSetsCopiesLayerCountsAndShapes() throws Exception {
        ModelDims dims = new ModelDims(3, 4, 2, 8, ROPE);
        GateSpec withQ = dims.spec(GateType.DEFAULT, 4, 16);                      // Dg ≠ D: a Q linear
        GateSpec noQ = dims.spec(GateType.DEFAULT, 4, 8);
        GateSet q = GateSet.init(withQ, 2);
        GateSet k = GateSet.init(noQ, 2);
        assertThat(q.layer(0).wq()).isNotNull();
        assertThat(k.layer(0).wq()).isNull();
        GateSet copy = k.copy();
        assertThat(copy.spec()).isEqualTo(noQ);
        assertThat(copy.layer(2).wq()).isNull();
        assertThat(copy.layer(2).wk()).containsExactly(k.layer(2).wk()).isNotSameAs(k.layer(2).wk());
        GateSet qc = q.copy();
        assertThat(qc.layer(1).wq()).containsExactly(q.layer(1).wq()).isNotSameAs(q.layer(1).wq());
        long expected = 0;
        for (int l = 0; l < 3; l++) {
            expected += q.layer(l).wq().length + q.layer(l).wk().length;
        }
        assertThat(q.parameterCount()).isEqualTo(expected);
        GateParameters p = q.layer(0);
        assertThat(p.requireShape(withQ, 0)).isSameAs(p);
        assertThatThrownBy(() -> p.requireShape(noQ, 1)).hasMessageContaining("layer 1: gate")
                .hasMessageEndingWith(" has no Q linear, but mask_linear_q was given");
        assertThatThrownBy(() -> k.layer(0).requireShape(withQ, 2)).hasMessageContaining("layer 2: gate")
                .hasMessageEndingWith(" needs a Q linear (mask_linear_q), none given");
        assertThatThrownBy(() -> new GateSet(noQ, List.of(k.layer(0), k.layer(1), q.layer(2))))
                .hasMessageContaining("layer 2: gate");
        assertThatThrownBy(() -> new GateSet(noQ, List.of(k.layer(0)))).hasMessage("gate set has 1 layers, the model "
                + "has 3");

        Path file = dir.resolve("g.safetensors");
        q.save(file, Map.of());
        assertThat(GateSet.layersIn(file)).isEqualTo(3);
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.add("model.layers.7.self_attn.attn_gate.mask_linear_k.weight", DType.F32, new long[] {1}, new float[1]);
        w.add("model.layers.2.mlp.up_proj.weight", DType.F32, new long[] {1}, new float[1]);
        Path seven = dir.resolve("seven.safetensors");
        w.write(seven);
        assertThat(GateSet.layersIn(seven)).isEqualTo(8);
        SafeTensorsWriter none = new SafeTensorsWriter();
        none.add("model.layers.0.mlp.up_proj.weight", DType.F32, new long[] {1}, new float[1]);
        Path model = dir.resolve("model.safetensors");
        none.write(model);
        assertThatThrownBy(() -> GateSet.layersIn(model)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining("holds no gate tensor named");
    }

    @Test
    void eachStepReportsTheDensityOfEverySequenceAndHeadAndItsTimes() {
        Engine cpu = Engines.byName("cpu");
        AttentionShape shape = new AttentionShape(2, 20, 4, 2, 8);                 // nb = 5 at B = 4
        SplittableRandom r = new SplittableRandom(4);
        float[][] x = new float[5][];
        for (int i = 0; i < 5; i++) {
            x[i] = new float[i % 2 == 0 || i == 3 ? shape.qElements() : shape.kvElements()];
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] = (float) GateParameters.gaussian(r);
            }
        }
        float[] v = new float[shape.kvElements()];
        LayerAttention in = new LayerAttention(shape, x[0], x[1], x[2], x[1], v, 0.35);
        SeerAttentionPolicy oracle = SeerAttentionPolicy.oracle(cpu, 0.3, 4, 2, 4);
        assertThat(oracle.selector().name()).isEqualTo("oracle");
        assertThat(oracle.toString()).isEqualTo("seer(oracle, cpu)");
        long before = System.nanoTime();
        SeerAttentionPolicy.Step step = oracle.attendLayer(1, in, new float[shape.qElements()]);
        long took = System.nanoTime() - before;
        BlockMask mask = step.mask();
        assertThat(step.densityPerHead()).hasSize(8);
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < 4; h++) {
                int kept = 0;
                for (int i = 0; i < 5; i++) {
                    for (int j = 0; j <= i; j++) {
                        kept += mask.keep(b, h, i, j) ? 1 : 0;
                    }
                }
                assertThat(step.densityPerHead()[b * 4 + h]).as("b %d h %d", b, h).isEqualTo(kept / 15.0);
                sum += kept;
            }
        }
        assertThat(step.selectionNanos()).isBetween(0L, took);
        assertThat(step.attentionNanos()).isBetween(0L, took);
        // the statistics add both sequences of each head
        double[][] perHead = oracle.densityPerHead();
        for (int h = 0; h < 4; h++) {
            assertThat(perHead[1][h]).isCloseTo((step.densityPerHead()[h] + step.densityPerHead()[4 + h]) / 2,
                    within(1e-12));
        }
        assertThat(oracle.density()).isCloseTo(sum / (8 * 15), within(1e-12));
        assertThat(oracle.densityPerLayer()[1]).isCloseTo(sum / (8 * 15), within(1e-12));
        assertThat(oracle.densityPerLayer()[0]).isNaN();
        assertThat(perHead[0][0]).isNaN();
    }
}
