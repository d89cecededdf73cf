package org.seerjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;

/**
 * Every engine on the class path, through the same bad inputs (nulls, wrong lengths, NaN and ±∞ in the inputs,
 * bad sizes, block sizes and scales, masks of the wrong shape), fails the same way: an
 * {@link IllegalArgumentException} whose message names the argument and is the reference's message to the letter,
 * with the output left as it was. Well-formed calls of every operation succeed. An engine that cannot run here is
 * skipped with its reason printed.
 */
class EngineBadInputTest {
    /** N = 70: a partial second block of 64. */
    static final AttentionShape SHAPE = new AttentionShape(1, 70, 2, 1, 16);
    static final int BLOCK = 64;
    static final int NB = 2;
    static final double SCALE = 0.25;
    /** Case B (Dg = D, one key pool set): no W_q; W_k is [Hq, kdup·D, Dg] = [2, 48, 16]. */
    static final GateConfig GATE = GateConfig.of(GateType.DEFAULT, BLOCK, 16, 10000);
    static final SelectionRule TOP_K = new SelectionRule.TopK(0.5, false, true);

    /** The output's value before a call; a failed call must leave every element at it. */
    static final float UNTOUCHED = 7f;

    /**
     * One call of an engine operation.
     *
     * @param name      what the case does wrong ("" for a well-formed call)
     * @param message   a fragment the exception's message must contain (null: the call must succeed)
     * @param outLength elements of the output array handed to the call (0: the operation has none)
     * @param call      the call, given the engine and the output
     */
    record Case(String name, String message, int outLength, BiConsumer<Engine, float[]> call) {
        @Override
        public String toString() {
            return name;
        }
    }

    static float[] random(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    static float[] with(float[] x, int at, float value) {
        float[] y = x.clone();
        y[at] = value;
        return y;
    }

    static List<Case> cases() {
        float[] q = random(SHAPE.qElements(), 1);
        float[] k = random(SHAPE.kvElements(), 2);
        float[] v = random(SHAPE.kvElements(), 3);
        int qn = SHAPE.qElements();
        int map = 1 * 2 * NB * NB;                                   // [B, Hq, nb, nb]
        float[] wk = random(GATE.kWeightElements(SHAPE), 4);
        float[] scores = random(map, 5);
        float[] logits = random(map, 6);
        float[] target = new float[map];
        Arrays.fill(target, 0.25f);
        BlockMask mask = BlockMask.causal(1, 2, NB);
        int pooled = 1 * NB * 2 * 16;                                // x = q as [1, 70, 2, 16], one pool
        List<Pool> max = List.of(Pool.MAX);
        List<Case> c = new ArrayList<>();

        // pool
        c.add(new Case("pool", null, pooled, (e, o) -> e.pool(q, o, 1, 70, 2, 16, BLOCK, max)));
        c.add(new Case("pool: x null", "x must not be null", pooled, (e, o) -> e.pool(null, o, 1, 70, 2, 16, BLOCK, max)));
        c.add(new Case("pool: x too short", "x has 3 elements, expected 2240", pooled,
                (e, o) -> e.pool(new float[3], o, 1, 70, 2, 16, BLOCK, max)));
        c.add(new Case("pool: NaN in x", "x contains NaN at flat index 2000", pooled,
                (e, o) -> e.pool(with(q, 2000, Float.NaN), o, 1, 70, 2, 16, BLOCK, max)));
        c.add(new Case("pool: +inf in x", "x contains Infinity at flat index 5", pooled,
                (e, o) -> e.pool(with(q, 5, Float.POSITIVE_INFINITY), o, 1, 70, 2, 16, BLOCK, max)));
        c.add(new Case("pool: out too short", "out has 3 elements, expected " + pooled, 3,
                (e, o) -> e.pool(q, o, 1, 70, 2, 16, BLOCK, max)));
        c.add(new Case("pool: seqLen 0", "seqLen must be > 0, got 0", pooled, (e, o) -> e.pool(q, o, 1, 0, 2, 16, BLOCK, max)));
        c.add(new Case("pool: block size 0", "blockSize must be > 0, got 0", pooled,
                (e, o) -> e.pool(q, o, 1, 70, 2, 16, 0, max)));
        c.add(new Case("pool: no pools", "pools must name at least one", pooled,
                (e, o) -> e.pool(q, o, 1, 70, 2, 16, BLOCK, List.of())));
        c.add(new Case("pool: a pool twice", "pools must be distinct", 2 * pooled,
                (e, o) -> e.pool(q, o, 1, 70, 2, 16, BLOCK, List.of(Pool.MAX, Pool.MAX))));

        // gate scores
        c.add(new Case("gateScores", null, map, (e, o) -> e.gateScores(q, k, null, wk, o, SHAPE, GATE, true)));
        c.add(new Case("gateScores: shape null", "attention shape must not be null", map,
                (e, o) -> e.gateScores(q, k, null, wk, o, null, GATE, true)));
        c.add(new Case("gateScores: config null", "gate config must not be null", map,
                (e, o) -> e.gateScores(q, k, null, wk, o, SHAPE, null, true)));
        c.add(new Case("gateScores: q null", "q must not be null", map,
                (e, o) -> e.gateScores(null, k, null, wk, o, SHAPE, GATE, true)));
        c.add(new Case("gateScores: k too short", "k has 8 elements, expected 1120", map,
                (e, o) -> e.gateScores(q, new float[8], null, wk, o, SHAPE, GATE, true)));
        c.add(new Case("gateScores: NaN in q", "q contains NaN at flat index 100", map,
                (e, o) -> e.gateScores(with(q, 100, Float.NaN), k, null, wk, o, SHAPE, GATE, false)));
        c.add(new Case("gateScores: -inf in k", "k contains -Infinity at flat index 1119", map,
                (e, o) -> e.gateScores(q, with(k, 1119, Float.NEGATIVE_INFINITY), null, wk, o, SHAPE, GATE, false)));
        c.add(new Case("gateScores: W_k too short", "W_k (mask_linear_k) [2, kdup·D, Dg] has 5 elements, expected 1536",
                map, (e, o) -> e.gateScores(q, k, null, new float[5], o, SHAPE, GATE, false)));
        c.add(new Case("gateScores: NaN in W_k", "W_k (mask_linear_k) contains NaN at flat index 7", map,
                (e, o) -> e.gateScores(q, k, null, with(wk, 7, Float.NaN), o, SHAPE, GATE, false)));
        c.add(new Case("gateScores: W_q without a Q linear", "has no Q linear, but W_q (mask_linear_q) was given", map,
                (e, o) -> e.gateScores(q, k, new float[4], wk, o, SHAPE, GATE, false)));
        c.add(new Case("gateScores: out too short", "out has 3 elements, expected 8", 3,
                (e, o) -> e.gateScores(q, k, null, wk, o, SHAPE, GATE, false)));

        // selection
        c.add(new Case("select", null, 0, (e, o) -> e.select(scores, 1, 2, NB, TOP_K)));
        c.add(new Case("select: NaN in scores", "scores contain NaN at flat index 6", 0,
                (e, o) -> e.select(with(scores, 6, Float.NaN), 1, 2, NB, TOP_K)));
        c.add(new Case("select: scores too short", "scores has 7 elements, expected 8", 0,
                (e, o) -> e.select(new float[7], 1, 2, NB, TOP_K)));
        c.add(new Case("select: scores null", "scores must not be null", 0, (e, o) -> e.select(null, 1, 2, NB, TOP_K)));
        c.add(new Case("select: rule null", "selection rule must not be null", 0, (e, o) -> e.select(scores, 1, 2, NB, null)));
        c.add(new Case("select: 0 heads", "heads must be > 0, got 0", 0, (e, o) -> e.select(scores, 1, 0, NB, TOP_K)));

        // dense attention
        c.add(new Case("denseCausal", null, qn, (e, o) -> e.denseCausal(q, k, v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: q null", "q must not be null", qn, (e, o) -> e.denseCausal(null, k, v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: k null", "k must not be null", qn, (e, o) -> e.denseCausal(q, null, v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: v null", "v must not be null", qn, (e, o) -> e.denseCausal(q, k, null, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: out null", "out must not be null", 0, (e, o) -> e.denseCausal(q, k, v, null, SHAPE, SCALE)));
        c.add(new Case("denseCausal: q too short", "q has 5 elements, expected 2240", qn,
                (e, o) -> e.denseCausal(new float[5], k, v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: v too long", "v has 1121 elements, expected 1120", qn,
                (e, o) -> e.denseCausal(q, k, new float[1121], o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: out too short", "out has 1 elements, expected 2240", 1,
                (e, o) -> e.denseCausal(q, k, v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: shape null", "attention shape must not be null", qn,
                (e, o) -> e.denseCausal(q, k, v, o, null, SCALE)));
        c.add(new Case("denseCausal: NaN in q (last row)", "q contains NaN at flat index 2239", qn,
                (e, o) -> e.denseCausal(with(q, qn - 1, Float.NaN), k, v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: +inf in k", "k contains Infinity at flat index 17", qn,
                (e, o) -> e.denseCausal(q, with(k, 17, Float.POSITIVE_INFINITY), v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: -inf in v", "v contains -Infinity at flat index 1000", qn,
                (e, o) -> e.denseCausal(q, k, with(v, 1000, Float.NEGATIVE_INFINITY), o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: scale NaN", "scale must be finite, got NaN", qn,
                (e, o) -> e.denseCausal(q, k, v, o, SHAPE, Double.NaN)));
        c.add(new Case("denseCausal: scale +inf", "scale must be finite, got Infinity", qn,
                (e, o) -> e.denseCausal(q, k, v, o, SHAPE, Double.POSITIVE_INFINITY)));
        c.add(new Case("denseCausal: scale 0", "scale must be > 0, got 0.0", qn, (e, o) -> e.denseCausal(q, k, v, o, SHAPE, 0)));
        c.add(new Case("denseCausal: scale -1", "scale must be > 0, got -1.0", qn,
                (e, o) -> e.denseCausal(q, k, v, o, SHAPE, -1)));

        // block-sparse attention
        c.add(new Case("blockSparse", null, qn, (e, o) -> e.blockSparse(q, k, v, mask, o, SHAPE, BLOCK, SCALE)));
        c.add(new Case("blockSparse: mask null", "block mask must not be null", qn,
                (e, o) -> e.blockSparse(q, k, v, null, o, SHAPE, BLOCK, SCALE)));
        c.add(new Case("blockSparse: mask of 3 blocks", "block mask is [1, 2, 3, 3], expected [1, 2, 2, 2]", qn,
                (e, o) -> e.blockSparse(q, k, v, BlockMask.causal(1, 2, 3), o, SHAPE, BLOCK, SCALE)));
        c.add(new Case("blockSparse: mask of 1 head", "block mask is [1, 1, 2, 2], expected [1, 2, 2, 2]", qn,
                (e, o) -> e.blockSparse(q, k, v, BlockMask.causal(1, 1, 2), o, SHAPE, BLOCK, SCALE)));
        c.add(new Case("blockSparse: block size 0", "blockSize must be > 0, got 0", qn,
                (e, o) -> e.blockSparse(q, k, v, mask, o, SHAPE, 0, SCALE)));
        c.add(new Case("blockSparse: block size -64", "blockSize must be > 0, got -64", qn,
                (e, o) -> e.blockSparse(q, k, v, mask, o, SHAPE, -64, SCALE)));
        c.add(new Case("blockSparse: NaN in v", "v contains NaN at flat index 3", qn,
                (e, o) -> e.blockSparse(q, k, with(v, 3, Float.NaN), mask, o, SHAPE, BLOCK, SCALE)));
        c.add(new Case("blockSparse: scale NaN", "scale must be finite, got NaN", qn,
                (e, o) -> e.blockSparse(q, k, v, mask, o, SHAPE, BLOCK, Double.NaN)));

        // dense attention with the pooled target
        c.add(new Case("attentionWithPooledTarget", null, qn,
                (e, o) -> e.attentionWithPooledTarget(q, k, v, o, new float[map], SHAPE, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTarget: target too short", "target has 5 elements, expected 8", qn,
                (e, o) -> e.attentionWithPooledTarget(q, k, v, o, new float[5], SHAPE, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTarget: target null", "target must not be null", qn,
                (e, o) -> e.attentionWithPooledTarget(q, k, v, o, null, SHAPE, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTarget: block size 0", "blockSize must be > 0, got 0", qn,
                (e, o) -> e.attentionWithPooledTarget(q, k, v, o, new float[map], SHAPE, 0, SCALE)));
        c.add(new Case("attentionWithPooledTarget: +inf in k", "k contains Infinity at flat index 0", qn,
                (e, o) -> e.attentionWithPooledTarget(q, with(k, 0, Float.POSITIVE_INFINITY), v, o, new float[map],
                        SHAPE, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTarget: scale 0", "scale must be > 0", qn,
                (e, o) -> e.attentionWithPooledTarget(q, k, v, o, new float[map], SHAPE, BLOCK, 0)));

        // finite inputs whose float32 intermediates could overflow: refused alike by every engine (EngineArgs)
        float[] big = new float[qn];
        Arrays.fill(big, 1e15f);
        float[] bigKv = Arrays.copyOf(big, SHAPE.kvElements());
        c.add(new Case("denseCausal: |x| = 1e15 everywhere is inside the range", null, qn,
                (e, o) -> e.denseCausal(big, bigKv, bigKv, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: q·k near 1e40", "q and k too large for float32: the attention scores could "
                + "overflow (D · max|q| · max|k| · max(1, scale) = ", qn,
                (e, o) -> e.denseCausal(with(q, 3, 1e20f), with(k, 5, 1e20f), v, o, SHAPE, SCALE)));
        c.add(new Case("denseCausal: q of 3e38", "q too large for float32: the scaled query could overflow", qn,
                (e, o) -> e.denseCausal(with(q, 3, 3e38f), k, v, o, SHAPE, 4.0)));
        c.add(new Case("blockSparse: v of 1e37 over 70 keys", "v too large for float32: the softmax-weighted sum of "
                + "values could overflow (N · max|v| = 7.000e+38", qn,
                (e, o) -> e.blockSparse(q, k, with(v, 9, 1e37f), mask, o, SHAPE, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTarget: k of 1e38", "q and k too large for float32", qn,
                (e, o) -> e.attentionWithPooledTarget(q, with(k, 0, -1e38f), v, o, new float[map], SHAPE, BLOCK, SCALE)));
        c.add(new Case("gateScores: q of 1e38", "q too large for float32: gate block sums of average pooling could "
                + "overflow (B · max|q| = 6.400e+39", map,
                (e, o) -> e.gateScores(with(q, 100, 1e38f), k, null, wk, o, SHAPE, GATE, true)));
        c.add(new Case("gateScores: q and k of 1e19", "q, k and W_k too large for float32: the gate logits could "
                + "overflow", map, (e, o) -> e.gateScores(with(q, 1, 1e19f), with(k, 2, 1e19f), null, wk, o, SHAPE, GATE,
                false)));
        c.add(new Case("gateScores: W_k of 1e37", "k and W_k too large for float32: the gate key could overflow", map,
                (e, o) -> e.gateScores(q, k, null, with(wk, 0, 1e37f), o, SHAPE, GATE, false)));
        c.add(new Case("pool: x of 1e37 in blocks of 64", "x too large for float32: block sums of average pooling "
                + "could overflow (B · max|x| = 6.400e+38", pooled,
                (e, o) -> e.pool(with(q, 7, 1e37f), o, 1, 70, 2, 16, BLOCK, max)));

        // distillation loss
        c.add(new Case("distillationLoss", null, map, (e, o) -> e.distillationLoss(logits, target, o, 1, 2, NB)));
        c.add(new Case("distillationLoss: NaN in logits", "logits contains NaN at flat index 1", map,
                (e, o) -> e.distillationLoss(with(logits, 1, Float.NaN), target, o, 1, 2, NB)));
        c.add(new Case("distillationLoss: logits null", "logits must not be null", map,
                (e, o) -> e.distillationLoss(null, target, o, 1, 2, NB)));
        c.add(new Case("distillationLoss: negative target", "target must be a probability map (>= 0), found -0.5 at flat index 2",
                map, (e, o) -> e.distillationLoss(logits, with(target, 2, -0.5f), o, 1, 2, NB)));
        c.add(new Case("distillationLoss: +inf in target", "target contains Infinity at flat index 4", map,
                (e, o) -> e.distillationLoss(logits, with(target, 4, Float.POSITIVE_INFINITY), o, 1, 2, NB)));
        c.add(new Case("distillationLoss: dLogits too short", "dLogits has 3 elements, expected 8", 3,
                (e, o) -> e.distillationLoss(logits, target, o, 1, 2, NB)));
        c.add(new Case("distillationLoss: 0 blocks", "blocks must be > 0, got 0", map,
                (e, o) -> e.distillationLoss(logits, target, o, 1, 2, 0)));
        varlenCases(c);
        return c;
    }

    /** Sequences of 70 (a partial second block) and 3 tokens, packed: total 73, block maps 2·2² + 2·1² = 10. */
    static final VarlenShape VARLEN = new VarlenShape(VarlenBatch.ofLengths(70, 3), 2, 1, 16);

    /** The varlen operations (docs/SPEC.md §11): offsets, packed rows, per-sequence masks, values and range. */
    static void varlenCases(List<Case> c) {
        VarlenBatch batch = VARLEN.batch();
        int qn = VARLEN.qElements();                                // 73 · 32
        float[] q = random(qn, 11);
        float[] k = random(VARLEN.kvElements(), 12);
        float[] v = random(VARLEN.kvElements(), 13);
        int maps = batch.mapElements(2, BLOCK);
        float[] wk = random(GATE.kWeightElements(VARLEN.sequence(0)), 14);
        float[] scores = random(maps, 15);
        List<BlockMask> masks = List.of(BlockMask.causal(1, 2, 2), BlockMask.causal(1, 2, 1));
        List<Pool> max = List.of(Pool.MAX);
        int pooled = batch.totalBlocks(BLOCK) * 16;                  // x = k as [73, 1, 16], one pool

        c.add(new Case("denseCausalVarlen", null, qn, (e, o) -> e.denseCausalVarlen(q, k, v, o, VARLEN, SCALE)));
        c.add(new Case("denseCausalVarlen: shape null", "varlen shape must not be null", qn,
                (e, o) -> e.denseCausalVarlen(q, k, v, o, null, SCALE)));
        c.add(new Case("denseCausalVarlen: decreasing offsets", "cuSeqLens must be strictly increasing (every "
                + "sequence has at least one token): cuSeqLens[2] = 73 is not greater than cuSeqLens[1] = 80", qn,
                (e, o) -> e.denseCausalVarlen(q, k, v, o, new VarlenShape(VarlenBatch.of(0, 80, 73), 2, 1, 16), SCALE)));
        c.add(new Case("denseCausalVarlen: negative offset", "cuSeqLens[1] must be >= 0, got -3", qn,
                (e, o) -> e.denseCausalVarlen(q, k, v, o, new VarlenShape(VarlenBatch.of(0, -3, 73), 2, 1, 16), SCALE)));
        c.add(new Case("denseCausalVarlen: last offset is not the packed rows", "q [total, Hq, D] has 73 rows of 32 "
                + "elements, but the offsets end at cuSeqLens[2] = 72 (expected 2304 elements)", qn,
                (e, o) -> e.denseCausalVarlen(q, k, v, o, new VarlenShape(VarlenBatch.of(0, 70, 72), 2, 1, 16), SCALE)));
        c.add(new Case("denseCausalVarlen: k one element long", "k [total, Hkv, D] has 1169 elements, expected 1168 "
                + "(cuSeqLens[2] = 73 rows of 16)", qn,
                (e, o) -> e.denseCausalVarlen(q, Arrays.copyOf(k, 1169), v, o, VARLEN, SCALE)));
        c.add(new Case("denseCausalVarlen: out null", "out [total, Hq, D] must not be null", 0,
                (e, o) -> e.denseCausalVarlen(q, k, v, null, VARLEN, SCALE)));
        c.add(new Case("denseCausalVarlen: NaN in v", "v contains NaN at flat index 1100", qn,
                (e, o) -> e.denseCausalVarlen(q, k, with(v, 1100, Float.NaN), o, VARLEN, SCALE)));
        c.add(new Case("denseCausalVarlen: +inf in q (second sequence)", "q contains Infinity at flat index 2300", qn,
                (e, o) -> e.denseCausalVarlen(with(q, 2300, Float.POSITIVE_INFINITY), k, v, o, VARLEN, SCALE)));
        c.add(new Case("denseCausalVarlen: scale 0", "scale must be > 0, got 0.0", qn,
                (e, o) -> e.denseCausalVarlen(q, k, v, o, VARLEN, 0)));
        c.add(new Case("denseCausalVarlen: v of 1e37 over the longest sequence's 70 keys", "v too large for float32: "
                + "the softmax-weighted sum of values could overflow (N · max|v| = 7.000e+38", qn,
                (e, o) -> e.denseCausalVarlen(q, k, with(v, 9, 1e37f), o, VARLEN, SCALE)));

        c.add(new Case("blockSparseVarlen", null, qn, (e, o) -> e.blockSparseVarlen(q, k, v, masks, o, VARLEN, BLOCK,
                SCALE)));
        c.add(new Case("blockSparseVarlen: masks null", "block masks must not be null (expected one per sequence, B = 2)",
                qn, (e, o) -> e.blockSparseVarlen(q, k, v, null, o, VARLEN, BLOCK, SCALE)));
        c.add(new Case("blockSparseVarlen: one mask for two sequences", "block masks: 1 given, expected one per "
                + "sequence (B = 2)", qn, (e, o) -> e.blockSparseVarlen(q, k, v, masks.subList(0, 1), o, VARLEN, BLOCK,
                SCALE)));
        c.add(new Case("blockSparseVarlen: masks swapped", "block mask of sequence 0 is [1, 2, 1, 1], expected "
                + "[1, 2, 2, 2] (N_0 = 70, block 64)", qn, (e, o) -> e.blockSparseVarlen(q, k, v,
                List.of(masks.get(1), masks.get(0)), o, VARLEN, BLOCK, SCALE)));
        c.add(new Case("blockSparseVarlen: block size 0", "blockSize must be > 0, got 0", qn,
                (e, o) -> e.blockSparseVarlen(q, k, v, masks, o, VARLEN, 0, SCALE)));
        c.add(new Case("blockSparseVarlen: NaN in k", "k contains NaN at flat index 1167", qn,
                (e, o) -> e.blockSparseVarlen(q, with(k, 1167, Float.NaN), v, masks, o, VARLEN, BLOCK, SCALE)));

        c.add(new Case("attentionWithPooledTargetVarlen", null, qn,
                (e, o) -> e.attentionWithPooledTargetVarlen(q, k, v, o, new float[maps], VARLEN, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTargetVarlen: target of a batch layout", "target Σ_b [Hq, nb_b, nb_b] has 16 "
                + "elements, expected 10", qn, (e, o) -> e.attentionWithPooledTargetVarlen(q, k, v, o, new float[16],
                VARLEN, BLOCK, SCALE)));
        c.add(new Case("attentionWithPooledTargetVarlen: q and k of 1e20", "q and k too large for float32", qn,
                (e, o) -> e.attentionWithPooledTargetVarlen(with(q, 0, 1e20f), with(k, 0, 1e20f), v, o,
                        new float[maps], VARLEN, BLOCK, SCALE)));

        c.add(new Case("poolVarlen", null, pooled, (e, o) -> e.poolVarlen(k, o, batch, 1, 16, BLOCK, max)));
        c.add(new Case("poolVarlen: batch null", "varlen batch must not be null", pooled,
                (e, o) -> e.poolVarlen(k, o, null, 1, 16, BLOCK, max)));
        c.add(new Case("poolVarlen: x of another batch", "x [total, heads, dim] has 73 rows of 16 elements, but the "
                + "offsets end at cuSeqLens[3] = 80", pooled,
                (e, o) -> e.poolVarlen(k, o, VarlenBatch.ofLengths(70, 3, 7), 1, 16, BLOCK, max)));
        c.add(new Case("poolVarlen: out of a batch layout", "out [Σ nb_b, heads, dim·pools] has 64 elements, expected "
                + pooled, 64, (e, o) -> e.poolVarlen(k, o, batch, 1, 16, BLOCK, max)));
        c.add(new Case("poolVarlen: NaN in x", "x contains NaN at flat index 1150", pooled,
                (e, o) -> e.poolVarlen(with(k, 1150, Float.NaN), o, batch, 1, 16, BLOCK, max)));

        c.add(new Case("gateScoresVarlen", null, maps,
                (e, o) -> e.gateScoresVarlen(q, k, null, wk, o, VARLEN, GATE, true)));
        c.add(new Case("gateScoresVarlen: config null", "gate config must not be null", maps,
                (e, o) -> e.gateScoresVarlen(q, k, null, wk, o, VARLEN, null, true)));
        c.add(new Case("gateScoresVarlen: out of a batch layout", "out Σ_b [Hq, nb_b, nb_b] has 16 elements, expected "
                + "10", 16, (e, o) -> e.gateScoresVarlen(q, k, null, wk, o, VARLEN, GATE, false)));
        c.add(new Case("gateScoresVarlen: W_k too short", "W_k (mask_linear_k) [2, kdup·D, Dg] has 5 elements, expected "
                + "1536", maps, (e, o) -> e.gateScoresVarlen(q, k, null, new float[5], o, VARLEN, GATE, false)));
        c.add(new Case("gateScoresVarlen: NaN in q", "q contains NaN at flat index 2335", maps,
                (e, o) -> e.gateScoresVarlen(with(q, 2335, Float.NaN), k, null, wk, o, VARLEN, GATE, true)));

        c.add(new Case("selectVarlen", null, 0, (e, o) -> e.selectVarlen(scores, batch, 2, BLOCK, TOP_K)));
        c.add(new Case("selectVarlen: NaN in scores", "scores contain NaN at flat index 9", 0,
                (e, o) -> e.selectVarlen(with(scores, 9, Float.NaN), batch, 2, BLOCK, TOP_K)));
        c.add(new Case("selectVarlen: scores of a batch layout", "scores Σ_b [heads, nb_b, nb_b] has 8 elements, "
                + "expected 10", 0, (e, o) -> e.selectVarlen(new float[8], batch, 2, BLOCK, TOP_K)));
        c.add(new Case("selectVarlen: rule null", "selection rule must not be null", 0,
                (e, o) -> e.selectVarlen(scores, batch, 2, BLOCK, null)));
        c.add(new Case("selectVarlen: 0 heads", "heads must be > 0, got 0", 0,
                (e, o) -> e.selectVarlen(scores, batch, 0, BLOCK, TOP_K)));
    }

    static Stream<Arguments> enginesAndCases() {
        List<Arguments> args = new ArrayList<>();
        for (EngineProvider p : Engines.providers()) {
            for (Case c : cases()) {
                args.add(Arguments.of(p.name(), c));
            }
        }
        return args.stream();
    }

    /** The failure of a call (null when it succeeded), and the output it was given. */
    record Outcome(Throwable failure, float[] out) {
    }

    static Outcome run(Engine engine, Case c) {
        float[] out = c.outLength() == 0 ? null : new float[c.outLength()];
        if (out != null) {
            Arrays.fill(out, UNTOUCHED);
        }
        return new Outcome(catchThrowable(() -> c.call().accept(engine, out)), out);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("enginesAndCases")
    void everyEngineFailsAlikeOnBadInput(String engineName, Case c) {
        Engine engine = AvailableEngine.require(engineName, " (" + c.name() + ")");
        Outcome outcome = run(engine, c);
        if (c.message() == null) {
            assertThat(outcome.failure()).as("%s on a well-formed call", engineName).isNull();
            return;
        }
        assertThat(outcome.failure()).as("%s: %s", engineName, c.name()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(c.message());
        Outcome reference = run(Engines.byName("reference"), c);
        assertThat(outcome.failure().getMessage()).as("%s's message against the reference's", engineName)
                .isEqualTo(reference.failure().getMessage());
        if (outcome.out() != null && outcome.out().length == c.outLength()) {
            for (int i = 0; i < outcome.out().length; i++) {
                assertThat(outcome.out()[i]).as("%s: %s wrote out[%d] before failing", engineName, c.name(), i)
                        .isEqualTo(UNTOUCHED);
            }
        }
    }
}
