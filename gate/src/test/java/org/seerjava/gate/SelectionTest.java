package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.BlockSelection;
import org.seerjava.reference.BlockSparseAttention;
import org.seerjava.reference.GateType;
import org.seerjava.reference.PooledAttentionTarget;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Floats;
import org.seerjava.reference.engine.ReferenceEngine;

/** The three selections and the sparse policy against the reference definitions, on synthetic layer inputs. */
class SelectionTest {
    private static final Engine REF = new ReferenceEngine();
    private static final AttentionShape SHAPE = new AttentionShape(1, 300, 4, 2, 16);   // nb = 5, partial block

    private static float[] random(int n, SplittableRandom r) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) GateParameters.gaussian(r);
        }
        return x;
    }

    private static LayerAttention layer(SplittableRandom r) {
        return new LayerAttention(SHAPE, random(SHAPE.qElements(), r), random(SHAPE.kvElements(), r),
                random(SHAPE.qElements(), r), random(SHAPE.kvElements(), r), random(SHAPE.kvElements(), r), 0.25);
    }

    @Test
    void sinkLocalKeepsBlockZeroAndTheKMinusOneMostRecent() {
        BlockMask m = SinkLocalSelection.mask(1, 1, 6, 3);
        boolean[][] expected = {
                {true, false, false, false, false, false},
                {true, true, false, false, false, false},
                {true, true, true, false, false, false},
                {true, false, true, true, false, false},
                {true, false, false, true, true, false},
                {true, false, false, false, true, true}};
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                assertEquals(expected[i][j], m.keep(0, 0, i, j), "(" + i + ", " + j + ")");
            }
        }
        BlockMask k1 = SinkLocalSelection.mask(1, 1, 4, 1);
        assertEquals(1 + 2 + 2 + 2, k1.count(), "k = 1 keeps block 0 and the diagonal");
    }

    @Test
    void oracleIsTopKOfThePooledTargetWithDiagonal() {
        LayerAttention in = layer(new SplittableRandom(1));
        double density = 0.3;
        BlockMask got = new OracleSelection(REF, density, 64).select(0, in);
        double[] target = new double[4 * 5 * 5];
        PooledAttentionTarget.compute(Floats.toDouble(in.q()), Floats.toDouble(in.k()), target, SHAPE, 64, 0.25);
        BlockMask want = BlockSelection.select(target, 1, 4, 5, new SelectionRule.TopK(density, false, true));
        assertEquals(want, got);
        for (int h = 0; h < 4; h++) {
            for (int i = 0; i < 5; i++) {
                assertTrue(got.keep(0, h, i, i), "diagonal kept");
            }
        }
    }

    @Test
    void gateSelectionUsesTheGateScoresOfThePreRopeProjections() {
        SplittableRandom r = new SplittableRandom(2);
        LayerAttention in = layer(r);
        GateSpec spec = GateSpec.of(GateType.DEFAULT, 64, 16, 2, 4, 2, 16, RopeConfig.of(10000, 16));
        GateSet gates = GateSet.init(spec, 9);
        GateSelection sel = GateSelection.topK(REF, gates, 0.5);
        BlockMask got = sel.select(1, in);
        AttnGate gate = new AttnGate(SHAPE, spec.gate(), gates.layer(1).wq(), gates.layer(1).wk());
        double[] scores = gate.scores(Floats.toDouble(in.qPre()), Floats.toDouble(in.kPre()));
        assertArrayEquals(Floats.toFloat(scores), sel.lastScores(1), 1e-6f);
        assertEquals(BlockSelection.select(scores, 1, 4, 5, new SelectionRule.TopK(0.5, false, true)), got);
        GateSpec wrongHeads = GateSpec.of(GateType.DEFAULT, 64, 16, 2, 6, 2, 16, RopeConfig.of(10000, 16));
        GateSelection bad = GateSelection.topK(REF, GateSet.init(wrongHeads, 1), 0.5);
        assertThrows(IllegalArgumentException.class, () -> bad.select(0, in));
    }

    @Test
    void policyComputesBlockSparseAttentionAndRecordsDensity() {
        LayerAttention in = layer(new SplittableRandom(3));
        SeerAttentionPolicy p = SeerAttentionPolicy.sinkLocal(REF, 0.3, 64, 2, 4);
        float[] out = new float[SHAPE.qElements()];
        p.attend(1, in, out);
        int k = BlockSelector.topK(0.3, 5);
        BlockMask mask = SinkLocalSelection.mask(1, 4, 5, k);
        double[] want = new double[SHAPE.qElements()];
        BlockSparseAttention.forward(Floats.toDouble(in.q()), Floats.toDouble(in.k()), Floats.toDouble(in.v()), mask,
                want, SHAPE, 64, 0.25);
        assertArrayEquals(Floats.toFloat(want), out, 1e-6f);
        double expected = mask.density();
        assertEquals(expected, p.densityPerHead()[1][2], 1e-12);
        assertEquals(expected, p.densityPerLayer()[1], 1e-12);
        assertTrue(Double.isNaN(p.densityPerLayer()[0]), "layer 0 not run yet");
        assertEquals(expected, p.density(), 1e-12);
    }
}
