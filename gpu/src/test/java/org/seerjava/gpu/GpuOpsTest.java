package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.golden.GoldenCase;
import org.seerjava.reference.io.SafeTensors;

/** The fp32 CUDA engine against the reference (≤ 1e-5 relative) on golden cases and random shapes. */
class GpuOpsTest {
    static final double TOL = 1e-5;
    final ReferenceEngine ref = new ReferenceEngine();
    CudaEngine gpu;

    @BeforeEach
    void setUp() {
        Gpu.assume();
        gpu = new CudaEngine();
    }

    /** Masks agree except where the reference score is within 1e-3 of the threshold. */
    static void assertMasksAgree(String what, BlockMask got, BlockMask want, float[] scores, double threshold) {
        byte[] g = got.toBytes();
        byte[] w = want.toBytes();
        int differ = 0;
        int excused = 0;
        for (int i = 0; i < g.length; i++) {
            if (g[i] != w[i]) {
                if (scores != null && Math.abs(scores[i] - threshold) < 1e-3) {
                    excused++;
                } else {
                    differ++;
                }
            }
        }
        System.out.printf("[seer-gpu] %-60s %d differing mask entries, %d excused near threshold%n", what, differ,
                excused);
        assertEquals(0, differ, what + ": masks differ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"golden-small-gqa", "golden-partial-block", "golden-batch2"})
    void goldenCase(String name) {
        Path file = Path.of("../golden-data/" + name + ".safetensors");
        org.junit.jupiter.api.Assumptions.assumeTrue(
                CudaRequirement.skipReason(Files.exists(file) ? null : "golden file missing: " + file) == null,
                "golden file missing: " + file);
        try (SafeTensors st = SafeTensors.open(file)) {
            GoldenCase c = GoldenCase.of(st);
            AttentionShape shape = c.shape();
            int B = shape.batch();
            int N = shape.seqLen();
            int Hq = shape.qHeads();
            int Hkv = shape.kvHeads();
            int D = shape.headDim();
            int bs = c.blockSize();
            GateType type = c.gateType();
            double threshold = c.threshold();
            double nz = c.nzRatio();
            boolean lbd = c.lastBlockDense();
            double scale = c.softmaxScale();
            GateConfig cfg = c.gateConfig();
            int nb = shape.blocks(bs);
            float[] q = st.floats("q");
            float[] k = st.floats("k");
            float[] qr = st.floats("q_rope");
            float[] kr = st.floats("k_rope");
            float[] v = st.floats("v");
            float[] wq = st.contains("weight.mask_linear_q.weight") ? st.floats("weight.mask_linear_q.weight") : null;
            float[] wk = st.floats("weight.mask_linear_k.weight");

            float[] qp = new float[st.floats("gate.q_pooled").length];
            gpu.pool(q, qp, B, N, Hq, D, bs, type.qPools());
            Gpu.assertClose(name + " q pooled vs golden", qp, st.floats("gate.q_pooled"), TOL);
            float[] kp = new float[st.floats("gate.k_pooled").length];
            gpu.pool(k, kp, B, N, Hkv, D, bs, type.kPools());
            Gpu.assertClose(name + " k pooled vs golden", kp, st.floats("gate.k_pooled"), TOL);

            float[] scores = new float[B * Hq * nb * nb];
            gpu.gateScores(q, k, wq, wk, scores, shape, cfg, true);
            float[] refScores = new float[scores.length];
            ref.gateScores(q, k, wq, wk, refScores, shape, cfg, true);
            Gpu.assertClose(name + " gate scores vs reference", scores, refScores, TOL);
            Gpu.assertClose(name + " gate scores vs golden", scores, st.floats("gate.scores"), 1e-4);

            float[] gold = st.floats("gate.scores");
            BlockMask thr = gpu.select(gold, B, Hq, nb, new SelectionRule.Threshold(threshold, lbd, false));
            BlockMask goldThr = BlockMask.of(B, Hq, nb, st.bytes("mask.threshold"));
            assertMasksAgree(name + " threshold mask vs golden", thr, goldThr, gold, threshold);
            BlockMask top = gpu.select(gold, B, Hq, nb, new SelectionRule.TopK(nz, lbd, false));
            assertMasksAgree(name + " top-k mask vs golden", top, BlockMask.of(B, Hq, nb, st.bytes("mask.nz_ratio")),
                    null, 0);

            float[] dense = new float[shape.qElements()];
            gpu.denseCausal(qr, kr, v, dense, shape, scale);
            Gpu.assertClose(name + " dense attention vs golden", dense, st.floats("attn.dense"), TOL);
            float[] sparse = new float[shape.qElements()];
            gpu.blockSparse(qr, kr, v, goldThr, sparse, shape, bs, scale);
            Gpu.assertClose(name + " sparse attention vs golden", sparse, st.floats("attn.sparse_threshold"), TOL);
            float[] out = new float[shape.qElements()];
            float[] target = new float[B * Hq * nb * nb];
            gpu.attentionWithPooledTarget(qr, kr, v, out, target, shape, bs, scale);
            Gpu.assertClose(name + " fused dense output vs golden", out, st.floats("attn.dense"), TOL);
            Gpu.assertClose(name + " pooled target vs golden", target, st.floats("gt.pooled_attention"), TOL);
        }
    }

    @ParameterizedTest
    @CsvSource({"2, 200, 8, 8, 64", "2, 333, 8, 4, 128", "2, 130, 8, 2, 64", "2, 77, 8, 1, 128", "1, 64, 2, 1, 32"})
    void randomShapes(int B, int N, int Hq, int Hkv, int D) {
        Random r = new Random(N * 31L + Hkv);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        int bs = 64;
        int nb = shape.blocks(bs);
        String tag = "B" + B + " N" + N + " Hq" + Hq + " Hkv" + Hkv + " D" + D;
        float[] q = Gpu.random(r, shape.qElements());
        float[] k = Gpu.random(r, shape.kvElements());
        float[] v = Gpu.random(r, shape.kvElements());

        List<Pool> pools = List.of(Pool.MAX, Pool.MIN, Pool.AVG);
        float[] p1 = new float[B * nb * Hkv * D * 3];
        float[] p2 = new float[p1.length];
        gpu.pool(k, p1, B, N, Hkv, D, bs, pools);
        ref.pool(k, p2, B, N, Hkv, D, bs, pools);
        Gpu.assertClose(tag + " pool maxminavg", p1, p2, TOL);

        for (int dg : new int[] {D, 32}) {   // case B (no Q linear) and case A (Q linear)
            GateConfig cfg = GateConfig.of(GateType.DEFAULT, bs, dg, 10000);
            float[] wq = cfg.hasQLinear(D) ? Gpu.random(r, cfg.qWeightElements(shape)) : null;
            float[] wk = Gpu.random(r, cfg.kWeightElements(shape));
            for (int i = 0; i < wk.length; i++) {
                wk[i] *= 0.05f;
            }
            if (wq != null) {
                for (int i = 0; i < wq.length; i++) {
                    wq[i] *= 0.1f;
                }
            }
            for (boolean softmax : new boolean[] {false, true}) {
                float[] s1 = new float[B * Hq * nb * nb];
                float[] s2 = new float[s1.length];
                gpu.gateScores(q, k, wq, wk, s1, shape, cfg, softmax);
                ref.gateScores(q, k, wq, wk, s2, shape, cfg, softmax);
                Gpu.assertClose(tag + " gate Dg" + dg + (softmax ? " scores" : " logits"), s1, s2, TOL);
                if (softmax) {
                    double thr = 0.2;
                    var rule = new SelectionRule.Threshold(thr, true, false);
                    assertMasksAgree(tag + " threshold select", gpu.select(s2, B, Hq, nb, rule),
                            ref.select(s2, B, Hq, nb, rule), s2, thr);
                    var top = new SelectionRule.TopK(0.4, false, true);
                    assertMasksAgree(tag + " top-k select", gpu.select(s2, B, Hq, nb, top),
                            ref.select(s2, B, Hq, nb, top), null, 0);
                }
            }
        }

        double scale = 1 / Math.sqrt(D);
        float[] o1 = new float[shape.qElements()];
        float[] o2 = new float[shape.qElements()];
        gpu.denseCausal(q, k, v, o1, shape, scale);
        ref.denseCausal(q, k, v, o2, shape, scale);
        Gpu.assertClose(tag + " dense attention", o1, o2, TOL);

        byte[] bits = new byte[B * Hq * nb * nb];
        for (int i = 0; i < bits.length; i++) {
            int qb = (i / nb) % nb;
            int kb = i % nb;
            bits[i] = (byte) (kb <= qb && r.nextDouble() < 0.5 ? 1 : 0);   // empty rows happen: they must be zero
        }
        BlockMask mask = BlockMask.of(B, Hq, nb, bits);
        gpu.blockSparse(q, k, v, mask, o1, shape, bs, scale);
        ref.blockSparse(q, k, v, mask, o2, shape, bs, scale);
        Gpu.assertClose(tag + " sparse attention (random mask, empty rows)", o1, o2, TOL);

        float[] t1 = new float[B * Hq * nb * nb];
        float[] t2 = new float[t1.length];
        gpu.attentionWithPooledTarget(q, k, v, o1, t1, shape, bs, scale);
        ref.attentionWithPooledTarget(q, k, v, o2, t2, shape, bs, scale);
        Gpu.assertClose(tag + " fused dense output", o1, o2, TOL);
        Gpu.assertClose(tag + " pooled target", t1, t2, TOL);
        assertTrue(gpu.description().contains("compute capability"));
    }
}
