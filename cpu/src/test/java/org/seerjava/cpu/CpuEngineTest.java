package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.seerjava.cpu.TestData.gaussian;
import static org.seerjava.cpu.TestData.relativeError;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.ReferenceEngine;

/** Every CPU operation against the reference on random shapes. */
class CpuEngineTest {
    private static final double TOL = 1e-5;
    private static final Engine CPU = new CpuEngine();
    private static final Engine REF = new ReferenceEngine();

    /** (N, Hq, Hkv, D, batch): N not a multiple of 64 or of the vector width, GQA 1–4, batch 2. */
    static Stream<Arguments> attentionShapes() {
        return Stream.of(
                Arguments.of(1, 2, 2, 16, 2),
                Arguments.of(37, 3, 1, 20, 2),
                Arguments.of(64, 4, 2, 64, 1),
                Arguments.of(100, 6, 2, 128, 2),
                Arguments.of(200, 4, 1, 32, 2),
                Arguments.of(257, 4, 4, 72, 1),
                Arguments.of(130, 8, 2, 128, 2));
    }

    private static AttentionShape shape(int n, int hq, int hkv, int d, int batch) {
        return new AttentionShape(batch, n, hq, hkv, d);
    }

    /** Gaussian q and k of standard deviation {@code qkStd} and v of 1, in that order from {@code random}. */
    private static float[][] qkv(Random random, AttentionShape s, double qkStd) {
        float[] q = gaussian(random, s.qElements(), qkStd);
        float[] k = gaussian(random, s.kvElements(), qkStd);
        return new float[][] {q, k, gaussian(random, s.kvElements(), 1.0)};
    }

    @ParameterizedTest(name = "dense N={0} Hq={1} Hkv={2} D={3} B={4}")
    @MethodSource("attentionShapes")
    void denseCausalMatchesReference(int n, int hq, int hkv, int d, int batch) {
        AttentionShape s = shape(n, hq, hkv, d, batch);
        Random random = new Random(n * 31L + hq);
        float[][] qkv = qkv(random, s, 1.0);
        float[] q = qkv[0];
        float[] k = qkv[1];
        float[] v = qkv[2];
        float[] out = new float[s.qElements()];
        float[] ref = new float[s.qElements()];
        CPU.denseCausal(q, k, v, out, s, s.defaultScale());
        REF.denseCausal(q, k, v, ref, s, s.defaultScale());
        assertThat(relativeError(out, ref)).isLessThanOrEqualTo(TOL);
    }

    @ParameterizedTest(name = "sparse N={0} Hq={1} Hkv={2} D={3} B={4}")
    @MethodSource("attentionShapes")
    void blockSparseMatchesReference(int n, int hq, int hkv, int d, int batch) {
        AttentionShape s = shape(n, hq, hkv, d, batch);
        Random random = new Random(n * 17L + d);
        float[][] qkv = qkv(random, s, 1.5);
        float[] q = qkv[0];
        float[] k = qkv[1];
        float[] v = qkv[2];
        for (int bs : new int[] {64, 16, 24, 100, 128}) {    // 100 and 128: tiles of two 64-row panels
            int nb = s.blocks(bs);
            byte[] bits = new byte[batch * hq * nb * nb];
            for (int i = 0; i < bits.length; i++) {
                int row = (i / nb) % nb;
                int col = i % nb;
                bits[i] = (byte) (col <= row && random.nextInt(3) > 0 ? 1 : 0);   // some rows empty
            }
            BlockMask mask = BlockMask.of(batch, hq, nb, bits);
            float[] out = new float[s.qElements()];
            float[] ref = new float[s.qElements()];
            CPU.blockSparse(q, k, v, mask, out, s, bs, 0.3);
            REF.blockSparse(q, k, v, mask, ref, s, bs, 0.3);
            assertThat(relativeError(out, ref)).as("block size %d", bs).isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void blockSparseWithEveryCausalBlockEqualsDense() {
        AttentionShape s = shape(300, 4, 2, 64, 1);
        Random random = new Random(5);
        float[] q = gaussian(random, s.qElements(), 1);
        float[] k = gaussian(random, s.kvElements(), 1);
        float[] v = gaussian(random, s.kvElements(), 1);
        float[] dense = new float[s.qElements()];
        float[] sparse = new float[s.qElements()];
        CPU.denseCausal(q, k, v, dense, s, 0.125);
        CPU.blockSparse(q, k, v, BlockMask.causal(1, 4, s.blocks(64)), sparse, s, 64, 0.125);
        assertThat(relativeError(sparse, dense)).isLessThanOrEqualTo(1e-7);
    }

    @ParameterizedTest(name = "fused target N={0} Hq={1} Hkv={2} D={3} B={4}")
    @MethodSource("attentionShapes")
    void attentionWithPooledTargetMatchesReference(int n, int hq, int hkv, int d, int batch) {
        AttentionShape s = shape(n, hq, hkv, d, batch);
        Random random = new Random(n * 7L + hkv);
        float[] q = gaussian(random, s.qElements(), 2.0);
        float[] k = gaussian(random, s.kvElements(), 2.0);
        float[] v = gaussian(random, s.kvElements(), 1.0);
        for (int bs : new int[] {64, 32, 128}) {
            int nb = s.blocks(bs);
            float[] out = new float[s.qElements()];
            float[] target = new float[batch * hq * nb * nb];
            float[] refOut = new float[s.qElements()];
            float[] refTarget = new float[target.length];
            CPU.attentionWithPooledTarget(q, k, v, out, target, s, bs, s.defaultScale());
            REF.attentionWithPooledTarget(q, k, v, refOut, refTarget, s, bs, s.defaultScale());
            assertThat(relativeError(out, refOut)).isLessThanOrEqualTo(TOL);
            assertThat(relativeError(target, refTarget)).as("target, block %d", bs).isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void poolingMatchesReferenceForEveryPoolSet() {
        Random random = new Random(3);
        for (int n : new int[] {1, 37, 64, 100, 200, 257}) {
            for (int dim : new int[] {20, 128}) {
                int heads = 3;
                float[] x = gaussian(random, 2 * n * heads * dim, 1);
                for (GateType type : List.of(GateType.parse("Qmaxminavg_Kmax"), GateType.parse("Qmin_Kminavg"),
                        GateType.parse("Qavg_Kmaxavg"), GateType.parse("Qmaxmin_Kmaxmin"))) {
                    for (List<Pool> pools : List.of(type.qPools(), type.kPools())) {
                        int nb = Math.ceilDiv(n, 64);
                        float[] out = new float[2 * nb * heads * dim * pools.size()];
                        float[] ref = new float[out.length];
                        CPU.pool(x, out, 2, n, heads, dim, 64, pools);
                        REF.pool(x, ref, 2, n, heads, dim, 64, pools);
                        assertThat(relativeError(out, ref)).as("N=%d dim=%d %s", n, dim, pools)
                                .isLessThanOrEqualTo(1e-6);
                    }
                }
            }
        }
    }

    /** Gate cases: (type, N, Hq, Hkv, D, Dg, forceDouble, llama3 scaling). */
    static Stream<Arguments> gateCases() {
        List<Arguments> cases = new ArrayList<>();
        cases.add(Arguments.of("Qavg_Kmaxminavg", 200, 4, 2, 64, 64, false, false));   // case B, GQA 2
        cases.add(Arguments.of("Qavg_Kmaxminavg", 257, 6, 2, 32, 16, false, true));   // case A (Dg ≠ D), GQA 3
        cases.add(Arguments.of("Qmaxminavg_Kmaxminavg", 130, 4, 1, 32, 32, false, false)); // case A (qdup), GQA 4
        cases.add(Arguments.of("Qavg_Kmax", 37, 2, 2, 48, 48, false, false));         // case B, one block
        cases.add(Arguments.of("Qavg_Kmin", 100, 2, 2, 48, 48, true, false));         // forced Q linear
        cases.add(Arguments.of("Qmax_Kavg", 1, 2, 1, 16, 16, false, false));          // N = 1
        return cases.stream();
    }

    @ParameterizedTest(name = "gate {0} N={1} Hq={2} Hkv={3} D={4} Dg={5} force={6} llama3={7}")
    @MethodSource("gateCases")
    void gateScoresMatchReference(String typeName, int n, int hq, int hkv, int d, int dg, boolean force,
                                  boolean llama3) {
        RopeConfig rope = llama3
                ? new RopeConfig(500000, dg, new RopeConfig.Scaling.Llama3(8, 1, 4, 8192))
                : RopeConfig.of(10000, dg);
        GateConfig config = new GateConfig(GateType.parse(typeName), 64, dg, force, rope);
        AttentionShape s = shape(n, hq, hkv, d, 2);
        Random random = new Random(n + dg);
        float[] q = gaussian(random, s.qElements(), 1);
        float[] k = gaussian(random, s.kvElements(), 1);
        float[] wq = config.hasQLinear(d) ? gaussian(random, config.qWeightElements(s), 0.1) : null;
        float[] wk = gaussian(random, config.kWeightElements(s), 0.1);
        int nb = s.blocks(64);
        for (boolean softmax : new boolean[] {false, true}) {
            float[] out = new float[2 * hq * nb * nb];
            float[] ref = new float[out.length];
            CPU.gateScores(q, k, wq, wk, out, s, config, softmax);
            REF.gateScores(q, k, wq, wk, ref, s, config, softmax);
            float[] outLive = new float[out.length];
            float[] refLive = new float[out.length];
            for (int i = 0; i < out.length; i++) {
                boolean masked = (i % nb) > (i / nb) % nb;
                if (masked) {
                    assertThat(out[i]).as("masked entry %d", i).isEqualTo(ref[i])
                            .isEqualTo(softmax ? 0f : (float) AttnGate.MASKED_LOGIT);
                } else {
                    outLive[i] = out[i];
                    refLive[i] = ref[i];
                }
            }
            assertThat(relativeError(outLive, refLive)).as("softmax=%s", softmax).isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void selectionMasksAreIdentical() {
        Random random = new Random(9);
        for (int nb : new int[] {1, 2, 3, 7, 16, 33}) {
            float[] scores = new float[2 * 3 * nb * nb];
            for (int i = 0; i < scores.length; i++) {
                int row = (i / nb) % nb;
                int col = i % nb;
                // ties on purpose: a few repeated values
                scores[i] = col > row ? (float) AttnGate.MASKED_LOGIT : (float) Math.round(random.nextDouble() * 8) / 8f;
            }
            for (SelectionRule rule : List.<SelectionRule>of(
                    new SelectionRule.Threshold(0.5, false, false), new SelectionRule.Threshold(0.25, true, true),
                    new SelectionRule.Threshold(0.0, true, false), new SelectionRule.TopK(0.5, true, false),
                    new SelectionRule.TopK(0.1, false, true), new SelectionRule.TopK(1.0, false, false),
                    new SelectionRule.TopK(0.3, true, true))) {
                assertThat(CPU.select(scores, 2, 3, nb, rule)).as("nb=%d %s", nb, rule)
                        .isEqualTo(REF.select(scores, 2, 3, nb, rule));
            }
        }
    }

    @Test
    void distillationLossAndGradientMatchReference() {
        Random random = new Random(4);
        for (int nb : new int[] {1, 3, 8, 13}) {
            int batch = 2;
            int heads = 3;
            int n = batch * heads * nb * nb;
            float[] logits = new float[n];
            float[] target = new float[n];
            for (int i = 0; i < n; i++) {
                int row = (i / nb) % nb;
                int col = i % nb;
                logits[i] = col > row ? (float) AttnGate.MASKED_LOGIT : (float) random.nextGaussian();
                target[i] = col > row || random.nextInt(4) == 0 ? 0f : random.nextFloat();
            }
            float[] grad = new float[n];
            float[] refGrad = new float[n];
            double loss = CPU.distillationLoss(logits, target, grad, batch, heads, nb);
            double refLoss = REF.distillationLoss(logits, target, refGrad, batch, heads, nb);
            assertThat(loss).isCloseTo(refLoss, org.assertj.core.data.Offset.offset(1e-6 * Math.abs(refLoss) + 1e-12));
            assertThat(relativeError(grad, refGrad)).isLessThanOrEqualTo(TOL);
            assertThat(CPU.distillationLoss(logits, target, null, batch, heads, nb)).isEqualTo(loss);
        }
    }

    @Test
    void badInputIsRejectedLikeTheReference() {
        AttentionShape s = shape(70, 2, 1, 16, 1);
        float[] q = new float[s.qElements()];
        float[] kv = new float[s.kvElements()];
        float[] out = new float[s.qElements()];
        float[] nan = q.clone();
        nan[17] = Float.NaN;
        float[] inf = kv.clone();
        inf[3] = Float.POSITIVE_INFINITY;
        float[] nanV64 = new float[64 * 64];
        nanV64[4000] = Float.NaN;
        List<Runnable> bad = List.of(
                () -> CPU.denseCausal(new float[3], kv, kv, out, s, 0.25),
                () -> CPU.denseCausal(nan, kv, kv, out, s, 0.25),
                () -> CPU.denseCausal(q, inf, kv, out, s, 0.25),
                () -> CPU.denseCausal(q, kv, inf, out, s, 0.25),                       // V checked while packed
                () -> CPU.blockSparse(q, kv, inf, BlockMask.causal(1, 2, 2), out, s, 64, 0.25),
                () -> CPU.denseCausal(new float[2 * 64 * 64], new float[64 * 64], nanV64, new float[2 * 64 * 64],
                        new AttentionShape(1, 64, 2, 1, 64), 0.25),                     // V used in place
                () -> CPU.denseCausal(q, kv, kv, new float[1], s, 0.25),
                () -> CPU.denseCausal(q, kv, kv, out, s, Double.NaN),
                () -> CPU.denseCausal(q, kv, kv, out, s, 0),
                () -> CPU.denseCausal(q, kv, kv, out, null, 0.25),
                () -> CPU.blockSparse(q, kv, kv, null, out, s, 64, 0.25),
                () -> CPU.blockSparse(q, kv, kv, BlockMask.causal(1, 2, 3), out, s, 64, 0.25),
                () -> CPU.blockSparse(q, kv, kv, BlockMask.causal(1, 2, 2), out, s, 0, 0.25),
                () -> CPU.attentionWithPooledTarget(q, kv, kv, out, new float[5], s, 64, 0.25),
                () -> CPU.pool(nan, new float[2 * 2 * 16], 1, 70, 2, 16, 64, List.of(Pool.MAX)),
                () -> CPU.pool(q, new float[3], 1, 70, 2, 16, 64, List.of(Pool.MAX)),
                () -> CPU.pool(q, new float[2 * 2 * 16], 1, 70, 2, 16, 64, List.of()),
                () -> CPU.select(new float[7], 1, 1, 3, new SelectionRule.TopK(0.5, false, false)),
                () -> CPU.select(new float[] {Float.NaN}, 1, 1, 1, new SelectionRule.TopK(0.5, false, false)),
                () -> CPU.select(new float[1], 1, 1, 1, null),
                () -> CPU.distillationLoss(new float[4], new float[] {0, -1, 0, 0}, null, 1, 1, 2),
                () -> CPU.distillationLoss(new float[] {Float.NaN, 0, 0, 0}, new float[4], null, 1, 1, 2),
                () -> CPU.distillationLoss(new float[4], new float[4], new float[3], 1, 1, 2),
                () -> CPU.gateScores(q, kv, null, new float[5], new float[4 * 2], s,
                        GateConfig.of(GateType.DEFAULT, 64, 16, 10000), false),
                () -> CPU.gateScores(nan, kv, null, new float[2 * 48 * 16], new float[2 * 4], s,
                        GateConfig.of(GateType.DEFAULT, 64, 16, 10000), false),
                () -> CPU.gateScores(q, kv, new float[1], new float[2 * 48 * 16], new float[2 * 4], s,
                        GateConfig.of(GateType.DEFAULT, 64, 16, 10000), false));
        for (int i = 0; i < bad.size(); i++) {
            assertThatThrownBy(bad.get(i)::run).as("case %d", i).isInstanceOf(IllegalArgumentException.class);
        }
        // bad input leaves the output untouched (no partial writes): NaN in the last row of q
        float[] lateNan = q.clone();
        lateNan[lateNan.length - 1] = Float.NaN;
        for (boolean sparse : new boolean[] {false, true}) {
            float[] untouched = new float[s.qElements()];
            java.util.Arrays.fill(untouched, 7f);
            assertThatThrownBy(() -> {
                if (sparse) {
                    CPU.blockSparse(lateNan, kv, kv, BlockMask.causal(1, 2, 2), untouched, s, 64, 0.25);
                } else {
                    CPU.denseCausal(lateNan, kv, kv, untouched, s, 0.25);
                }
            }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q contains NaN");
            for (float x : untouched) {
                org.assertj.core.api.Assertions.assertThat(x).isEqualTo(7f);
            }
        }
        // the well-formed gate call beside the bad ones runs and gives the reference's logits
        float[] wk = gaussian(new Random(3), 2 * 48 * 16, 0.1);
        float[] logits = new float[2 * 4];
        float[] refLogits = new float[2 * 4];
        GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 16, 10000);
        CPU.gateScores(q, kv, null, wk, logits, s, gate, false);
        REF.gateScores(q, kv, null, wk, refLogits, s, gate, false);
        assertThat(relativeError(logits, refLogits)).isLessThanOrEqualTo(TOL);
        assertThat(logits[1]).as("block-causal: entry (0, 1) is the masked logit")
                .isEqualTo((float) AttnGate.MASKED_LOGIT);
    }

    /**
     * keepDiagonal puts back a diagonal block that scores lowest in its row, and only keepDiagonal does: without it
     * the threshold drops every diagonal and top-k the diagonal of every row with k better blocks.
     */
    @Test
    void keepDiagonalPutsBackTheLowestScoringDiagonal() {
        Random random = new Random(12);
        for (int nb : new int[] {2, 5, 9, 33}) {
            float[] scores = new float[2 * 3 * nb * nb];
            for (int i = 0; i < scores.length; i++) {
                int row = (i / nb) % nb;
                int col = i % nb;
                scores[i] = col > row ? (float) AttnGate.MASKED_LOGIT : col == row ? 1e-4f
                        : 0.05f + random.nextFloat();
            }
            for (boolean keep : new boolean[] {true, false}) {
                for (SelectionRule rule : List.<SelectionRule>of(new SelectionRule.TopK(0.3, false, keep),
                        new SelectionRule.Threshold(0.01, false, keep))) {
                    BlockMask got = CPU.select(scores, 2, 3, nb, rule);
                    assertThat(got).as("nb=%d %s", nb, rule).isEqualTo(REF.select(scores, 2, 3, nb, rule));
                    int k = rule instanceof SelectionRule.TopK t ? t.k(nb) : 0;
                    for (int row = 0; row < 2 * 3 * nb; row++) {
                        int i = row % nb;
                        boolean dropped = rule instanceof SelectionRule.Threshold || i >= k;
                        if (keep || dropped) {
                            assertThat(got.keep(row / nb / 3, row / nb % 3, i, i)).as("nb=%d %s row %d", nb, rule, row)
                                    .isEqualTo(keep);
                        }
                    }
                }
            }
        }
    }

    @Test
    void registeredAsTheFastestEngine() {
        Engine engine = Engines.byName("cpu");
        assertThat(engine).isInstanceOf(CpuEngine.class);
        assertThat(engine.description()).contains("bit").contains("threads");
        assertThat(Engines.fastest().name()).isIn("cpu", "cuda");
        assertThat(new CpuEngine.Provider().priority()).isEqualTo(10);
        assertThat(new CpuEngine.Provider().unavailableReason()).isNull();
    }

    @Test
    void distillationLossRejectsANegativeTargetLikeTheReference() {
        float[] target = {0, 0, -0.5f, 0};
        assertThatThrownBy(() -> CPU.distillationLoss(new float[4], target, null, 1, 1, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("target must be a probability map (>= 0), found -0.5 at flat index 2");
    }
}
