package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad offsets, packed tensors and masks of a varlen batch are refused with a message naming what is wrong. */
class VarlenBadInputTest {
    private static final VarlenShape SHAPE = new VarlenShape(VarlenBatch.ofLengths(3, 5), 2, 1, 4);

    private static void refused(Runnable call, String message) {
        assertThatThrownBy(call::run).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void badOffsets() {
        refused(() -> VarlenBatch.of((int[]) null), "cuSeqLens must not be null");
        refused(() -> VarlenBatch.of(), "cuSeqLens must have B + 1 >= 2 entries (0, …, total), got 0");
        refused(() -> VarlenBatch.of(0), "cuSeqLens must have B + 1 >= 2 entries (0, …, total), got 1");
        refused(() -> VarlenBatch.of(2, 10), "cuSeqLens[0] must be 0, got 2");
        refused(() -> VarlenBatch.of(0, 4, -3), "cuSeqLens[2] must be >= 0, got -3");
        refused(() -> VarlenBatch.of(0, 10, 7, 12), "cuSeqLens must be strictly increasing (every sequence has at "
                + "least one token): cuSeqLens[2] = 7 is not greater than cuSeqLens[1] = 10");
        refused(() -> VarlenBatch.of(0, 10, 10), "cuSeqLens[2] = 10 is not greater than cuSeqLens[1] = 10");
        refused(() -> VarlenBatch.ofLengths(), "lengths must name at least one sequence, got none");
        refused(() -> VarlenBatch.ofLengths((int[]) null), "lengths must name at least one sequence, got null");
        refused(() -> VarlenBatch.ofLengths(4, 0), "lengths[1] must be > 0, got 0");
        refused(() -> VarlenBatch.ofLengths(4, -2), "lengths[1] must be > 0, got -2");
        refused(() -> VarlenBatch.ofLengths(Integer.MAX_VALUE, 1),
                "lengths add up to more than 2147483647 tokens (2147483648 by sequence 1)");
        assertThatThrownBy(() -> SHAPE.batch().length(2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("sequence 2 is not in [0, B = 2)");
    }

    @Test
    void badShapes() {
        refused(() -> new VarlenShape(null, 2, 1, 4), "varlen batch must not be null");
        refused(() -> new VarlenShape(SHAPE.batch(), 6, 4, 4), "qHeads (Hq) = 6 is not a multiple of kvHeads (Hkv) = 4");
        refused(() -> new VarlenShape(SHAPE.batch(), 2, 1, 0), "headDim (D) must be > 0, got 0");
        refused(() -> new VarlenShape(VarlenBatch.ofLengths(1 << 20, 1 << 20), 64, 8, 128),
                "q [total, Hq, D] would need 17179869184 elements");
    }

    @Test
    void packedTensorsThatDoNotMatchTheOffsets() {
        double[] q = new double[8 * 8];
        double[] kv = new double[8 * 4];
        double[] out = new double[8 * 8];
        // the offsets end at 8 rows; q holds 7 (the last offset is not the packed total)
        refused(() -> VarlenPrefill.denseCausal(new double[7 * 8], kv, kv, out, SHAPE, 0.5),
                "q [total, Hq, D] has 7 rows of 8 elements, but the offsets end at cuSeqLens[2] = 8 (expected 64 elements)");
        refused(() -> VarlenPrefill.denseCausal(q, new double[31], kv, out, SHAPE, 0.5),
                "k [total, Hkv, D] has 31 elements, expected 32 (cuSeqLens[2] = 8 rows of 4)");
        refused(() -> VarlenPrefill.denseCausal(q, kv, null, out, SHAPE, 0.5), "v [total, Hkv, D] must not be null");
        refused(() -> VarlenPrefill.denseCausal(q, kv, kv, new double[9 * 8], SHAPE, 0.5),
                "out [total, Hq, D] has 9 rows of 8 elements");
        refused(() -> VarlenPrefill.denseCausal(q, kv, kv, out, null, 0.5), "varlen shape must not be null");
        refused(() -> VarlenPrefill.denseCausal(q, kv, kv, out, SHAPE, 0), "scale must be > 0, got 0.0");
        double[] nan = q.clone();
        nan[40] = Double.NaN;
        refused(() -> VarlenPrefill.denseCausal(nan, kv, kv, out, SHAPE, 0.5), "q contains NaN at flat index 40");
        refused(() -> VarlenPrefill.pool(new double[5], new double[4], null, 1, 1, 4, List.of(Pool.MAX)),
                "varlen batch must not be null");
        refused(() -> VarlenPrefill.pool(kv, new double[3], SHAPE.batch(), 1, 4, 4, List.of(Pool.MAX)),
                "out [Σ nb_b, heads, dim·pools] has 3 elements, expected 12");
        refused(() -> VarlenPrefill.pooledTarget(q, kv, new double[5], SHAPE, 4, 0.5),
                "target Σ_b [Hq, nb_b, nb_b] has 5 elements, expected 10");
        refused(() -> VarlenPrefill.select(new double[9], SHAPE.batch(), 2, 4, new SelectionRule.TopK(0.5, false, false)),
                "scores Σ_b [heads, nb_b, nb_b] has 9 elements, expected 10");
        refused(() -> VarlenPrefill.select(new double[10], SHAPE.batch(), 2, 4, null), "selection rule must not be null");
        GateConfig config = new GateConfig(GateType.DEFAULT, 4, 4, false, Tiny.ROPE);
        refused(() -> VarlenPrefill.gateScores(q, kv, null, new double[96], new double[9], SHAPE, config, true),
                "out Σ_b [Hq, nb_b, nb_b] has 9 elements, expected 10");
        refused(() -> VarlenPrefill.gateScores(q, kv, null, new double[95], new double[10], SHAPE, config, true),
                "W_k (mask_linear_k) [2, kdup·D, Dg] has 95 elements, expected 96");
    }

    @Test
    void masksOnePerSequence() {
        double[] q = new double[8 * 8];
        double[] kv = new double[8 * 4];
        double[] out = new double[8 * 8];
        BlockMask one = BlockMask.causal(1, 2, 1);
        BlockMask two = BlockMask.causal(1, 2, 2);
        refused(() -> VarlenPrefill.blockSparse(q, kv, kv, null, out, SHAPE, 4, 0.5),
                "block masks must not be null (expected one per sequence, B = 2)");
        refused(() -> VarlenPrefill.blockSparse(q, kv, kv, List.of(one), out, SHAPE, 4, 0.5),
                "block masks: 1 given, expected one per sequence (B = 2)");
        refused(() -> VarlenPrefill.blockSparse(q, kv, kv, java.util.Arrays.asList(one, null), out, SHAPE, 4, 0.5),
                "block mask of sequence 1 must not be null");
        refused(() -> VarlenPrefill.blockSparse(q, kv, kv, List.of(one, one), out, SHAPE, 4, 0.5),
                "block mask of sequence 1 is [1, 2, 1, 1], expected [1, 2, 2, 2] (N_1 = 5, block 4)");
        refused(() -> VarlenPrefill.blockSparse(q, kv, kv, List.of(BlockMask.causal(2, 2, 1), two), out, SHAPE, 4, 0.5),
                "block mask of sequence 0 is [2, 2, 1, 1], expected [1, 2, 1, 1]");
        refused(() -> VarlenPrefill.blockSparse(q, kv, kv, List.of(one, two), out, SHAPE, 0, 0.5),
                "blockSize must be > 0, got 0");
    }

    @Test
    void badLeftPadding() {
        refused(() -> LeftPadding.ofLengths(0, 1), "paddedLength (Lmax) must be > 0, got 0");
        refused(() -> LeftPadding.ofLengths(8), "lengths must name at least one sequence, got none");
        refused(() -> LeftPadding.ofLengths(8, 3, 9), "lengths[1] must be in [1, Lmax = 8], got 9");
        refused(() -> LeftPadding.ofLengths(8, 0), "lengths[0] must be in [1, Lmax = 8], got 0");
        refused(() -> LeftPadding.ofPadLengths(8, 2, 8), "padLengths[1] must be in [0, Lmax = 8), got 8");
        refused(() -> LeftPadding.ofPadLengths(8, -1), "padLengths[0] must be in [0, Lmax = 8), got -1");
        refused(() -> LeftPadding.ofAttentionMask(new int[] {0, 1, 1, 0}, 1, 4),
                "attention mask row 0 is not left-padded: position 3 is padding after a token");
        refused(() -> LeftPadding.ofAttentionMask(new int[] {0, 1, 1, 1, 0, 0, 0, 0}, 2, 4),
                "attention mask row 1 has no token");
        refused(() -> LeftPadding.ofAttentionMask(new int[] {0, 2, 1, 1}, 1, 4), "attention mask must be 0 or 1, found 2 at [0, 1]");
        refused(() -> LeftPadding.ofAttentionMask(new int[3], 1, 4), "attention mask [B, Lmax] has 3 elements, expected 4");
        LeftPadding padding = LeftPadding.ofLengths(4, 2, 4);
        refused(() -> padding.unpad(new float[7], 1), "padded [B, Lmax, row] has 7 elements, expected 8");
        refused(() -> padding.pad(new float[7], 2), "packed [total, row] has 7 elements, expected 12 (cuSeqLens[2] = 6 "
                + "rows of 2)");
        refused(() -> padding.pad(new float[7], 1), "packed [total, row] has 7 rows of 1 elements, but the offsets end "
                + "at cuSeqLens[2] = 6 (expected 6 elements)");
        refused(() -> padding.pad(new float[6], 0), "rowWidth must be > 0, got 0");
    }
}
