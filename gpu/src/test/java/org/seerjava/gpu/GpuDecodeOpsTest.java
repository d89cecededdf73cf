package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.DecodeOps;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.ReferenceEngine;

/**
 * Every SeerAttention-R operation of the CUDA engine ({@link DecodeOps}) against the reference on random cases: GQA
 * group sizes 1, 2, 3, 4 and 12 (more than the attention kernel's 8 heads per CTA: two head chunks), head dims
 * that are not multiples of 32, lengths that are not multiples of the block, left padding, empty selections,
 * token budgets below one block, between and above the cache, thresholds, the cache update across block
 * boundaries, and the same results run to run. Tolerance 1e-5 relative (float32 against float64), selections
 * exactly. Skipped without a GPU (failing instead under {@code -Dseer.requireCuda=true}).
 */
class GpuDecodeOpsTest {
    static final double TOL = 1e-5;
    static final ReferenceEngine REF = new ReferenceEngine();
    CudaEngine gpu;

    @BeforeEach
    void setUp() {
        Gpu.assume();
        gpu = new CudaEngine();
    }

    static float[] gaussian(Random r, int n, double sigma) {
        float[] x = Gpu.random(r, n);
        for (int i = 0; i < n; i++) {
            x[i] *= (float) sigma;
        }
        return x;
    }

    /** (Hq, Hkv, D, block, pooling, qk norm, key position, K pools). */
    static Stream<Arguments> gates() {
        return Stream.of(
                Arguments.of(4, 2, 16, 8, QueryHeadPooling.QProj, false, CompressedKeyPosition.CURRENT_TOKEN,
                        DecodeGateConfig.DEFAULT_K_POOLS),
                Arguments.of(6, 2, 64, 16, QueryHeadPooling.QProj, true, CompressedKeyPosition.BLOCK_START,
                        DecodeGateConfig.DEFAULT_K_POOLS),
                Arguments.of(3, 1, 20, 4, QueryHeadPooling.QAvgProj, true, CompressedKeyPosition.CURRENT_TOKEN,
                        List.of(Pool.MAX, Pool.AVG)),
                Arguments.of(8, 2, 32, 8, QueryHeadPooling.QAvg, false, CompressedKeyPosition.CURRENT_TOKEN,
                        List.of(Pool.MIN)),
                Arguments.of(4, 4, 128, 64, QueryHeadPooling.QProj, true, CompressedKeyPosition.CURRENT_TOKEN,
                        DecodeGateConfig.DEFAULT_K_POOLS),
                Arguments.of(32, 8, 128, 64, QueryHeadPooling.QProj, false, CompressedKeyPosition.CURRENT_TOKEN,
                        DecodeGateConfig.DEFAULT_K_POOLS));
    }

    static DecodeGateWeights gate(Random random, int hq, int hkv, int d, int block, QueryHeadPooling pooling,
                                  boolean qkNorm, CompressedKeyPosition position, List<Pool> pools) {
        DecodeGateConfig config = new DecodeGateConfig(pooling, pools, block, d, qkNorm, true,
                RopeConfig.of(10000, 2), position);
        int wq = DecodeGateWeights.qWeightElements(config, hq, hkv, d);
        float[] norm = qkNorm ? gaussian(random, d, 0.3) : null;
        if (norm != null) {
            for (int i = 0; i < d; i++) {
                norm[i] += 1f;
            }
        }
        return new DecodeGateWeights(hq, hkv, d, config, wq == 0 ? null : gaussian(random, wq, 0.2),
                gaussian(random, hkv * pools.size() * d * d, 0.2), norm, norm == null ? null : norm.clone());
    }

    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} B={3} {4} norm={5} {6}")
    @MethodSource("gates")
    void gateQueryCompressedKeysAndScoresMatchTheReference(int hq, int hkv, int d, int block,
                                                           QueryHeadPooling pooling, boolean qkNorm,
                                                           CompressedKeyPosition position, List<Pool> pools) {
        Random random = new Random(hq * 131L + d);
        DecodeGateWeights gate = gate(random, hq, hkv, d, block, pooling, qkNorm, position, pools);
        int batch = 2;
        float[] qNope = gaussian(random, batch * hq * d, 1);
        float[] qGate = new float[batch * hkv * d];
        float[] qRef = new float[qGate.length];
        gpu.decodeGateQuery(gate, qNope, qGate, batch, 777);
        REF.decodeGateQuery(gate, qNope, qRef, batch, 777);
        Gpu.assertClose("gate query " + pooling, qGate, qRef, TOL);

        int seqLen = 5 * block + 3;                           // a partial last block
        int nb = 6;
        float[] kNope = gaussian(random, batch * seqLen * hkv * d, 1);
        int[] positions = {0, block, 2 * block, 3 * block + 1, 4 * block - 1, 5000};
        float[] kc = new float[batch * nb * hkv * d];
        float[] kcRef = new float[kc.length];
        gpu.compressedKeys(gate, kNope, kc, batch, seqLen, positions);
        REF.compressedKeys(gate, kNope, kcRef, batch, seqLen, positions);
        Gpu.assertClose("compressed keys " + pools, kc, kcRef, TOL);

        boolean[] blockMask = {false, true, true, true, true, true, true, true, true, true, true, true};
        for (boolean softmax : new boolean[] {false, true}) {
            float[] s = new float[batch * hkv * nb];
            float[] sRef = new float[s.length];
            gpu.decodeGateScores(gate, qRef, kcRef, blockMask, s, batch, nb, softmax);
            REF.decodeGateScores(gate, qRef, kcRef, blockMask, sRef, batch, nb, softmax);
            Gpu.assertClose("gate " + (softmax ? "scores" : "logits") + " (block 0 masked)", s, sRef, TOL);
            if (!softmax) {
                assertEquals(-1e20f, s[0], "a masked block's logit");
            }
        }
        float[] again = new float[qGate.length];                // run to run: the same bits
        gpu.decodeGateQuery(gate, qNope, again, batch, 777);
        assertArrayEquals(qGate, again, "gate query run to run");
        float[] kcAgain = new float[kc.length];
        gpu.compressedKeys(gate, kNope, kcAgain, batch, seqLen, positions);
        assertArrayEquals(kc, kcAgain, "compressed keys run to run");
    }

    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} B={3} {4} norm={5} {6}")
    @MethodSource("gates")
    void kCompressionCacheFollowsTheReferenceThroughPrefillAndPushes(int hq, int hkv, int d, int block,
                                                                   QueryHeadPooling pooling, boolean qkNorm,
                                                                   CompressedKeyPosition position, List<Pool> pools) {
        Random random = new Random(hq * 7L + block);
        DecodeGateWeights gate = gate(random, hq, hkv, d, block, pooling, qkNorm, position, pools);
        int batch = 2;
        int prompt = 2 * block + 1;
        int steps = 2 * block + 2;                          // crosses two block boundaries, completes two blocks
        long before = DeviceBuffer.liveBytes();
        CompressedKeyCache cuda = gpu.kCompressionCache(gate, batch, prompt + steps);
        CompressedKeyCache ref = REF.kCompressionCache(gate, batch, prompt + steps);
        float[] promptKeys = gaussian(random, batch * prompt * hkv * d, 1);
        cuda.prefill(promptKeys, prompt);
        ref.prefill(promptKeys, prompt);
        float[] q = gaussian(random, batch * hkv * d, 1);
        double worst = 0;
        for (int step = 0; step <= steps; step++) {
            assertEquals(ref.blocks(), cuda.blocks(), "blocks at step " + step);
            assertEquals(ref.length(), cuda.length(), "length at step " + step);
            assertEquals(ref.remainderLength(), cuda.remainderLength(), "remainder at step " + step);
            float[] c = cuda.compressed();
            float[] cr = ref.compressed();
            worst = Math.max(worst, Gpu.relError(c, cr));
            assertTrue(Gpu.relError(c, cr) <= TOL, "compressed keys at step " + step);
            float[] s = new float[batch * hkv * cuda.blocks()];
            float[] sRef = new float[s.length];
            cuda.scores(q, null, s);
            ref.scores(q, null, sRef);
            assertTrue(Gpu.relError(s, sRef) <= TOL, "scores at step " + step);
            if (step < steps) {
                float[] k = gaussian(random, batch * hkv * d, 1);
                cuda.push(k);
                ref.push(k);
            }
        }
        System.out.printf("[seer-gpu] %-60s worst rel err %.3e (tol %.0e)%n", "K-compression cache over "
                + (steps + 1) + " steps, B=" + block, worst, TOL);
        IllegalStateException full = assertThrows(IllegalStateException.class,
                () -> cuda.push(new float[batch * hkv * d]));
        assertTrue(full.getMessage().contains("full"), full.getMessage());
        cuda.reset();
        assertEquals(0, cuda.length());
        cuda.prefill(promptKeys, prompt);                     // reusable after reset, same entries as before
        CompressedKeyCache again = REF.kCompressionCache(gate, batch, prompt + steps);
        again.prefill(promptKeys, prompt);
        assertTrue(Gpu.relError(cuda.compressed(), again.compressed()) <= TOL, "after reset");
        ((CudaKCompressionCache) cuda).close();
        assertEquals(before, DeviceBuffer.liveBytes(), "closing the cache frees its device memory");
    }

    /**
     * Multi-token appends at a position inside a block (the model runtime's continuation prefill): a block begun
     * before the append is completed from the remainder while the last block stays partial (the second kernel,
     * {@code kcache_keep_remainder}), against the reference pushing the same keys one at a time; then a push
     * completes the partial block from what the append left in the remainder.
     */
    @Test
    void anAppendThatCompletesABlockBegunEarlierAndLeavesAPartialOneMatchesPushes() {
        Random random = new Random(11);
        int hkv = 2;
        int d = 16;
        int block = 8;
        for (CompressedKeyPosition position : CompressedKeyPosition.values()) {
            DecodeGateWeights gate = gate(random, 4, hkv, d, block, QueryHeadPooling.QProj, true, position,
                    DecodeGateConfig.DEFAULT_K_POOLS);
            int batch = 2;
            int prompt = 13;                                  // 5 keys of block 1 wait in the remainder
            int n = 18;                                       // completes blocks 1 and 2, 7 keys of block 3 remain
            int row = hkv * d;
            float[] promptKeys = gaussian(random, batch * prompt * row, 1);
            float[] more = gaussian(random, batch * n * row, 1);
            float[] last = gaussian(random, batch * row, 1);
            CompressedKeyCache ref = REF.kCompressionCache(gate, batch, 64);
            ref.prefill(promptKeys, prompt);
            for (int i = 0; i < n; i++) {
                float[] step = new float[batch * row];
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(more, (b * n + i) * row, step, b * row, row);
                }
                ref.push(step);
            }
            try (CudaKCompressionCache cuda = new CudaKCompressionCache(gate, batch, 64)) {
                cuda.prefill(promptKeys, prompt);
                cuda.appendAll(more, n);
                assertEquals(ref.blocks(), cuda.blocks());
                assertEquals(ref.remainderLength(), cuda.remainderLength());
                Gpu.assertClose("append of 18 keys at position 13, " + position, cuda.compressed(), ref.compressed(),
                        TOL);
                ref.push(last);
                cuda.push(last);
                Gpu.assertClose("then a push completing block 3", cuda.compressed(), ref.compressed(), TOL);
            }
        }
    }

    @Test
    void selectionIsTheReferencesExactlyOnTheSameScores() {
        Random random = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            int batch = 1 + random.nextInt(2);
            int hkv = 1 + random.nextInt(3);
            int blocks = 1 + random.nextInt(40);
            int blockSize = 4;
            float[] scores = new float[batch * hkv * blocks];
            for (int i = 0; i < scores.length; i++) {      // few distinct values: many ties
                scores[i] = random.nextInt(5) / 8f;
            }
            boolean[] blockMask = random.nextBoolean() ? null : new boolean[batch * blocks];
            if (blockMask != null) {
                for (int i = 0; i < blockMask.length; i++) {
                    blockMask[i] = random.nextInt(4) != 0;
                }
            }
            DecodeSelectionRule rule = random.nextBoolean()
                    ? new DecodeSelectionRule.TokenBudget(1 + random.nextInt(60))
                    : new DecodeSelectionRule.Threshold(random.nextInt(5) / 8.0);
            assertArrayEquals(REF.decodeSelect(scores, batch, hkv, blocks, blockSize, blockMask, rule),
                    gpu.decodeSelect(scores, batch, hkv, blocks, blockSize, blockMask, rule),
                    "trial " + trial + ", " + rule);
        }
    }

    /**
     * Rows longer than the selection kernel's 256 threads (several passes of its ordered loop), budgets of none, a
     * few, most and more than all the blocks, thresholds that keep nothing and some, ±∞ and ±0 scores.
     */
    @Test
    void selectionOfLongRowsIsTheReferences() {
        Random random = new Random(9);
        int blockSize = 64;
        for (int blocks : new int[] {255, 256, 257, 1000, 2048, 5000}) {
            int hkv = 2;
            float[] scores = new float[hkv * blocks];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = random.nextInt(3) == 0 ? random.nextInt(7) / 64f : (float) random.nextGaussian();
            }
            scores[3] = Float.NEGATIVE_INFINITY;
            scores[blocks + 5] = Float.POSITIVE_INFINITY;
            scores[9] = -0.0f;                             // ties with +0 (the reference compares doubles)
            scores[10] = 0.0f;
            boolean[] blockMask = new boolean[blocks];
            for (int i = 0; i < blocks; i++) {
                blockMask[i] = i >= 7;                     // a left-padded start
            }
            for (DecodeSelectionRule rule : List.<DecodeSelectionRule>of(new DecodeSelectionRule.TokenBudget(63),
                    new DecodeSelectionRule.TokenBudget(64 * 3), new DecodeSelectionRule.TokenBudget(64 * (blocks / 2)),
                    new DecodeSelectionRule.TokenBudget(64 * blocks + 1), new DecodeSelectionRule.Threshold(1.0),
                    new DecodeSelectionRule.Threshold(0.05))) {
                for (boolean[] m : new boolean[][] {null, blockMask}) {
                    boolean[] want = REF.decodeSelect(scores, 1, hkv, blocks, blockSize, m, rule);
                    boolean[] got = gpu.decodeSelect(scores, 1, hkv, blocks, blockSize, m, rule);
                    assertArrayEquals(want, got, blocks + " blocks, " + rule + (m == null ? "" : ", masked"));
                    assertArrayEquals(got, gpu.decodeSelect(scores, 1, hkv, blocks, blockSize, m, rule),
                            "run to run");
                }
            }
        }
    }

    /** (Lmax, Hq, Hkv, D, block): GQA 1, 3, 3, 1, 4 and 12 (two head chunks), D not a multiple of 32. */
    static Stream<Arguments> attentionShapes() {
        return Stream.of(
                Arguments.of(1, 2, 2, 16, 4),
                Arguments.of(37, 3, 1, 20, 8),
                Arguments.of(100, 6, 2, 64, 16),
                Arguments.of(257, 4, 4, 72, 64),
                Arguments.of(130, 8, 2, 128, 16),
                Arguments.of(200, 12, 1, 32, 64));
    }

    @ParameterizedTest(name = "Lmax={0} Hq={1} Hkv={2} D={3} B={4}")
    @MethodSource("attentionShapes")
    void sparseDecodeOverALeftPaddedCacheMatchesTheReference(int lmax, int hq, int hkv, int d, int block) {
        Random random = new Random(lmax * 3L + d);
        int batch = 3;
        AttentionShape shape = new AttentionShape(batch, lmax, hq, hkv, d);
        int nb = shape.blocks(block);
        float[] q = gaussian(random, batch * hq * d, 1.5);
        float[] k = gaussian(random, shape.kvElements(), 1.5);
        float[] v = gaussian(random, shape.kvElements(), 1);
        int[] lens = {lmax, Math.max(1, lmax - block - 1), 1};   // unpadded, padded past a block, one token
        for (int trial = 0; trial < 3; trial++) {
            boolean[] mask = new boolean[batch * hkv * nb];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = trial == 1 || (trial == 2 && random.nextBoolean());   // none, all, random
            }
            float[] out = new float[batch * hq * d];
            float[] ref = new float[out.length];
            gpu.sparseDecode(q, k, v, lens, mask, out, shape, block, 1 / Math.sqrt(d));
            REF.sparseDecode(q, k, v, lens, mask, ref, shape, block, 1 / Math.sqrt(d));
            Gpu.assertClose("sparse decode Lmax=" + lmax + " " + new String[] {"none", "all", "random"}[trial]
                    + " selected", out, ref, TOL);
            float[] again = new float[out.length];
            gpu.sparseDecode(q, k, v, lens, mask, again, shape, block, 1 / Math.sqrt(d));
            assertArrayEquals(out, again, "run to run");
        }
    }

    @ParameterizedTest(name = "N={0} Hq={1} Hkv={2} D={3} B={4}")
    @MethodSource("attentionShapes")
    void teacherForcedRowsMatchTheReference(int n, int hq, int hkv, int d, int block) {
        Random random = new Random(n * 5L + hq);
        AttentionShape shape = new AttentionShape(1, n, hq, hkv, d);
        int nb = shape.blocks(block);
        float[] q = gaussian(random, shape.qElements(), 1.5);
        float[] k = gaussian(random, shape.kvElements(), 1.5);
        float[] v = gaussian(random, shape.kvElements(), 1);
        int from = n / 3;
        boolean[] mask = new boolean[(n - from) * hkv * nb];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = random.nextInt(3) == 0;
        }
        float[] out = new float[shape.qElements()];
        Arrays.fill(out, 42f);                              // rows before from are left alone
        float[] ref = out.clone();
        gpu.sparseDecodeRows(q, k, v, mask, from, out, shape, block, 0.3);
        REF.sparseDecodeRows(q, k, v, mask, from, ref, shape, block, 0.3);
        Gpu.assertClose("teacher-forced rows N=" + n + " from " + from, out, ref, TOL);
        if (from > 0) {
            assertEquals(42f, out[0], "a row before from was written");
        }
    }

    @ParameterizedTest(name = "N={0} Hq={1} Hkv={2} D={3} B={4}")
    @MethodSource("attentionShapes")
    void attentionWithDecodeTargetMatchesTheReference(int n, int hq, int hkv, int d, int block) {
        Random random = new Random(n * 11L + hkv);
        AttentionShape shape = new AttentionShape(2, n, hq, hkv, d);
        float[] q = gaussian(random, shape.qElements(), 1.5);
        float[] k = gaussian(random, shape.kvElements(), 1.5);
        float[] v = gaussian(random, shape.kvElements(), 1);
        float[] out = new float[shape.qElements()];
        float[] target = new float[2 * hkv * n * shape.blocks(block)];
        Arrays.fill(target, Float.NaN);                     // every element must be written
        float[] refOut = out.clone();
        float[] refTarget = target.clone();
        gpu.attentionWithDecodeTarget(q, k, v, out, target, shape, block, 1 / Math.sqrt(d));
        REF.attentionWithDecodeTarget(q, k, v, refOut, refTarget, shape, block, 1 / Math.sqrt(d));
        Gpu.assertClose("dense output N=" + n, out, refOut, TOL);
        Gpu.assertClose("decode target N=" + n + " B=" + block, target, refTarget, TOL);
    }

    @Test
    void badInputFailsWithTheReferencesMessageBeforeTheGpu() {
        Random random = new Random(1);
        DecodeGateWeights gate = gate(random, 4, 2, 16, 8, QueryHeadPooling.QProj, false,
                CompressedKeyPosition.CURRENT_TOKEN, DecodeGateConfig.DEFAULT_K_POOLS);
        float[] q = gaussian(random, 4 * 16, 1);
        q[5] = Float.NaN;
        for (DecodeOps ops : new DecodeOps[] {gpu, REF}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.decodeGateQuery(gate, q, new float[2 * 16], 1, 0));
            assertEquals("qNope contains NaN at flat index 5; inputs must be finite", e.getMessage());
            AttentionShape s = new AttentionShape(1, 10, 4, 2, 16);
            float[] kv = new float[s.kvElements()];
            e = assertThrows(IllegalArgumentException.class, () -> ops.sparseDecode(new float[64], kv, kv,
                    new int[] {11}, new boolean[2 * 2], new float[64], s, 8, 0.25));
            assertTrue(e.getMessage().contains("cacheSeqLens[0] must be in [1, Lmax = 10]"), e.getMessage());
        }
        assertTrue(DecodeOps.of(Engines.byName("cuda")) instanceof CudaEngine, "cuda implements DecodeOps");
    }
}
