package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.BlockSelection;
import org.seerjava.reference.BlockSparseAttention;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Floats;

/**
 * The whole prefill graph's tasks (pool → gate → select → attention, as {@link TornadoPrefill} builds them) through
 * the emulator, against the reference pipeline: same mask, same output.
 */
class PrefillGraphTest {
    @Test
    void topKAndThresholdPrefillsMatchTheReferencePipeline() {
        AttentionShape shape = new AttentionShape(2, 333, 4, 2, 64);
        GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 64, 10_000);
        Random random = new Random(5);
        float[] q = TestData.gaussian(random, shape.qElements());
        float[] k = TestData.gaussian(random, shape.kvElements());
        float[] v = TestData.gaussian(random, shape.kvElements());
        float[] wk = TestData.gaussian(random, gate.kWeightElements(shape));
        for (int i = 0; i < wk.length; i++) {
            wk[i] *= 0.1f;
        }
        Rope rope = new Rope(RopeConfig.of(10_000, 64));
        double[] qRope = Floats.toDouble(q);
        double[] kRope = Floats.toDouble(k);
        rope.apply(qRope, 2, 333, 4, 64, Rope.positions(333));
        rope.apply(kRope, 2, 333, 2, 64, Rope.positions(333));
        double scale = 0.125;

        AttnGate ref = new AttnGate(shape, gate, null, Floats.toDouble(wk));
        AttnGate.Forward f = ref.forward(Floats.toDouble(q), Floats.toDouble(k));
        for (SelectionRule rule : new SelectionRule[] {new SelectionRule.TopK(0.4, true, true),
                                                       new SelectionRule.Threshold(0.2, false, false)}) {
            double[] scores = rule instanceof SelectionRule.TopK ? f.logits() : AttnGate.softmaxRows(f.logits(),
                    f.blocks());
            BlockMask refMask = BlockSelection.select(scores, 2, 4, f.blocks(), rule);
            double[] refOut = new double[shape.qElements()];
            BlockSparseAttention.forward(qRope, kRope, Floats.toDouble(v), refMask, refOut, shape, 64, scale);

            try (TornadoPrefill prefill = new TornadoPrefill(shape, gate, null, wk, rule, scale, true, false)) {
                prefill.load(q, k, Floats.toFloat(qRope), Floats.toFloat(kRope), v);
                KernelEmulator.run(prefill.tasks());
                assertThat(prefill.hostMask()).as("%s", rule).isEqualTo(refMask);
                assertThat(TestData.relativeError(prefill.output(), refOut)).isLessThan(1e-5);
            }
        }
    }

    @Test
    void badShapesAreNamed() {
        GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 80, 10_000);
        AttentionShape d80 = new AttentionShape(1, 128, 2, 2, 80);
        assertThatThrownBy(() -> new TornadoPrefill(d80, gate, new float[0], new float[0],
                new SelectionRule.TopK(0.5, true, true), 0.1, true, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("head dims")
                .hasMessageContaining("D = 80");
        GateConfig wide = GateConfig.of(GateType.DEFAULT, 128, 64, 10_000);
        AttentionShape d64 = new AttentionShape(1, 256, 2, 2, 64);
        assertThatThrownBy(() -> new TornadoPrefill(d64, wide, null, new float[0],
                new SelectionRule.TopK(0.5, true, true), 0.1, true, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block sizes up to 64");
        GateConfig ok = GateConfig.of(GateType.DEFAULT, 64, 64, 10_000);
        assertThatThrownBy(() -> new TornadoPrefill(d64, ok, null, new float[3],
                new SelectionRule.TopK(0.5, true, true), 0.1, true, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("W_k");
    }
}
