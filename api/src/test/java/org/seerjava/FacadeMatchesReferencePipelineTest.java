package org.seerjava;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.BlockSparseAttention;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.Floats;
import org.seerjava.reference.engine.ReferenceEngine;

/**
 * The facade against the reference pipeline, written out step by step in float64: RoPE on q and k
 * ({@link Rope}), the gate's softmax scores on the pre-RoPE q and k ({@link ReferenceEngine#gateScores}), the
 * selection rule ({@link ReferenceEngine#select}), block-sparse attention on the rotated q and k with scale D^-½
 * ({@link BlockSparseAttention}). The mask must be the same block for block and the output the same element by
 * element (float32 rounding), on every engine this machine has, for GQA (3 query heads per kv head), a batch of 2
 * and a partial last block (N = 333 = 5 · 64 + 13), with a gate without and one with a Q linear, top-k at a density
 * and a threshold. The data are checked to make each defect visible: some rows keep their diagonal only because the
 * rule puts it back, and no top-k row has a near tie that float32 could break differently.
 */
class FacadeMatchesReferencePipelineTest {
    static final int B = 2;
    static final int N = 333;
    static final int HQ = 6;
    static final int HKV = 2;
    static final int D = 64;
    static final RopeConfig ROPE = RopeConfig.of(100_000, D);

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (EngineProvider p : Engines.providers()) {
            String reason = p.unavailableReason();
            if (p.name().equals("cuda")) {
                CudaRequirement.skipReason(reason);   // -Dseer.requireCuda=true: the cuda case must run
            }
            if (reason != null) {
                System.out.println("[seer-api] facade vs reference pipeline: engine " + p.name() + " not here: "
                        + reason.lines().findFirst().orElse(reason));
                continue;
            }
            for (String gate : List.of("Qavg_Kmaxminavg/64", "Qavg_Kmaxmin/32")) {
                for (String rule : List.of("density 0.3", "threshold 0.35")) {
                    list.add(Arguments.of(p.name(), gate, rule));
                }
            }
        }
        return list.stream();
    }

    static float[] gaussian(Random r, long n, double std) {
        float[] x = new float[Math.toIntExact(n)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * std);
        }
        return x;
    }

    @ParameterizedTest(name = "{0}, gate {1}, {2}")
    @MethodSource("cases")
    void facadeEqualsTheReferencePipeline(String engine, String gateName, String ruleName) {
        AttentionShape shape = new AttentionShape(B, N, HQ, HKV, D);
        int nb = shape.blocks(64);
        Random r = new Random(41);
        float[] q = gaussian(r, shape.qElements(), 1);
        float[] k = gaussian(r, shape.kvElements(), 1);
        float[] v = gaussian(r, shape.kvElements(), 1);
        String[] g = gateName.split("/");
        GateConfig cfg = GateConfig.of(GateType.parse(g[0]), 64, Integer.parseInt(g[1]), ROPE.theta());
        float[] wq = cfg.hasQLinear(D) ? gaussian(r, cfg.qWeightElements(shape), 0.1) : null;
        float[] wk = gaussian(r, cfg.kWeightElements(shape), 0.1);
        String[] rp = ruleName.split(" ");
        double value = Double.parseDouble(rp[1]);
        SelectionRule rule = rp[0].equals("density") ? new SelectionRule.TopK(value, false, true)
                : new SelectionRule.Threshold(value, true, false);

        SeerAttention.Builder builder = SeerAttention.builder().heads(HQ, HKV).headDim(D).rope(ROPE)
                .gates(cfg, wq, wk).backend(engine);
        SeerAttention seer = (rp[0].equals("density") ? builder.density(value) : builder.threshold(value)).build();
        assertThat(seer.engine().name()).isEqualTo(engine);
        SeerAttention.Result got = seer.prefill(q, k, v, B, N);

        // the reference pipeline, step by step
        ReferenceEngine ref = new ReferenceEngine();
        float[] scores = new float[B * HQ * nb * nb];
        ref.gateScores(q, k, wq, wk, scores, shape, cfg, true);
        BlockMask mask = ref.select(scores, B, HQ, nb, rule);
        double[] qr = Floats.toDouble(q);
        double[] kr = Floats.toDouble(k);
        Rope rope = new Rope(ROPE);
        rope.apply(qr, B, N, HQ, D, Rope.positions(N));
        rope.apply(kr, B, N, HKV, D, Rope.positions(N));
        double[] want = new double[(int) shape.qElements()];
        BlockSparseAttention.forward(qr, kr, Floats.toDouble(v), mask, want, shape, 64, 1 / Math.sqrt(D));

        // the data make the defects visible
        if (rule instanceof SelectionRule.TopK t) {
            assertThat(ref.select(scores, B, HQ, nb, new SelectionRule.TopK(t.nzRatio(), false, false)))
                    .as("some row keeps its diagonal only through keepDiagonal").isNotEqualTo(mask);
            assertThat(minTopKGap(scores, nb, t.k(nb))).as("no near tie at a top-k boundary").isGreaterThan(1e-4);
        } else {
            assertThat(mask.density()).as("the threshold keeps some blocks and drops some").isBetween(0.3, 0.9);
        }

        assertThat(got.mask()).as("mask").isEqualTo(mask);
        assertThat(got.density()).isEqualTo(mask.density());
        for (int bh = 0; bh < B * HQ; bh++) {
            int kept = 0;
            for (int i = 0; i < nb; i++) {
                for (int j = 0; j <= i; j++) {
                    kept += mask.keep(bh / HQ, bh % HQ, i, j) ? 1 : 0;
                }
            }
            assertThat(got.densityPerHead()[bh]).as("density of (batch, head) %d", bh)
                    .isEqualTo(kept / (nb * (nb + 1) / 2.0));
        }
        assertElementwise("sparse output", got.output(), want);

        double[] dense = new double[want.length];
        DenseAttention.causal(qr, kr, Floats.toDouble(v), dense, shape, 1 / Math.sqrt(D));
        assertElementwise("dense output", seer.prefillDense(q, k, v, B, N), dense);
        System.out.printf("[seer-api] %s, gate %s, %s: mask equal (density %.3f), outputs within float32 rounding%n",
                engine, gateName, ruleName, mask.density());
    }

    /** The smallest gap, over rows, between the k-th and the (k+1)-th largest causal score. */
    static double minTopKGap(float[] scores, int nb, int k) {
        double min = Double.POSITIVE_INFINITY;
        for (int row = 0; row < scores.length / nb; row++) {
            int i = row % nb;
            if (i + 1 <= k) {
                continue;                          // every causal block fits
            }
            float[] s = new float[i + 1];
            System.arraycopy(scores, row * nb, s, 0, i + 1);
            java.util.Arrays.sort(s);
            min = Math.min(min, s[i + 1 - k] - s[i - k]);
        }
        return min;
    }

    /** |got − want| ≤ 2e-5 · (1 + |want|) for every element: float32 RoPE and attention against float64. */
    static void assertElementwise(String what, float[] got, double[] want) {
        assertThat(got).as(what).hasSize(want.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < want.length; i++) {
            double e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
            if (!(e <= worst)) {
                worst = e;
                at = i;
            }
        }
        assertThat(worst).as("%s: worst element %d, %s vs %s", what, at, at < 0 ? "" : got[at],
                at < 0 ? "" : want[at]).isLessThanOrEqualTo(2e-5);
    }
}
