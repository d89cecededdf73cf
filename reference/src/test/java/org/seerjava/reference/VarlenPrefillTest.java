package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Varlen batches in the reference (docs/SPEC.md §11): the spec's hand-computed goldens found again inside packed
 * batches (so blocks and gate positions restart at each sequence's first token), the batch operations reproduced bit
 * for bit by a varlen batch of equal lengths, and attention against an explicit masked softmax written directly on the
 * packed rows.
 */
class VarlenPrefillTest {
    private static final double TOL = 1e-6;   // the spec's goldens print six decimals

    /** x [total, width] from per-sequence parts, in order. */
    static double[] concat(double[]... parts) {
        int n = 0;
        for (double[] p : parts) {
            n += p.length;
        }
        double[] out = new double[n];
        int at = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @Test
    void g1PoolingRestartsBlocksAtEachSequence() {
        // sequence 0: G1's 10 tokens (blocks of 4, the last of 2); sequence 1: G1's 3-token prompt, 2nd channel 0
        double[] g1 = new double[10 * 2];
        for (int t = 0; t < 10; t++) {
            g1[t * 2] = t - 4.5;
            g1[t * 2 + 1] = (7 * t % 5) - 2;
        }
        double[] x = concat(g1, new double[] {1, 0, 2, 0, 6, 0});
        VarlenBatch batch = VarlenBatch.of(0, 10, 13);
        double[] out = new double[(3 + 1) * 6];
        VarlenPrefill.pool(x, out, batch, 1, 2, 4, List.of(Pool.MAX, Pool.MIN, Pool.AVG));
        assertThat(out).containsExactly(
                -1.5, 2, -4.5, -2, -3, -0.25,
                2.5, 2, -0.5, -2, 1, 0.25,
                4.5, 1, 3.5, -1, 4, 0,
                6, 0, 1, 0, 3, 0);                   // one partial block of 3, not the tail of sequence 0's
    }

    @Test
    void g2GateScoresAndMasksOfTheSecondSequence() {
        // sequence 0: 7 other tokens; sequence 1: G2's 10 tokens. RoPE restarts at 0 on sequence 1's first token.
        Random random = new Random(1);
        double[] q = concat(Random64.normal(random, 7 * 2 * 4, 1), Tiny.qNope(10, 2));
        double[] k = concat(Random64.normal(random, 7 * 4, 1), Tiny.kNope(10));
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(7, 10), 2, 1, 4);
        GateConfig config = new GateConfig(GateType.DEFAULT, 4, 4, false, Tiny.ROPE);
        int[] cuMaps = shape.batch().cuMaps(2, 4);
        assertThat(cuMaps).containsExactly(0, 2 * 2 * 2, 2 * 2 * 2 + 2 * 3 * 3);
        double[] logits = new double[cuMaps[2]];
        VarlenPrefill.gateScores(q, k, null, Tiny.prefillWk(), logits, shape, config, false);
        double m = AttnGate.MASKED_LOGIT;
        assertThat(Arrays.copyOfRange(logits, cuMaps[1], cuMaps[2])).containsExactly(new double[] {
                -0.845453, m, m, 0.223427, -0.669025, m, -1.240779, -0.133059, -0.451307,
                -0.496091, m, m, -0.727703, -0.632896, m, -0.426271, -0.637838, -0.405399}, within(TOL));
        double[] scores = new double[cuMaps[2]];
        VarlenPrefill.gateScores(q, k, null, Tiny.prefillWk(), scores, shape, config, true);
        assertThat(Arrays.copyOfRange(scores, cuMaps[1], cuMaps[2])).containsExactly(new double[] {
                1, 0, 0, 0.709396, 0.290604, 0, 0.160522, 0.485971, 0.353507,
                1, 0, 0, 0.476316, 0.523684, 0, 0.353306, 0.285936, 0.360758}, within(TOL));

        List<BlockMask> threshold = VarlenPrefill.select(scores, shape.batch(), 2, 4,
                new SelectionRule.Threshold(0.3, false, false));
        assertThat(threshold.get(1).toBytes()).containsExactly(1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1);
        List<BlockMask> lastDense = VarlenPrefill.select(scores, shape.batch(), 2, 4,
                new SelectionRule.Threshold(0.3, true, false));
        assertThat(lastDense.get(1).toBytes()).containsExactly(1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1);
        assertThat(lastDense.get(0)).as("sequence 0 has 2 blocks: both rows are its last two")
                .isEqualTo(BlockMask.causal(1, 2, 2));
        List<BlockMask> topK = VarlenPrefill.select(logits, shape.batch(), 2, 4,
                new SelectionRule.TopK(0.5, false, false));
        assertThat(topK.get(1).toBytes()).containsExactly(1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1);
        assertThat(topK.get(0).blocks()).isEqualTo(2);
    }

    @Test
    void g3PooledTargetOfTheLastSequence() {
        Random random = new Random(2);
        double[] q = concat(Random64.normal(random, 9 * 2 * 4, 1), Tiny.postRopeQ(16, 2));
        double[] k = concat(Random64.normal(random, 9 * 4, 1), Tiny.postRopeK(16));
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(9, 16), 2, 1, 4);
        int[] cuMaps = shape.batch().cuMaps(2, 4);
        double[] target = new double[cuMaps[2]];
        VarlenPrefill.pooledTarget(q, k, target, shape, 4, 0.5);
        assertThat(Arrays.copyOfRange(target, cuMaps[1], cuMaps[2])).containsExactly(new double[] {
                1, 0, 0, 0, 0.417429, 0.582571, 0, 0, 0.415459, 0.360357, 0.224184, 0,
                0.364675, 0.313306, 0.171609, 0.150410,
                1, 0, 0, 0, 0.459534, 0.540466, 0, 0, 0.426523, 0.356458, 0.217018, 0,
                0.372262, 0.289542, 0.176290, 0.161906}, within(TOL));
    }

    @Test
    void g6BlockSparseOutputOfTheMiddleSequence() {
        Random random = new Random(3);
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(5, 10, 3), 1, 1, 4);
        double[] q = concat(Random64.normal(random, 5 * 4, 1), Tiny.postRopeQ(10, 1), Random64.normal(random, 12, 1));
        double[] k = concat(Random64.normal(random, 5 * 4, 1), Tiny.postRopeK(10), Random64.normal(random, 12, 1));
        double[] v = concat(Random64.normal(random, 5 * 4, 1), Tiny.v(10), Random64.normal(random, 12, 1));
        List<BlockMask> masks = List.of(BlockMask.causal(1, 1, 2),
                BlockMask.of(1, 1, 3, new byte[] {1, 0, 0, 0, 1, 0, 1, 0, 1}), BlockMask.causal(1, 1, 1));
        double[] out = new double[18 * 4];
        VarlenPrefill.blockSparse(q, k, v, masks, out, shape, 4, 0.5);
        assertThat(Arrays.copyOfRange(out, 5 * 4, 15 * 4)).containsExactly(new double[] {
                0.479426, 0.295520, 0.099833, -0.099833, 0.638653, 0.475621, 0.293629, 0.099930,
                0.776342, 0.643497, 0.484998, 0.307164, 0.860717, 0.762486, 0.633857, 0.479959,
                0.991665, 0.997495, 0.963558, 0.891207, 0.947420, 0.984792, 0.982904, 0.941831,
                0.866059, 0.937327, 0.971226, 0.966406, 0.753451, 0.854949, 0.922363, 0.953005,
                0.720994, 0.641097, 0.535640, 0.408830, 0.666388, 0.635427, 0.579134, 0.499753}, within(TOL));
        // the first row of every sequence attends only to itself: its output is its own v
        for (int start : new int[] {0, 5, 15}) {
            assertThat(Arrays.copyOfRange(out, start * 4, start * 4 + 4))
                    .containsExactly(Arrays.copyOfRange(v, start * 4, start * 4 + 4), within(1e-15));
        }
    }

    /** Equal lengths: the packed layout is the batch layout, and every operation gives the batch's result exactly. */
    @Test
    void equalLengthsGiveTheBatchOperationsBitForBit() {
        Random random = new Random(4);
        int batch = 3;
        int n = 37;
        AttentionShape s = new AttentionShape(batch, n, 4, 2, 8);
        VarlenShape vs = new VarlenShape(VarlenBatch.of(0, n, 2 * n, 3 * n), 4, 2, 8);
        int bs = 8;
        int nb = s.blocks(bs);
        double[] q = Random64.normal(random, s.qElements(), 1);
        double[] k = Random64.normal(random, s.kvElements(), 1);
        double[] v = Random64.normal(random, s.kvElements(), 1);

        List<Pool> pools = List.of(Pool.MAX, Pool.AVG);
        double[] pooled = new double[batch * nb * 4 * 16];
        double[] pooledVarlen = new double[pooled.length];
        Pooling.pool(q, pooled, batch, n, 4, 8, bs, pools);
        VarlenPrefill.pool(q, pooledVarlen, vs.batch(), 4, 8, bs, pools);
        assertThat(pooledVarlen).containsExactly(pooled);

        for (GateConfig config : new GateConfig[] {
                new GateConfig(GateType.DEFAULT, bs, 8, false, RopeConfig.of(10000, 8)),               // case B
                new GateConfig(GateType.parse("Qmaxavg_Kmin"), bs, 6, false, RopeConfig.of(500, 6))}) {  // case A
            double[] wq = config.hasQLinear(8) ? Random64.normal(random, config.qWeightElements(s), 0.3) : null;
            double[] wk = Random64.normal(random, config.kWeightElements(s), 0.3);
            double[] logits = new AttnGate(s, config, wq, wk).forward(q, k).logits();
            double[] varlen = new double[logits.length];
            VarlenPrefill.gateScores(q, k, wq, wk, varlen, vs, config, false);
            assertThat(varlen).as(config.type().toString()).containsExactly(logits);
            SelectionRule rule = new SelectionRule.TopK(0.4, true, true);
            BlockMask mask = BlockSelection.select(logits, batch, 4, nb, rule);
            List<BlockMask> masks = VarlenPrefill.select(varlen, vs.batch(), 4, bs, rule);
            for (int b = 0; b < batch; b++) {
                byte[] bits = Arrays.copyOfRange(mask.toBytes(), b * 4 * nb * nb, (b + 1) * 4 * nb * nb);
                assertThat(masks.get(b)).isEqualTo(BlockMask.of(1, 4, nb, bits));
            }
            double[] sparse = new double[s.qElements()];
            double[] sparseVarlen = new double[s.qElements()];
            BlockSparseAttention.forward(q, k, v, mask, sparse, s, bs, 0.3);
            VarlenPrefill.blockSparse(q, k, v, masks, sparseVarlen, vs, bs, 0.3);
            assertThat(sparseVarlen).containsExactly(sparse);
        }
        double[] dense = new double[s.qElements()];
        double[] denseVarlen = new double[s.qElements()];
        DenseAttention.causal(q, k, v, dense, s, 0.3);
        VarlenPrefill.denseCausal(q, k, v, denseVarlen, vs, 0.3);
        assertThat(denseVarlen).containsExactly(dense);
        double[] target = new double[batch * 4 * nb * nb];
        double[] targetVarlen = new double[target.length];
        PooledAttentionTarget.compute(q, k, target, s, bs, 0.3);
        VarlenPrefill.pooledTarget(q, k, targetVarlen, vs, bs, 0.3);
        assertThat(targetVarlen).containsExactly(target);
    }

    /**
     * Attention of the packed rows against the explicit masked softmax written on packed indices: row t of sequence b
     * sees the keys c ∈ [cu[b], t] whose block (c − cu[b]) / bs its mask keeps (docs/SPEC.md §11.1).
     */
    @Test
    void attentionIsTheExplicitMaskedSoftmaxWithinEachSequence() {
        Random random = new Random(5);
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(1, 13, 8, 29, 2, 17), 6, 2, 5);
        int bs = 8;
        VarlenBatch batch = shape.batch();
        double[] q = Random64.normal(random, shape.qElements(), 1.2);
        double[] k = Random64.normal(random, shape.kvElements(), 1.2);
        double[] v = Random64.normal(random, shape.kvElements(), 1);
        List<BlockMask> masks = new ArrayList<>();
        for (int b = 0; b < batch.sequences(); b++) {
            masks.add(Random64.randomCausalMask(random, 1, 6, batch.blocks(b, bs), 0.6));   // some rows empty
        }
        double[] out = new double[shape.qElements()];
        VarlenPrefill.blockSparse(q, k, v, masks, out, shape, bs, 0.4);
        assertThat(Random64.maxAbsDiff(out, explicit(q, k, v, masks, shape, bs, 0.4))).isLessThan(1e-12);

        List<BlockMask> causal = new ArrayList<>();
        for (int b = 0; b < batch.sequences(); b++) {
            causal.add(BlockMask.causal(1, 6, batch.blocks(b, bs)));
        }
        double[] dense = new double[shape.qElements()];
        VarlenPrefill.denseCausal(q, k, v, dense, shape, 0.4);
        assertThat(Random64.maxAbsDiff(dense, explicit(q, k, v, causal, shape, bs, 0.4))).isLessThan(1e-12);
    }

    static double[] explicit(double[] q, double[] k, double[] v, List<BlockMask> masks, VarlenShape shape, int bs,
                             double scale) {
        VarlenBatch batch = shape.batch();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        double[] out = new double[shape.qElements()];
        for (int b = 0; b < batch.sequences(); b++) {
            int first = batch.start(b);
            for (int t = first; t < first + batch.length(b); t++) {
                for (int h = 0; h < hq; h++) {
                    int kh = h / shape.groupSize();
                    double max = Double.NEGATIVE_INFINITY;
                    double[] s = new double[t + 1];
                    for (int c = first; c <= t; c++) {
                        s[c] = Double.NEGATIVE_INFINITY;
                        if (masks.get(b).keep(0, h, (t - first) / bs, (c - first) / bs)) {
                            s[c] = 0;
                            for (int x = 0; x < d; x++) {
                                s[c] += q[(t * hq + h) * d + x] * k[(c * hkv + kh) * d + x] * scale;
                            }
                            max = Math.max(max, s[c]);
                        }
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue;                                   // no key: the row is zero
                    }
                    double sum = 0;
                    for (int c = first; c <= t; c++) {
                        sum += Math.exp(s[c] - max);
                    }
                    for (int c = first; c <= t; c++) {
                        double p = Math.exp(s[c] - max) / sum;
                        for (int x = 0; x < d; x++) {
                            out[(t * hq + h) * d + x] += p * v[(c * hkv + kh) * d + x];
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void densityCountsEverySequencesCausalTriangle() {
        List<BlockMask> masks = List.of(BlockMask.causal(1, 2, 3),                      // 2 · 6 kept of 12
                BlockMask.of(1, 2, 1, new byte[] {1, 0}));                             // 1 kept of 2
        assertThat(VarlenPrefill.density(masks)).isCloseTo(13.0 / 14.0, within(1e-15));
    }

    @Test
    void offsetsAndDerivedSizes() {
        VarlenBatch batch = VarlenBatch.ofLengths(1, 64, 65, 130);
        assertThat(batch.cuSeqLens()).containsExactly(0, 1, 65, 130, 260);
        assertThat(batch).isEqualTo(VarlenBatch.of(0, 1, 65, 130, 260));
        assertThat(batch.sequences()).isEqualTo(4);
        assertThat(batch.totalTokens()).isEqualTo(260);
        assertThat(batch.maxLength()).isEqualTo(130);
        assertThat(batch.uniform()).isFalse();
        assertThat(VarlenBatch.ofLengths(5, 5).uniform()).isTrue();
        assertThat(batch.lengths()).containsExactly(1, 64, 65, 130);
        assertThat(batch.start(2)).isEqualTo(65);
        assertThat(batch.length(3)).isEqualTo(130);
        assertThat(batch.cuBlocks(64)).containsExactly(0, 1, 2, 4, 7);
        assertThat(batch.totalBlocks(64)).isEqualTo(7);
        assertThat(batch.cuMaps(3, 64)).containsExactly(0, 3, 6, 18, 45);
        assertThat(batch.mapElements(3, 64)).isEqualTo(45);
        VarlenShape shape = new VarlenShape(batch, 4, 2, 16);
        assertThat(shape.qElements()).isEqualTo(260 * 64);
        assertThat(shape.kvElements()).isEqualTo(260 * 32);
        assertThat(shape.sequence(2)).isEqualTo(new AttentionShape(1, 65, 4, 2, 16));
        assertThat(shape.longestSequence()).isEqualTo(new AttentionShape(1, 130, 4, 2, 16));
        // a map size beyond an int (and beyond a long, with blocks of 1 token) is refused, not wrapped around
        VarlenBatch huge = VarlenBatch.ofLengths(1 << 30, (1 << 30) - 1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> huge.cuMaps(8, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block maps Σ_b [heads, nb_b, nb_b] of 2 sequences would need "
                        + Long.MAX_VALUE + " elements");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> huge.cuMaps(1, 64))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("would need " + (1L << 48) + " elements");   // at sequence 0 already
    }
}
