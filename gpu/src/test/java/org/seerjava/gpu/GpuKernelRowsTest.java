package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.gpu.graph.DataTransferMode;
import org.seerjava.gpu.graph.ExecutionPlan;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.io.DType;

/**
 * Every attention kernel against the reference row by row, and run to run bit for bit.
 *
 * <p>The bf16 tensor-core kernels (sparse, the dense ones of both paths and tile heights, the fused dense + target
 * ones) on small shapes chosen for what a kernel can get wrong: a partial last query block (N not a multiple of
 * 64, its rows checked on their own), GQA groups of 2, 3 and 4 heads and one shared kv head, D = 64 and 128, batch
 * 2. Each output row must lie within bf16 rounding of the reference ({@link Gpu#assertRowsWithinBf16}): a
 * one-key causal leak in the partial last block, which moves a whole-tensor relative L2 error by less than 1e-2,
 * fails here. The same plan executed three times must give the same bits (no atomics, no order that depends on
 * scheduling), and so must the fp32 engine's operations.
 */
class GpuKernelRowsTest {
    final ReferenceEngine ref = new ReferenceEngine();

    @BeforeEach
    void setUp() {
        Gpu.assume();
    }

    static Tensor bf16(Arena a, String name, float[] x, long... shape) {
        return Tensor.of(name, DType.BF16, shape).withHost(a.allocateFrom(ValueLayout.JAVA_SHORT, Gpu.toBf16(x)));
    }

    static Tensor bf16Out(Arena a, String name, long... shape) {
        Tensor t = Tensor.of(name, DType.BF16, shape);
        return t.withHost(a.allocate(t.bytes(), 8));
    }

    @ParameterizedTest(name = "B{0} N{1} Hq{2} Hkv{3} D{4}")
    @CsvSource({"1, 333, 8, 2, 128", "2, 77, 4, 2, 64", "1, 1000, 4, 2, 128", "1, 130, 6, 3, 64", "1, 256, 4, 1, 128"})
    void tensorCoreKernelsRowByRowAndBitwiseRepeatable(int B, int N, int Hq, int Hkv, int D) {
        Random r = new Random(1009L * N + 31L * Hq + Hkv + D);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        int nb = shape.blocks(64);
        String tag = "B" + B + " N" + N + " Hq" + Hq + " Hkv" + Hkv + " D" + D;
        float[] q = Gpu.random(r, shape.qElements());
        for (int i = 0; i < q.length; i++) {
            q[i] *= 2;                                   // sharper rows: a leaked key carries real weight
        }
        q = Gpu.roundBf16(q);
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        byte[] bits = new byte[B * Hq * nb * nb];
        for (int i = 0; i < bits.length; i++) {
            int qb = (i / nb) % nb;
            int kb = i % nb;
            bits[i] = (byte) (kb <= qb && (kb == qb ? r.nextDouble() < 0.75 : r.nextDouble() < 0.5) ? 1 : 0);
        }
        BlockMask mask = BlockMask.of(B, Hq, nb, bits);
        double scale = 1 / Math.sqrt(D);
        float sl = (float) (scale * SeerKernels.LOG2E);
        AttentionKernel dense = AttentionKernel.forDevice(AttentionKernel.Op.DENSE, D);
        AttentionKernel target = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, D);
        AttentionKernel sparseKernel = AttentionKernel.forDevice(AttentionKernel.Op.SPARSE, D);

        float[] wantSparse = new float[(int) shape.qElements()];
        ref.blockSparse(q, k, v, mask, wantSparse, shape, 64, scale);
        float[] wantDense = new float[(int) shape.qElements()];
        float[] wantTarget = new float[B * Hq * nb * nb];
        ref.attentionWithPooledTarget(q, k, v, wantDense, wantTarget, shape, 64, scale);
        double[] absSparse = Gpu.absWeightedV(q, k, v, mask, shape, 64, scale);
        double[] absDense = Gpu.absWeightedV(q, k, v, null, shape, 64, scale);

        try (Arena a = Arena.ofConfined()) {
            Tensor qt = bf16(a, "q", q, B, N, Hq, D);
            Tensor kt = bf16(a, "k", k, B, N, Hkv, D);
            Tensor vt = bf16(a, "v", v, B, N, Hkv, D);
            Tensor mt = Tensor.of("mask", DType.U8, B, Hq, nb, nb).withHost(a.allocateFrom(ValueLayout.JAVA_BYTE, bits));
            Map<String, Tensor> outs = new LinkedHashMap<>();
            for (String name : List.of("sparse " + AttentionKernel.SPARSE_SM80.label(), "dense " + dense.label(),
                    "dense " + AttentionKernel.DENSE_SM80_64.label(), "dense " + AttentionKernel.DENSE_SM80.label(),
                    "fused " + target.label(), "fused " + AttentionKernel.TARGET_SM80.label(),
                    "sparse (this device's) " + sparseKernel.label())) {
                outs.put(name, bf16Out(a, name, B, N, Hq, D));
            }
            List<Tensor> o = new ArrayList<>(outs.values());
            int slots = target.targetScratchSlots();
            int slots2 = AttentionKernel.TARGET_SM80.targetScratchSlots();
            Tensor scratch = GpuBf16Test.targetScratch(a, "scratch", slots, nb);
            Tensor scratch2 = GpuBf16Test.targetScratch(a, "scratch2", slots2, nb);
            Tensor tg1 = Tensor.of("target", DType.F32, B, Hq, nb, nb);
            tg1.withHost(a.allocate(tg1.bytes(), 8));
            Tensor tg2 = Tensor.of("target2", DType.F32, B, Hq, nb, nb);
            tg2.withHost(a.allocate(tg2.bytes(), 8));
            TaskGraph tg = new TaskGraph("rows")
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, qt, kt, vt, mt, scratch, scratch2)
                    .task("sparse", AttentionKernel.SPARSE_SM80.spec(D), AttentionKernel.SPARSE_SM80.launch(nb, Hq, B, D),
                            qt, kt, vt, mt, o.get(0), N, Hq, Hkv, nb, sl)
                    .task("dense", dense.spec(D), dense.launch(nb, Hq, B, D), qt, kt, vt, o.get(1), N, Hq, Hkv, nb, sl)
                    .task("dense64", AttentionKernel.DENSE_SM80_64.spec(D),
                            AttentionKernel.DENSE_SM80_64.launch(nb, Hq, B, D), qt, kt, vt, o.get(2), N, Hq, Hkv, nb, sl)
                    .task("dense128", AttentionKernel.DENSE_SM80.spec(D), AttentionKernel.DENSE_SM80.launch(nb, Hq, B, D),
                            qt, kt, vt, o.get(3), N, Hq, Hkv, nb, sl)
                    .task("fused", target.spec(D), target.launch(nb, Hq, B, D), qt, kt, vt, o.get(4), scratch, tg1,
                            N, Hq, Hkv, nb, sl, slots)
                    .task("fused2", AttentionKernel.TARGET_SM80.spec(D), AttentionKernel.TARGET_SM80.launch(nb, Hq, B, D),
                            qt, kt, vt, o.get(5), scratch2, tg2, N, Hq, Hkv, nb, sl, slots2)
                    .task("sparseDevice", sparseKernel.spec(D), sparseKernel.launch(nb, Hq, B, D), qt, kt, vt, mt, o.get(6), N, Hq,
                            Hkv, nb, sl)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, o.toArray(new Tensor[0]))
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, tg1, tg2);
            List<Tensor> all = new ArrayList<>(o);
            all.add(tg1);
            all.add(tg2);
            try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot()).withPoison(all.toArray(new Tensor[0]))) {
                plan.execute();
                List<byte[]> first = new ArrayList<>();
                for (Tensor t : all) {
                    first.add(t.host().toArray(ValueLayout.JAVA_BYTE));
                }
                for (Map.Entry<String, Tensor> e : outs.entrySet()) {
                    boolean sparse = e.getKey().startsWith("sparse");
                    Gpu.assertRowsWithinBf16(tag + " " + e.getKey(), GpuBf16Test.readBf16(e.getValue()),
                            sparse ? wantSparse : wantDense, sparse ? absSparse : absDense, shape);
                }
                Gpu.assertClose(tag + " pooled target " + target.label(), GpuBf16Test.readF32(tg1), wantTarget, 2e-2);
                Gpu.assertClose(tag + " pooled target " + AttentionKernel.TARGET_SM80.label(),
                        GpuBf16Test.readF32(tg2), wantTarget, 2e-2);
                for (int run = 2; run <= 3; run++) {
                    plan.execute();
                    for (int t = 0; t < all.size(); t++) {
                        assertBitwiseEqual(tag + " " + all.get(t).name() + ", execution " + run + " vs 1",
                                first.get(t), all.get(t).host().toArray(ValueLayout.JAVA_BYTE));
                    }
                }
                System.out.println("[seer-gpu] " + tag + " " + all.size() + " outputs bitwise equal over 3 executions");
            }
        }
    }

    /** The SeerAttention prefill graph (gate, top-k with the diagonal, sparse attention) twice: the same bits. */
    @Test
    void prefillGraphIsBitwiseRepeatable() {
        AttentionShape shape = new AttentionShape(1, 333, 8, 2, 128);
        Random r = new Random(5);
        GateConfig cfg = GateConfig.of(GateType.DEFAULT, 64, 128, 10000);
        float[] q = Gpu.roundBf16(Gpu.random(r, shape.qElements()));
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] wk = Gpu.random(r, cfg.kWeightElements(shape));
        for (int i = 0; i < wk.length; i++) {
            wk[i] *= 0.1f;
        }
        byte[][] outs = new byte[2][];
        for (int run = 0; run < 2; run++) {
            try (Arena a = Arena.ofConfined(); DeviceBuffer qb = DeviceBuffer.of(Gpu.toBf16(q));
                 DeviceBuffer kb = DeviceBuffer.of(Gpu.toBf16(k)); DeviceBuffer vb = DeviceBuffer.of(Gpu.toBf16(v))) {
                Tensor qt = Tensor.onDevice("q", DType.BF16, qb, 1, 333, 8, 128);
                Tensor kt = Tensor.onDevice("k", DType.BF16, kb, 1, 333, 2, 128);
                Tensor vt = Tensor.onDevice("v", DType.BF16, vb, 1, 333, 2, 128);
                Tensor out = bf16Out(a, "out", 1, 333, 8, 128);
                Prefill.Graph g = Prefill.graph("prefill", a, qt, kt, qt, kt, vt, out, null, wk, shape, cfg,
                        new SelectionRule.TopK(0.3, false, true), 1 / Math.sqrt(128));
                g.taskGraph().transferToHost(DataTransferMode.EVERY_EXECUTION, out);
                try (ExecutionPlan plan = new ExecutionPlan(g.taskGraph().snapshot()).withPoison(out)) {
                    plan.execute();
                    outs[run] = out.host().toArray(ValueLayout.JAVA_BYTE);
                }
            }
        }
        assertBitwiseEqual("prefill graph output, plan 2 vs plan 1", outs[0], outs[1]);
        System.out.println("[seer-gpu] prefill graph bitwise equal over 2 plans");
    }

    /**
     * Selection keeps the diagonal block when asked even where it scores lowest, and only then: the diagonal of every
     * row gets the smallest score, so top-k and the threshold drop it unless {@code keepDiagonal} puts it back.
     */
    @Test
    void selectionKeepsTheDiagonal() {
        CudaEngine gpu = new CudaEngine();
        int B = 2;
        int H = 3;
        int nb = 9;
        Random r = new Random(23);
        float[] scores = new float[B * H * nb * nb];
        for (int i = 0; i < scores.length; i++) {
            int row = (i / nb) % nb;
            int col = i % nb;
            scores[i] = col > row ? 0 : col == row ? 1e-4f : 0.05f + r.nextFloat();
        }
        for (boolean keep : new boolean[] {true, false}) {
            for (SelectionRule rule : List.of(new SelectionRule.TopK(0.4, false, keep),
                    new SelectionRule.Threshold(0.01, false, keep))) {
                BlockMask got = gpu.select(scores, B, H, nb, rule);
                BlockMask want = ref.select(scores, B, H, nb, rule);
                GpuOpsTest.assertMasksAgree(rule + " on lowest-scoring diagonals", got, want, null, 0);
                byte[] bits = got.toBytes();
                for (int row = 0; row < B * H * nb; row++) {
                    int i = row % nb;
                    // without keepDiagonal: the threshold drops every diagonal, top-k those of the last row
                    // (eight better blocks)
                    if (keep || rule instanceof SelectionRule.Threshold || i == nb - 1) {
                        assertEquals(keep ? 1 : 0, bits[row * nb + i], rule + ": diagonal of row " + row);
                    }
                }
            }
        }
    }

    /** The fp32 engine: every attention and gate operation twice gives the same bits. */
    @Test
    void fp32EngineIsBitwiseRepeatable() {
        CudaEngine gpu = new CudaEngine();
        AttentionShape shape = new AttentionShape(2, 333, 8, 2, 64);
        Random r = new Random(17);
        int nb = shape.blocks(64);
        float[] q = Gpu.random(r, shape.qElements());
        float[] k = Gpu.random(r, shape.kvElements());
        float[] v = Gpu.random(r, shape.kvElements());
        GateConfig cfg = GateConfig.of(GateType.DEFAULT, 64, 32, 10000);
        float[] wq = Gpu.random(r, cfg.qWeightElements(shape));
        float[] wk = Gpu.random(r, cfg.kWeightElements(shape));
        byte[] bits = new byte[2 * 8 * nb * nb];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (byte) (i % nb <= (i / nb) % nb && r.nextBoolean() ? 1 : 0);
        }
        BlockMask mask = BlockMask.of(2, 8, nb, bits);
        double scale = 0.125;
        float[][] a = new float[2][];
        float[][] b = new float[2][];
        float[][] c = new float[2][];
        float[][] t = new float[2][];
        float[][] s = new float[2][];
        for (int run = 0; run < 2; run++) {
            a[run] = new float[(int) shape.qElements()];
            gpu.blockSparse(q, k, v, mask, a[run], shape, 64, scale);
            b[run] = new float[(int) shape.qElements()];
            gpu.denseCausal(q, k, v, b[run], shape, scale);
            c[run] = new float[(int) shape.qElements()];
            t[run] = new float[2 * 8 * nb * nb];
            gpu.attentionWithPooledTarget(q, k, v, c[run], t[run], shape, 64, scale);
            s[run] = new float[2 * 8 * nb * nb];
            gpu.gateScores(q, k, wq, wk, s[run], shape, cfg, true);
        }
        assertBitwiseEqual("fp32 block-sparse", a[0], a[1]);
        assertBitwiseEqual("fp32 dense", b[0], b[1]);
        assertBitwiseEqual("fp32 fused dense output", c[0], c[1]);
        assertBitwiseEqual("fp32 pooled target", t[0], t[1]);
        assertBitwiseEqual("fp32 gate scores", s[0], s[1]);
        System.out.println("[seer-gpu] fp32 engine: 5 outputs bitwise equal over 2 runs");
    }

    static void assertBitwiseEqual(String what, float[] x, float[] y) {
        int differ = 0;
        for (int i = 0; i < x.length; i++) {
            if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                differ++;
            }
        }
        assertEquals(0, differ, what + ": elements whose bits differ between runs");
    }

    static void assertBitwiseEqual(String what, byte[] x, byte[] y) {
        assertEquals(x.length, y.length, what);
        int differ = 0;
        for (int i = 0; i < x.length; i++) {
            if (x[i] != y[i]) {
                differ++;
            }
        }
        assertEquals(0, differ, what + ": bytes that differ between runs");
    }
}
