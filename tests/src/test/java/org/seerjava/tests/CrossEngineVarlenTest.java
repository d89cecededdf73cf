package org.seerjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;

/**
 * Every engine on the class path runs every varlen operation (docs/SPEC.md §11) on random batches against the
 * reference: lengths from 1 to 4,999 tokens, none a multiple of 64 (so every sequence ends in a partial block), GQA
 * 1–4, D = 64 and 128. Pooling, gate scores and logits, selection (top-k and a threshold that leaves rows empty, on the
 * reference's scores), block-sparse attention with both masks, dense attention and the fused pass with its pooled
 * target. The reference runs once per batch and is shared by the engines. An engine that cannot run here is skipped
 * with its reason printed ({@code -Dseer.requireCuda=true} turns the CUDA engine's skip into a failure).
 *
 * <p>Tolerance, per element: {@code |engine − reference| ≤ 1e-4 · max(1, |reference|)} (a row of the wrong sequence,
 * a shifted block or an unwritten output is off by far more), and over each tensor a relative error ≤ 1e-5, the fp32
 * engines' bound on the single-sequence operations. Masks must be equal.
 */
class CrossEngineVarlenTest {
    static final int BLOCK = 64;
    static final double ELEMENT_TOL = 1e-4;
    static final double TENSOR_TOL = 1e-5;

    /** A varlen batch and its heads. */
    record Batch(String name, int[] lengths, int qHeads, int kvHeads, int headDim) {
        VarlenShape shape() {
            return new VarlenShape(VarlenBatch.ofLengths(lengths), qHeads, kvHeads, headDim);
        }

        @Override
        public String toString() {
            return name + " " + Arrays.toString(lengths) + " Hq=" + qHeads + " Hkv=" + kvHeads + " D=" + headDim;
        }
    }

    /** Seeded lengths in [1, max], none a multiple of 64. */
    static int[] lengths(long seed, int count, int max) {
        Random random = new Random(seed);
        int[] n = new int[count];
        for (int b = 0; b < count; b++) {
            do {
                n[b] = 1 + random.nextInt(max);
            } while (n[b] % 64 == 0);
        }
        return n;
    }

    static final List<Batch> BATCHES = List.of(
            new Batch("long and short", new int[] {4999, 1, 65, 63, 1003}, 2, 1, 64),
            new Batch("random up to 1,200", lengths(11, 5, 1200), 4, 2, 128),
            new Batch("many short", lengths(12, 9, 300), 3, 3, 64));

    static Stream<Arguments> cases() {
        List<Arguments> args = new ArrayList<>();
        for (EngineProvider p : Engines.providers()) {
            if (!p.name().equals("reference")) {
                for (int b = 0; b < BATCHES.size(); b++) {
                    args.add(Arguments.of(p.name(), b));
                }
            }
        }
        return args.stream();
    }

    /** Inputs, weights and the reference's outputs of one batch. */
    record Run(float[] q, float[] k, float[] v, float[] wk, float[] pooled, float[] scores, float[] logits,
               List<BlockMask> topK, List<BlockMask> threshold, float[] sparseTopK, float[] sparseThreshold,
               float[] dense, float[] target) {
    }

    static final Map<Integer, Run> REFERENCE = new ConcurrentHashMap<>();
    static final SelectionRule TOP_K = new SelectionRule.TopK(0.3, true, true);
    static final SelectionRule THRESHOLD = new SelectionRule.Threshold(0.02, false, false);   // empty rows possible

    static GateConfig gate(Batch b) {
        return new GateConfig(GateType.DEFAULT, BLOCK, b.headDim(), false, RopeConfig.of(500000, b.headDim()));
    }

    /** Runs every operation on {@code e}; the masks given are those selected from the reference's scores. */
    static Run run(Engine e, Batch b, float[] q, float[] k, float[] v, float[] wk, Run reference) {
        VarlenShape shape = b.shape();
        VarlenBatch batch = shape.batch();
        int hq = b.qHeads();
        float[] pooled = new float[batch.totalBlocks(BLOCK) * b.kvHeads() * b.headDim() * 3];
        e.poolVarlen(k, pooled, batch, b.kvHeads(), b.headDim(), BLOCK, List.of(Pool.MAX, Pool.MIN, Pool.AVG));
        float[] scores = new float[batch.mapElements(hq, BLOCK)];
        float[] logits = new float[scores.length];
        e.gateScoresVarlen(q, k, null, wk, scores, shape, gate(b), true);
        e.gateScoresVarlen(q, k, null, wk, logits, shape, gate(b), false);
        float[] refScores = reference == null ? scores : reference.scores();
        float[] refLogits = reference == null ? logits : reference.logits();
        List<BlockMask> topK = e.selectVarlen(refLogits, batch, hq, BLOCK, TOP_K);
        List<BlockMask> threshold = e.selectVarlen(refScores, batch, hq, BLOCK, THRESHOLD);
        List<BlockMask> masksTopK = reference == null ? topK : reference.topK();
        List<BlockMask> masksThreshold = reference == null ? threshold : reference.threshold();
        double scale = shape.defaultScale();
        float[] sparseTopK = new float[shape.qElements()];
        float[] sparseThreshold = new float[shape.qElements()];
        e.blockSparseVarlen(q, k, v, masksTopK, sparseTopK, shape, BLOCK, scale);
        e.blockSparseVarlen(q, k, v, masksThreshold, sparseThreshold, shape, BLOCK, scale);
        float[] dense = new float[shape.qElements()];
        e.denseCausalVarlen(q, k, v, dense, shape, scale);
        float[] fused = new float[shape.qElements()];
        float[] target = new float[scores.length];
        e.attentionWithPooledTargetVarlen(q, k, v, fused, target, shape, BLOCK, scale);
        assertClose(e.name() + " fused pass's attention against its dense attention", fused, dense);
        return new Run(q, k, v, wk, pooled, scores, logits, topK, threshold, sparseTopK, sparseThreshold, dense,
                target);
    }

    static Run reference(int index) {
        return REFERENCE.computeIfAbsent(index, i -> {
            Batch b = BATCHES.get(i);
            VarlenShape shape = b.shape();
            Random random = new Random(1000 + i);
            float[] q = gaussian(random, shape.qElements(), 1.5);
            float[] k = gaussian(random, shape.kvElements(), 1.5);
            float[] v = gaussian(random, shape.kvElements(), 1);
            AttentionShape one = shape.sequence(0);
            float[] wk = gaussian(random, gate(b).kWeightElements(one), 0.05);
            return run(Engines.byName("reference"), b, q, k, v, wk, null);
        });
    }

    @Test
    void theBatchesCoverLengthsUpTo4999NoneAMultipleOf64() {
        int longest = 0;
        for (Batch b : BATCHES) {
            for (int n : b.lengths()) {
                assertThat(n % 64).as("%s", b).isNotZero();
                longest = Math.max(longest, n);
            }
        }
        assertThat(longest).isEqualTo(4999);
        assertThat(BATCHES).extracting(Batch::headDim).contains(64, 128);
    }

    @ParameterizedTest(name = "{0} on batch {1}")
    @MethodSource("cases")
    void everyVarlenOperationMatchesTheReference(String engineName, int index) {
        Engine engine = AvailableEngine.require(engineName, " on varlen batch " + BATCHES.get(index));
        Batch b = BATCHES.get(index);
        Run ref = reference(index);
        Run got = run(engine, b, ref.q(), ref.k(), ref.v(), ref.wk(), ref);
        String on = engineName + " on " + b + ": ";
        assertClose(on + "pooled k", got.pooled(), ref.pooled());
        assertClose(on + "gate scores", got.scores(), ref.scores());
        assertClose(on + "gate logits", got.logits(), ref.logits());
        assertThat(got.topK()).as(on + "top-k masks").isEqualTo(ref.topK());
        assertThat(got.threshold()).as(on + "threshold masks").isEqualTo(ref.threshold());
        assertClose(on + "block-sparse attention, top-k masks", got.sparseTopK(), ref.sparseTopK());
        assertClose(on + "block-sparse attention, threshold masks (empty rows)", got.sparseThreshold(),
                ref.sparseThreshold());
        assertClose(on + "dense attention", got.dense(), ref.dense());
        assertClose(on + "pooled target", got.target(), ref.target());
        assertThat(Arrays.equals(ref.sparseThreshold(), ref.dense())).as("the masks drop blocks").isFalse();
    }

    static void assertClose(String what, float[] got, float[] ref) {
        assertThat(got).as(what).hasSameSizeAs(ref);
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double bound = ELEMENT_TOL * Math.max(1, Math.abs(ref[i]));
            double diff = (double) got[i] - ref[i];
            if (!(Math.abs(diff) <= bound)) {
                throw new AssertionError(what + ": element " + i + " is " + got[i] + ", the reference " + ref[i]
                        + " (bound " + bound + ")");
            }
            if (Math.abs(ref[i]) < 1e30) {          // the gate logits' −3.4e38 above the diagonal: equal, or refused
                num += diff * diff;
                den += (double) ref[i] * ref[i];
            }
        }
        double rel = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        assertThat(rel).as("%s: relative error", what).isLessThanOrEqualTo(TENSOR_TOL);
    }

    static float[] gaussian(Random random, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * sigma);
        }
        return x;
    }
}
