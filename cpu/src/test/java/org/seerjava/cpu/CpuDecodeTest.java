package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.seerjava.cpu.TestData.gaussian;
import static org.seerjava.cpu.TestData.relativeError;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.DecodeSelection;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.DecodeOps;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.ReferenceEngine;

/** Every CPU decode operation against the reference on random shapes and gates. */
class CpuDecodeTest {
    private static final double TOL = 1e-5;
    private static final CpuEngine CPU = new CpuEngine();
    private static final ReferenceEngine REF = new ReferenceEngine();

    /** (Hq, Hkv, D, block, pooling, qk norm, key position, K pools): GQA 1–4, D not a multiple of the vector width. */
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
        CPU.decodeGateQuery(gate, qNope, qGate, batch, 777);
        REF.decodeGateQuery(gate, qNope, qRef, batch, 777);
        assertThat(relativeError(qGate, qRef)).as("gate query").isLessThanOrEqualTo(TOL);

        int seqLen = 5 * block + 3;                           // a partial last block
        int nb = 6;
        float[] kNope = gaussian(random, batch * seqLen * hkv * d, 1);
        int[] positions = {0, block, 2 * block, 3 * block + 1, 4 * block - 1, 5000};
        float[] kc = new float[batch * nb * hkv * d];
        float[] kcRef = new float[kc.length];
        CPU.compressedKeys(gate, kNope, kc, batch, seqLen, positions);
        REF.compressedKeys(gate, kNope, kcRef, batch, seqLen, positions);
        assertThat(relativeError(kc, kcRef)).as("compressed keys").isLessThanOrEqualTo(TOL);

        boolean[] blockMask = {false, true, true, true, true, true, true, true, true, true, true, true};
        for (boolean softmax : new boolean[] {false, true}) {
            float[] s = new float[batch * hkv * nb];
            float[] sRef = new float[s.length];
            CPU.decodeGateScores(gate, qRef, kcRef, blockMask, s, batch, nb, softmax);
            REF.decodeGateScores(gate, qRef, kcRef, blockMask, sRef, batch, nb, softmax);
            assertThat(relativeError(s, sRef)).as("scores, softmax " + softmax).isLessThanOrEqualTo(TOL);
        }
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
        CompressedKeyCache cpu = CPU.kCompressionCache(gate, batch, prompt + steps);
        CompressedKeyCache ref = REF.kCompressionCache(gate, batch, prompt + steps);
        float[] promptKeys = gaussian(random, batch * prompt * hkv * d, 1);
        cpu.prefill(promptKeys, prompt);
        ref.prefill(promptKeys, prompt);
        float[] q = gaussian(random, batch * hkv * d, 1);
        for (int step = 0; step <= steps; step++) {
            assertThat(cpu.blocks()).isEqualTo(ref.blocks());
            assertThat(cpu.length()).isEqualTo(ref.length());
            assertThat(cpu.remainderLength()).isEqualTo(ref.remainderLength());
            assertThat(relativeError(cpu.compressed(), ref.compressed())).as("step %d", step)
                    .isLessThanOrEqualTo(TOL);
            float[] s = new float[batch * hkv * cpu.blocks()];
            float[] sRef = new float[s.length];
            cpu.scores(q, null, s);
            ref.scores(q, null, sRef);
            assertThat(relativeError(s, sRef)).as("scores at step %d", step).isLessThanOrEqualTo(TOL);
            if (step < steps) {
                float[] k = gaussian(random, batch * hkv * d, 1);
                cpu.push(k);
                ref.push(k);
            }
        }
        assertThatThrownBy(() -> cpu.push(new float[batch * hkv * d])).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("full");
        cpu.reset();
        assertThat(cpu.length()).isZero();
        cpu.prefill(promptKeys, prompt);                     // reusable after reset, same entries as before
        CompressedKeyCache again = REF.kCompressionCache(gate, batch, prompt + steps);
        again.prefill(promptKeys, prompt);
        assertThat(relativeError(cpu.compressed(), again.compressed())).isLessThanOrEqualTo(TOL);
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
            assertThat(CPU.decodeSelect(scores, batch, hkv, blocks, blockSize, blockMask, rule))
                    .as("trial %d, %s", trial, rule)
                    .containsExactly(REF.decodeSelect(scores, batch, hkv, blocks, blockSize, blockMask, rule));
        }
    }

    /** (Lmax, Hq, Hkv, D, block). */
    static Stream<Arguments> attentionShapes() {
        return Stream.of(
                Arguments.of(1, 2, 2, 16, 4),
                Arguments.of(37, 3, 1, 20, 8),
                Arguments.of(100, 6, 2, 64, 16),
                Arguments.of(257, 4, 4, 72, 64),
                Arguments.of(130, 8, 2, 128, 16));
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
            CPU.sparseDecode(q, k, v, lens, mask, out, shape, block, 1 / Math.sqrt(d));
            REF.sparseDecode(q, k, v, lens, mask, ref, shape, block, 1 / Math.sqrt(d));
            assertThat(relativeError(out, ref)).as("trial %d", trial).isLessThanOrEqualTo(TOL);
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
        CPU.sparseDecodeRows(q, k, v, mask, from, out, shape, block, 0.3);
        REF.sparseDecodeRows(q, k, v, mask, from, ref, shape, block, 0.3);
        assertThat(relativeError(out, ref)).isLessThanOrEqualTo(TOL);
        assertThat(out[0]).isEqualTo(from > 0 ? 42f : out[0]);
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
        float[] refOut = out.clone();
        float[] refTarget = target.clone();
        CPU.attentionWithDecodeTarget(q, k, v, out, target, shape, block, 1 / Math.sqrt(d));
        REF.attentionWithDecodeTarget(q, k, v, refOut, refTarget, shape, block, 1 / Math.sqrt(d));
        assertThat(relativeError(out, refOut)).isLessThanOrEqualTo(TOL);
        assertThat(relativeError(target, refTarget)).isLessThanOrEqualTo(TOL);
    }

    @Test
    void badInputFailsWithTheReferencesMessage() {
        Random random = new Random(1);
        DecodeGateWeights gate = gate(random, 4, 2, 16, 8, QueryHeadPooling.QProj, false,
                CompressedKeyPosition.CURRENT_TOKEN, DecodeGateConfig.DEFAULT_K_POOLS);
        float[] q = gaussian(random, 4 * 16, 1);
        q[5] = Float.NaN;
        for (DecodeOps ops : new DecodeOps[] {CPU, REF}) {
            assertThatThrownBy(() -> ops.decodeGateQuery(gate, q, new float[2 * 16], 1, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("qNope contains NaN at flat index 5; "
                            + "inputs must be finite");
            assertThatThrownBy(() -> ops.decodeGateQuery(gate, new float[3], new float[2 * 16], 1, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("qNope [batch, Hq, D] has 3 elements, expected 64");
            AttentionShape s = new AttentionShape(1, 10, 4, 2, 16);
            float[] kv = new float[s.kvElements()];
            float[] bad = kv.clone();
            bad[7] = Float.POSITIVE_INFINITY;
            assertThatThrownBy(() -> ops.sparseDecode(new float[64], bad, kv, new int[] {10}, new boolean[2 * 2],
                    new float[64], s, 8, 0.25)).hasMessage("kCache contains Infinity at flat index 7; inputs must "
                    + "be finite");
            assertThatThrownBy(() -> ops.sparseDecode(new float[64], kv, kv, new int[] {11}, new boolean[2 * 2],
                    new float[64], s, 8, 0.25)).hasMessageContaining("cacheSeqLens[0] must be in [1, Lmax = 10]");
        }
        float[] w = new float[2 * 3 * 16 * 16];
        w[3] = Float.NaN;
        assertThatThrownBy(() -> new DecodeGateWeights(4, 2, 16, gate.config(), gate.wq(), w, null, null))
                .hasMessageContaining("W_k (attngate_linear_k) contains NaN at flat index 3");
        assertThatThrownBy(() -> new DecodeGateWeights(4, 2, 32, gate.config(), gate.wq(), gate.wk(), null, null))
                .hasMessageContaining("must equal headDim (D) = 32");
    }

    @Test
    void decodeOpsAreFoundOnTheCpuAndReferenceEngines() {
        assertThat(DecodeOps.of(Engines.byName("cpu"))).isInstanceOf(CpuEngine.class);
        assertThat(DecodeOps.of(Engines.byName("reference"))).isInstanceOf(ReferenceEngine.class);
        assertThat(DecodeSelection.firstRealBlock(5, 4)).isEqualTo(1);
    }
}
