package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad input gets an IllegalArgumentException naming the argument (issue #2, acceptance 4). */
class BadInputTest {
    private static final AttentionShape SHAPE = new AttentionShape(1, 16, 2, 1, 4);
    private static final double[] Q = new double[SHAPE.qElements()];
    private static final double[] KV = new double[SHAPE.kvElements()];

    @Test
    void mismatchedShapes() {
        assertThatThrownBy(() -> DenseAttention.causal(new double[5], KV, KV, new double[SHAPE.qElements()], SHAPE, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q has 5 elements, expected 128");
        assertThatThrownBy(() -> BlockSparseAttention.forward(Q, KV, new double[3], BlockMask.causal(1, 2, 4),
                new double[Q.length], SHAPE, 4, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("v has 3 elements");
        assertThatThrownBy(() -> BlockSparseAttention.forward(Q, KV, KV, BlockMask.causal(1, 2, 3),
                new double[Q.length], SHAPE, 4, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block mask is [1, 2, 3, 3], expected [1, 2, 4, 4]");
        GateConfig config = GateConfig.of(GateType.DEFAULT, 4, 4, 10000);
        assertThatThrownBy(() -> new AttnGate(SHAPE, config, null, new double[7]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("W_k (mask_linear_k)")
                .hasMessageContaining("expected 96");
        assertThatThrownBy(() -> new AttnGate(SHAPE, config, new double[4], new double[96]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no Q linear");
        assertThatThrownBy(() -> Pooling.pool(new double[10], new double[3], 1, 5, 1, 2, 4, List.of(Pool.AVG)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out has 3 elements, expected 4");
        assertThatThrownBy(() -> DistillationLoss.klMean(new double[8], new double[9], 1, 2, 2, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target has 9 elements");
        assertThatThrownBy(() -> DistillationLoss.klMean(new double[4], new double[] {0, 0, -0.5, 0}, 1, 1, 2, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("target must be a probability map (>= 0), found -0.5 at flat index 2");
        assertThatThrownBy(() -> DistillationLoss.klMean(new double[4], new double[4], 1, 0, 2, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("heads");
    }

    @Test
    void headCountsThatDoNotDivide() {
        assertThatThrownBy(() -> new AttentionShape(1, 16, 6, 4, 8))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("qHeads (Hq) = 6 is not a multiple of kvHeads (Hkv) = 4");
    }

    @Test
    void nonPositiveBlockSize() {
        assertThatThrownBy(() -> GateConfig.of(GateType.DEFAULT, 0, 4, 10000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blockSize must be > 0, got 0");
        assertThatThrownBy(() -> BlockSparseAttention.forward(Q, KV, KV, BlockMask.causal(1, 2, 4),
                new double[Q.length], SHAPE, -4, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blockSize must be > 0, got -4");
        assertThatThrownBy(() -> Pooling.pool(new double[4], new double[4], 1, 4, 1, 1, 0, List.of(Pool.MAX)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blockSize");
        assertThatThrownBy(() -> PooledAttentionTarget.compute(Q, KV, new double[32], SHAPE, 0, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blockSize");
    }

    @Test
    void nanInInputs() {
        double[] q = Q.clone();
        q[17] = Double.NaN;
        assertThatThrownBy(() -> DenseAttention.causal(q, KV, KV, new double[Q.length], SHAPE, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q contains NaN at flat index 17");
        double[] k = KV.clone();
        k[3] = Double.POSITIVE_INFINITY;
        assertThatThrownBy(() -> PooledAttentionTarget.compute(Q, k, new double[32], SHAPE, 4, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k contains Infinity");
        AttnGate gate = new AttnGate(SHAPE, GateConfig.of(GateType.DEFAULT, 4, 4, 10000), null, new double[96]);
        assertThatThrownBy(() -> gate.forward(q, KV))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q contains NaN at flat index 17");
        double[] scores = new double[2 * 16];
        scores[5] = Double.NaN;
        assertThatThrownBy(() -> BlockSelection.select(scores, 1, 2, 4, new SelectionRule.Threshold(0.1, false, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scores contain NaN at flat index 5");
        assertThatThrownBy(() -> DenseAttention.causal(Q, KV, KV, new double[Q.length], SHAPE, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale must be finite");
        assertThatThrownBy(() -> new SelectionRule.Threshold(Double.NaN, false, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threshold must be finite");
    }

    @Test
    void unknownGateType() {
        for (String bad : new String[]{"Kavgmax", "Qavg_Kavgmax", "Qavg_K", "Q_Kmax", "Qmean_Kmax", "qavg_kmax",
                "Qavgavg_Kmax", ""}) {
            assertThatThrownBy(() -> GateType.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown gate type '" + bad + "'");
        }
    }

    @Test
    void zeroLengthSequence() {
        assertThatThrownBy(() -> new AttentionShape(1, 0, 2, 1, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seqLen (N) must be > 0, got 0");
        assertThatThrownBy(() -> Pooling.pool(new double[0], new double[0], 1, 0, 1, 1, 4, List.of(Pool.MAX)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seqLen must be > 0, got 0");
    }

    @Test
    void badSelectionAndRopeSettings() {
        assertThatThrownBy(() -> new SelectionRule.TopK(0, false, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nzRatio must be in (0, 1]");
        assertThatThrownBy(() -> new SelectionRule.Threshold(1.5, false, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threshold must be in [0, 1]");
        assertThatThrownBy(() -> RopeConfig.of(10000, 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rotaryDim must be even");
        assertThatThrownBy(() -> BlockMask.of(1, 1, 2, new byte[]{1, 0, 2, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mask bits must be 0 or 1");
    }
}
