package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.seerjava.cpu.TestData.assertSameBits;
import static org.seerjava.cpu.TestData.gaussian;
import static org.seerjava.cpu.TestData.relativeError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.LeftPadding;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.PerSequenceEngine;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.golden.GoldenCheck;

/**
 * The CPU engine's varlen operations (docs/SPEC.md §11): against the reference element by element on random batches
 * (lengths from 1 to 5,000, none a multiple of 64, GQA 1–4, D = 64 and 128), bit for bit against the CPU engine's own
 * single-sequence operations run on each sequence (so the packed kernels read and write the right rows), left-padded
 * batches equal to their varlen form, and the golden files as varlen batches.
 */
class CpuVarlenTest {
    private static final CpuEngine CPU = new CpuEngine();
    private static final Engine REF = new ReferenceEngine();
    /** Relative error of a whole tensor, as the other CPU tests. */
    private static final double TOL = 1e-5;
    /** Per element: |cpu − reference| ≤ ELEMENT_TOL · max(1, |reference|). */
    private static final double ELEMENT_TOL = 2e-5;

    /** The CPU engine's single-sequence operations on each sequence alone (the interfaces' default varlen methods). */
    static final Engine PER_SEQUENCE = new PerSequenceEngine(CPU);

    /** Seeded lengths in [1, max], none a multiple of 64; the first is {@code first}. */
    static int[] lengths(long seed, int count, int first, int max) {
        Random random = new Random(seed);
        int[] n = new int[count];
        n[0] = first;
        for (int b = 1; b < count; b++) {
            do {
                n[b] = 1 + random.nextInt(max);
            } while (n[b] % 64 == 0);
        }
        return n;
    }

    /**
     * (lengths, Hq, Hkv, D): a sequence of 1 token and one of 4,999 (78 blocks and 7 tokens), GQA 1, 2, 3 and 4, D = 64
     * and 128, few heads so that the float64 reference stays within seconds.
     */
    static Stream<Arguments> batches() {
        return Stream.of(
                Arguments.of(new int[] {1, 4999, 37, 130}, 2, 1, 64),
                Arguments.of(lengths(1, 5, 700, 1200), 4, 1, 128),
                Arguments.of(lengths(2, 4, 1, 900), 3, 3, 64),
                Arguments.of(lengths(3, 3, 451, 1500), 4, 2, 128),
                Arguments.of(lengths(4, 6, 65, 300), 6, 2, 64));
    }

    static void assertClose(float[] cpu, float[] ref, String what) {
        assertThat(cpu).as(what).hasSameSizeAs(ref);
        for (int i = 0; i < ref.length; i++) {
            double bound = ELEMENT_TOL * Math.max(1, Math.abs(ref[i]));
            if (!(Math.abs((double) cpu[i] - ref[i]) <= bound)) {
                throw new AssertionError(what + ": element " + i + " is " + cpu[i] + ", the reference " + ref[i]
                        + " (bound " + bound + ")");
            }
        }
        assertThat(relativeError(cpu, ref)).as(what).isLessThanOrEqualTo(TOL);
    }

    @ParameterizedTest(name = "lengths {0} Hq={1} Hkv={2} D={3}")
    @MethodSource("batches")
    void everyVarlenOperationMatchesTheReference(int[] lengths, int hq, int hkv, int d) {
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(lengths), hq, hkv, d);
        VarlenBatch batch = shape.batch();
        int bs = 64;
        Random random = new Random(Arrays.hashCode(lengths));
        float[] q = gaussian(random, shape.qElements(), 1.5);
        float[] k = gaussian(random, shape.kvElements(), 1.5);
        float[] v = gaussian(random, shape.kvElements(), 1);

        // pooling
        List<Pool> pools = List.of(Pool.MAX, Pool.MIN, Pool.AVG);
        float[] pooled = new float[batch.totalBlocks(bs) * hkv * d * 3];
        float[] pooledRef = new float[pooled.length];
        CPU.poolVarlen(k, pooled, batch, hkv, d, bs, pools);
        REF.poolVarlen(k, pooledRef, batch, hkv, d, bs, pools);
        assertClose(pooled, pooledRef, "pooled k");

        // gate scores (case B: Dg = D, one q pool) and logits
        GateConfig config = new GateConfig(GateType.DEFAULT, bs, d, false, RopeConfig.of(500000, d));
        AttentionShape one = shape.sequence(0);
        float[] wk = gaussian(random, config.kWeightElements(one), 0.05);
        float[] scores = new float[batch.mapElements(hq, bs)];
        float[] scoresRef = new float[scores.length];
        CPU.gateScoresVarlen(q, k, null, wk, scores, shape, config, true);
        REF.gateScoresVarlen(q, k, null, wk, scoresRef, shape, config, true);
        assertClose(scores, scoresRef, "gate scores");
        float[] logits = new float[scores.length];
        float[] logitsRef = new float[scores.length];
        CPU.gateScoresVarlen(q, k, null, wk, logits, shape, config, false);
        REF.gateScoresVarlen(q, k, null, wk, logitsRef, shape, config, false);
        assertClose(logits, logitsRef, "gate logits");

        // selection, on the reference's scores for both (near-ties may fall either way on other scores)
        SelectionRule topK = new SelectionRule.TopK(0.3, true, true);
        List<BlockMask> masks = CPU.selectVarlen(logitsRef, batch, hq, bs, topK);
        assertThat(masks).isEqualTo(REF.selectVarlen(logitsRef, batch, hq, bs, topK));
        SelectionRule threshold = new SelectionRule.Threshold(0.02, false, false);       // empty rows possible
        List<BlockMask> thresholdMasks = CPU.selectVarlen(scoresRef, batch, hq, bs, threshold);
        assertThat(thresholdMasks).isEqualTo(REF.selectVarlen(scoresRef, batch, hq, bs, threshold));

        // attention: block-sparse with both masks, dense, the fused pass
        double scale = shape.defaultScale();
        for (List<BlockMask> m : List.of(masks, thresholdMasks)) {
            float[] sparse = new float[shape.qElements()];
            float[] sparseRef = new float[shape.qElements()];
            CPU.blockSparseVarlen(q, k, v, m, sparse, shape, bs, scale);
            REF.blockSparseVarlen(q, k, v, m, sparseRef, shape, bs, scale);
            assertClose(sparse, sparseRef, "block-sparse attention");
        }
        float[] dense = new float[shape.qElements()];
        float[] denseRef = new float[shape.qElements()];
        CPU.denseCausalVarlen(q, k, v, dense, shape, scale);
        REF.denseCausalVarlen(q, k, v, denseRef, shape, scale);
        assertClose(dense, denseRef, "dense attention");
        float[] fused = new float[shape.qElements()];
        float[] target = new float[batch.mapElements(hq, bs)];
        float[] targetRef = new float[target.length];
        CPU.attentionWithPooledTargetVarlen(q, k, v, fused, target, shape, bs, scale);
        REF.attentionWithPooledTargetVarlen(q, k, v, new float[shape.qElements()], targetRef, shape, bs, scale);
        assertSameBits(fused, dense, "the fused pass's attention against the dense kernel's");
        assertClose(target, targetRef, "pooled target");
    }

    /**
     * The packed kernels against the same kernels on each sequence alone: the same bits, for every operation, with
     * block sizes that cut the tiles differently (16, 24, 64, 100) and N = 1 and N = bs + 1 among the lengths.
     */
    @ParameterizedTest(name = "block {0}")
    @ValueSource(ints = {16, 24, 64, 100})
    void thePackedKernelsGiveEachSequencesOwnBits(int bs) {
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(1, bs + 1, 3 * bs - 5, 2 * bs, 7, 190), 6, 2, 72);
        VarlenBatch batch = shape.batch();
        Random random = new Random(bs);
        float[] q = gaussian(random, shape.qElements(), 2);
        float[] k = gaussian(random, shape.kvElements(), 2);
        float[] v = gaussian(random, shape.kvElements(), 1);
        GateConfig caseA = new GateConfig(GateType.parse("Qmaxmin_Kavg"), bs, 32, false,
                new RopeConfig(500000, 32, new RopeConfig.Scaling.Llama3(8, 1, 4, 8192)));
        AttentionShape one = shape.sequence(0);
        float[] wq = gaussian(random, caseA.qWeightElements(one), 0.05);
        float[] wk = gaussian(random, caseA.kWeightElements(one), 0.05);
        Engine[] engines = {CPU, PER_SEQUENCE};
        float[][] pooled = new float[2][batch.totalBlocks(bs) * 6 * 72 * 2];
        float[][] scores = new float[2][batch.mapElements(6, bs)];
        float[][] dense = new float[2][shape.qElements()];
        float[][] sparse = new float[2][shape.qElements()];
        float[][] fused = new float[2][shape.qElements()];
        float[][] target = new float[2][scores[0].length];
        List<List<BlockMask>> masks = new ArrayList<>();
        for (int e = 0; e < 2; e++) {
            engines[e].poolVarlen(q, pooled[e], batch, 6, 72, bs, List.of(Pool.MIN, Pool.AVG));
            engines[e].gateScoresVarlen(q, k, wq, wk, scores[e], shape, caseA, true);
            masks.add(engines[e].selectVarlen(scores[0], batch, 6, bs, new SelectionRule.TopK(0.4, false, false)));
            engines[e].denseCausalVarlen(q, k, v, dense[e], shape, 0.1);
            engines[e].blockSparseVarlen(q, k, v, masks.get(0), sparse[e], shape, bs, 0.1);
            engines[e].attentionWithPooledTargetVarlen(q, k, v, fused[e], target[e], shape, bs, 0.1);
        }
        assertSameBits(pooled[0], pooled[1], "pooled");
        assertSameBits(scores[0], scores[1], "gate scores");
        assertThat(masks.get(0)).isEqualTo(masks.get(1));
        assertSameBits(dense[0], dense[1], "dense attention");
        assertSameBits(sparse[0], sparse[1], "block-sparse attention");
        assertSameBits(fused[0], fused[1], "fused pass");
        assertSameBits(target[0], target[1], "pooled target");
        assertThat(Arrays.equals(sparse[0], dense[0])).as("the masks drop blocks").isFalse();
    }

    /**
     * A left-padded batch (pad lengths 0, 5, 70 and 129 with blocks of 64) run as its varlen form: each sequence's
     * rows are its own single-sequence result, bit for bit, and the pad rows are 0.
     */
    @Test
    void aLeftPaddedBatchIsItsVarlenForm() {
        int lmax = 300;
        LeftPadding padding = LeftPadding.ofPadLengths(lmax, 0, 5, 70, 129);
        int hq = 4;
        int hkv = 2;
        int d = 64;
        Random random = new Random(17);
        float[] q = gaussian(random, 4 * lmax * hq * d, 1);
        float[] k = gaussian(random, 4 * lmax * hkv * d, 1);
        float[] v = gaussian(random, 4 * lmax * hkv * d, 1);
        VarlenShape shape = new VarlenShape(padding.varlen(), hq, hkv, d);
        float[] packed = new float[shape.qElements()];
        float[] target = new float[padding.varlen().mapElements(hq, 64)];
        CPU.attentionWithPooledTargetVarlen(padding.unpad(q, hq * d), padding.unpad(k, hkv * d),
                padding.unpad(v, hkv * d), packed, target, shape, 64, 0.125);
        float[] out = padding.pad(packed, hq * d);
        int[] cuMaps = padding.varlen().cuMaps(hq, 64);
        for (int b = 0; b < 4; b++) {
            int pad = padding.padLength(b);
            int n = padding.length(b);
            AttentionShape alone = new AttentionShape(1, n, hq, hkv, d);
            float[] expected = new float[alone.qElements()];
            float[] expectedTarget = new float[cuMaps[b + 1] - cuMaps[b]];
            CPU.attentionWithPooledTarget(Arrays.copyOfRange(q, (b * lmax + pad) * hq * d, (b + 1) * lmax * hq * d),
                    Arrays.copyOfRange(k, (b * lmax + pad) * hkv * d, (b + 1) * lmax * hkv * d),
                    Arrays.copyOfRange(v, (b * lmax + pad) * hkv * d, (b + 1) * lmax * hkv * d), expected,
                    expectedTarget, alone, 64, 0.125);
            assertSameBits(Arrays.copyOfRange(out, (b * lmax + pad) * hq * d, (b + 1) * lmax * hq * d), expected,
                    "sequence " + b);
            assertSameBits(Arrays.copyOfRange(target, cuMaps[b], cuMaps[b + 1]), expectedTarget, "target " + b);
            for (int i = b * lmax * hq * d; i < (b * lmax + pad) * hq * d; i++) {
                assertThat(out[i]).as("pad row element %d", i).isZero();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"golden-small-gqa", "golden-partial-block", "golden-batch2"})
    void theGoldenFilesAsVarlenBatches(String name) {
        Path file = Path.of("../golden-data/" + name + ".safetensors");
        Assumptions.assumeTrue(Files.exists(file), "golden file " + file + " is missing");
        List<GoldenCheck.Result> results = GoldenCheck.runVarlen(file, CPU);
        assertThat(results).hasSize(12).allSatisfy(r -> assertThat(r.passed())
                .as("%s %s: %s %.3e > %.0e", r.caseName(), r.tensor(), r.metric(), r.error(), r.tolerance())
                .isTrue());
    }

    /** Bad input fails as on the reference, before anything is written (the CPU kernel scans q, k and v itself). */
    @Test
    void badInputIsRefusedLikeTheReference() {
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(70, 3), 2, 1, 16);
        Random random = new Random(5);
        float[] q = gaussian(random, shape.qElements(), 1);
        float[] k = gaussian(random, shape.kvElements(), 1);
        float[] v = gaussian(random, shape.kvElements(), 1);
        float[] nanK = k.clone();
        nanK[1000] = Float.NaN;
        float[] hugeV = v.clone();
        hugeV[5] = 1e37f;
        List<java.util.function.Consumer<Engine>> calls = List.of(
                e -> e.denseCausalVarlen(q, nanK, v, filled(shape.qElements()), shape, 0.25),
                e -> e.denseCausalVarlen(q, k, hugeV, filled(shape.qElements()), shape, 0.25),
                e -> e.attentionWithPooledTargetVarlen(q, k, v, filled(shape.qElements()), filled(7), shape, 64, 0.25),
                e -> e.blockSparseVarlen(q, k, v, List.of(BlockMask.causal(1, 2, 2), BlockMask.causal(1, 2, 2)),
                        filled(shape.qElements()), shape, 64, 0.25),
                e -> e.poolVarlen(new float[71 * 16], filled(3 * 16), shape.batch(), 1, 16, 64, List.of(Pool.MAX)));
        for (var call : calls) {
            Throwable ref = org.assertj.core.api.Assertions.catchThrowable(() -> call.accept(REF));
            Throwable cpu = org.assertj.core.api.Assertions.catchThrowable(() -> call.accept(CPU));
            assertThat(ref).isInstanceOf(IllegalArgumentException.class);
            assertThat(cpu).isInstanceOf(IllegalArgumentException.class).hasMessage(ref.getMessage());
        }
        float[] out = filled(shape.qElements());
        org.assertj.core.api.Assertions.catchThrowable(() -> CPU.denseCausalVarlen(q, nanK, v, out, shape, 0.25));
        assertThat(out).containsOnly(7f);
    }

    private static float[] filled(int n) {
        float[] x = new float[n];
        Arrays.fill(x, 7f);
        return x;
    }
}
