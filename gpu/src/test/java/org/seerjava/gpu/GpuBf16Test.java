package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
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
 * The bf16 tensor-core kernels and the prefill graph against the reference on bf16-rounded inputs: every output row
 * within bf16 rounding of the reference ({@link Gpu#assertRowsWithinBf16}, the partial last block's rows on their
 * own), the fp32 pooled targets within 2e-2 relative L2; outputs poisoned with NaN before each run and checked fully
 * written.
 */
class GpuBf16Test {
    /** The fp32 pooled targets' relative L2 tolerance (the bf16 outputs are checked row by row). */
    static final double TOL = 2e-2;
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

    /**
     * A tensor-core target kernel's scratch of {@code slots} slots for nb blocks
     * ({@link SeerKernels#targetScratchElements}) with zero host memory, to be transferred once: its lock words start
     * at 0.
     */
    static Tensor targetScratch(Arena a, String name, int slots, int nb) {
        Tensor t = Tensor.of(name, DType.F32, SeerKernels.targetScratchElements(slots, nb));
        return t.withHost(a.allocate(t.bytes(), 8));
    }

    /** The lock words of a target scratch read back to the host: every CTA must have left its own at 0. */
    static void assertLocksFree(String what, Tensor scratch, int slots, int nb) {
        MemorySegment host = scratch.host();
        long at = SeerKernels.targetScratchLockOffset(slots, nb);
        for (int i = 0; i < slots; i++) {
            assertEquals(0, host.get(ValueLayout.JAVA_INT, at + 4L * i), what + ": lock word of slot " + i);
        }
    }

    static float[] readBf16(Tensor t) {
        return Gpu.fromBf16(t.host().toArray(ValueLayout.JAVA_SHORT));
    }

    static float[] readF32(Tensor t) {
        return t.host().toArray(ValueLayout.JAVA_FLOAT);
    }

    @ParameterizedTest
    @CsvSource({"2, 200, 8, 8, 128", "2, 333, 8, 4, 128", "2, 130, 8, 2, 64", "2, 77, 8, 1, 128", "2, 256, 8, 2, 128",
            "1, 2500, 8, 1, 64", "1, 3001, 2, 2, 128"})
    void tensorCoreAttention(int B, int N, int Hq, int Hkv, int D) {
        Random r = new Random(7L * N + Hkv + D);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        AttentionKernel denseKernel = AttentionKernel.forDevice(AttentionKernel.Op.DENSE, D);
        AttentionKernel targetKernel = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, D);
        AttentionKernel sparseKernel = AttentionKernel.forDevice(AttentionKernel.Op.SPARSE, D);
        int nb = shape.blocks(64);
        String tag = "bf16 B" + B + " N" + N + " Hq" + Hq + " Hkv" + Hkv + " D" + D;
        float[] q = Gpu.roundBf16(Gpu.random(r, shape.qElements()));
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        byte[] bits = new byte[B * Hq * nb * nb];
        for (int i = 0; i < bits.length; i++) {
            int qb = (i / nb) % nb;
            int kb = i % nb;
            bits[i] = (byte) (kb <= qb && r.nextDouble() < 0.5 ? 1 : 0);
        }
        BlockMask mask = BlockMask.of(B, Hq, nb, bits);
        double scale = 1 / Math.sqrt(D);
        float sl = (float) (scale * SeerKernels.LOG2E);
        try (Arena a = Arena.ofConfined()) {
            Tensor qt = bf16(a, "q", q, B, N, Hq, D);
            Tensor kt = bf16(a, "k", k, B, N, Hkv, D);
            Tensor vt = bf16(a, "v", v, B, N, Hkv, D);
            Tensor mt = Tensor.of("mask", DType.U8, B, Hq, nb, nb).withHost(a.allocateFrom(ValueLayout.JAVA_BYTE, bits));
            Tensor sparse = bf16Out(a, "sparse", B, N, Hq, D);
            Tensor sparse80 = bf16Out(a, "sparse80", B, N, Hq, D);
            Tensor dense = bf16Out(a, "dense", B, N, Hq, D);
            Tensor fused = bf16Out(a, "fused", B, N, Hq, D);
            int slots = targetKernel.targetScratchSlots();
            Tensor rowmax = targetScratch(a, "scratch", slots, nb);
            Tensor target = Tensor.of("target", DType.F32, B, Hq, nb, nb);
            target.withHost(a.allocate(target.bytes(), 8));
            TaskGraph tg = new TaskGraph("bf16")
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, qt, kt, vt, mt, rowmax)
                    .task("sparse", sparseKernel.spec(D), sparseKernel.launch(nb, Hq, B, D), qt, kt, vt, mt, sparse,
                            N, Hq, Hkv, nb, sl)
                    .task("sparse80", AttentionKernel.SPARSE_SM80.spec(D), AttentionKernel.SPARSE_SM80.launch(nb, Hq,
                            B, D), qt, kt, vt, mt, sparse80, N, Hq, Hkv, nb, sl)
                    .task("dense", denseKernel.spec(D),
                            denseKernel.launch(nb, Hq, B, D), qt, kt, vt, dense, N, Hq, Hkv, nb, sl)
                    .task("fused", targetKernel.spec(D),
                            targetKernel.launch(nb, Hq, B, D), qt, kt, vt, fused, rowmax, target,
                            N, Hq, Hkv, nb, sl, slots)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, sparse, sparse80, dense, fused, target);
            try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot())
                    .withPoison(sparse, sparse80, dense, fused, target)) {
                float[] wantSparse = new float[(int) shape.qElements()];
                ref.blockSparse(q, k, v, mask, wantSparse, shape, 64, scale);
                float[] want = new float[(int) shape.qElements()];
                float[] tref = new float[B * Hq * nb * nb];
                ref.attentionWithPooledTarget(q, k, v, want, tref, shape, 64, scale);   // dense output and target
                double[] absSparse = Gpu.absWeightedV(q, k, v, mask, shape, 64, scale);
                double[] absDense = Gpu.absWeightedV(q, k, v, null, shape, 64, scale);
                for (int run = 0; run < 2; run++) {
                    plan.execute();
                    float[] o = readBf16(sparse);
                    Gpu.assertAllFinite(tag + " sparse", o);
                    Gpu.assertRowsWithinBf16(tag + " sparse " + sparseKernel.label() + " (empty rows = 0)", o,
                            wantSparse, absSparse, shape);
                    float[] o80 = readBf16(sparse80);
                    Gpu.assertAllFinite(tag + " sparse80", o80);
                    Gpu.assertRowsWithinBf16(tag + " sparse " + AttentionKernel.SPARSE_SM80.label(), o80, wantSparse,
                            absSparse, shape);
                    float[] dn = readBf16(dense);
                    Gpu.assertAllFinite(tag + " dense", dn);
                    Gpu.assertRowsWithinBf16(tag + " dense", dn, want, absDense, shape);
                    float[] fo = readBf16(fused);
                    Gpu.assertAllFinite(tag + " fused", fo);
                    Gpu.assertRowsWithinBf16(tag + " fused dense output", fo, want, absDense, shape);
                    float[] tg1 = readF32(target);
                    Gpu.assertAllFinite(tag + " target", tg1);
                    Gpu.assertClose(tag + " pooled target", tg1, tref, TOL);
                }
            }
        }
    }

    /**
     * The 128-row dense and fused kernels (the wgmma ones on Hopper and the mma.sync ones, both): the target's
     * scratch in shared memory (nb ≤ the limit) and in global memory (nb above it, or the limit forced to 0), odd
     * and even block counts, N not a multiple of 64 or 128, and the 64-row dense kernel.
     */
    @ParameterizedTest
    @CsvSource({"1, 1000, 4, 2, 128, 24", "1, 1000, 4, 2, 128, 0", "1, 1472, 2, 1, 128, 24", "1, 2200, 2, 1, 128, 24",
            "2, 1601, 2, 2, 64, 24", "1, 2560, 2, 2, 128, 0", "1, 2560, 2, 2, 128, 120", "1, 4100, 3, 1, 64, 120", "1, 7680, 2, 1, 128, 120",
            "2, 64, 2, 2, 128, 24", "1, 65, 2, 1, 128, 0"})
    void denseAndFusedTarget(int B, int N, int Hq, int Hkv, int D, int sharedMaxNb) {
        Random r = new Random(11L * N + Hq + sharedMaxNb);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        AttentionKernel denseKernel = AttentionKernel.forDevice(AttentionKernel.Op.DENSE, D);
        AttentionKernel targetKernel = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, D);
        int nb = shape.blocks(64);
        String tag = "dense/fused B" + B + " N" + N + " Hq" + Hq + " Hkv" + Hkv + " D" + D + " nb" + nb
                + (nb <= sharedMaxNb ? " (shared scratch)" : " (global scratch)")
                + (denseKernel.path() == AttentionKernel.Path.SM90 ? " wgmma + mma.sync" : " mma.sync");
        float[] q = Gpu.roundBf16(Gpu.random(r, shape.qElements()));
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        for (int i = 0; i < q.length; i++) {
            q[i] *= 3;                                   // sharper rows: targets far from uniform
        }
        q = Gpu.roundBf16(q);
        double scale = 1 / Math.sqrt(D);
        float sl = (float) (scale * SeerKernels.LOG2E);
        try (Arena a = Arena.ofConfined()) {
            Tensor qt = bf16(a, "q", q, B, N, Hq, D);
            Tensor kt = bf16(a, "k", k, B, N, Hkv, D);
            Tensor vt = bf16(a, "v", v, B, N, Hkv, D);
            Tensor dense = bf16Out(a, "dense", B, N, Hq, D);
            Tensor dense64 = bf16Out(a, "dense64", B, N, Hq, D);
            Tensor fused = bf16Out(a, "fused", B, N, Hq, D);
            Tensor dense2 = bf16Out(a, "dense2", B, N, Hq, D);
            Tensor fused2 = bf16Out(a, "fused2", B, N, Hq, D);
            int slots = targetKernel.targetScratchSlots();
            int slots2 = AttentionKernel.TARGET_SM80.targetScratchSlots();
            Tensor scratch = targetScratch(a, "scratch", slots, nb);
            Tensor scratch2 = targetScratch(a, "scratch2", slots2, nb);
            Tensor target = Tensor.of("target", DType.F32, B, Hq, nb, nb);
            target.withHost(a.allocate(target.bytes(), 8));
            Tensor target2 = Tensor.of("target2", DType.F32, B, Hq, nb, nb);
            target2.withHost(a.allocate(target2.bytes(), 8));
            TaskGraph tg = new TaskGraph("bf16.fused")
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, qt, kt, vt, scratch, scratch2)
                    .task("dense", denseKernel.spec(D),
                            denseKernel.launch(nb, Hq, B, D), qt, kt, vt, dense, N, Hq, Hkv, nb, sl)
                    .task("dense64", AttentionKernel.DENSE_SM80_64.spec(D),
                            AttentionKernel.DENSE_SM80_64.launch(nb, Hq, B, D), qt, kt, vt, dense64, N, Hq, Hkv,
                            nb, sl)
                    .task("fused", targetKernel.spec(D, 64, sharedMaxNb),
                            targetKernel.launch(nb, Hq, B, D, 64, sharedMaxNb), qt, kt, vt, fused,
                            scratch, target, N, Hq, Hkv, nb, sl, slots)
                    .task("dense2", AttentionKernel.DENSE_SM80.spec(D),
                            AttentionKernel.DENSE_SM80.launch(nb, Hq, B, D), qt, kt, vt, dense2, N, Hq, Hkv, nb, sl)
                    .task("fused2", AttentionKernel.TARGET_SM80.spec(D, 64, sharedMaxNb),
                            AttentionKernel.TARGET_SM80.launch(nb, Hq, B, D, 64, sharedMaxNb), qt, kt, vt, fused2,
                            scratch2, target2, N, Hq, Hkv, nb, sl, slots2)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, dense, dense64, fused, target, dense2, fused2,
                            target2);
            try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot())
                    .withPoison(dense, dense64, fused, target, dense2, fused2, target2)) {
                float[] want = new float[(int) shape.qElements()];
                float[] tref = new float[B * Hq * nb * nb];
                ref.attentionWithPooledTarget(q, k, v, want, tref, shape, 64, scale);
                double[] absDense = Gpu.absWeightedV(q, k, v, null, shape, 64, scale);
                for (int run = 0; run < 2; run++) {
                    plan.execute();
                    for (Tensor t : new Tensor[] {dense, dense64, fused, dense2, fused2}) {
                        float[] o = readBf16(t);
                        Gpu.assertAllFinite(tag + " " + t.name(), o);
                        Gpu.assertRowsWithinBf16(tag + " " + t.name(), o, want, absDense, shape);
                    }
                    for (Tensor t : new Tensor[] {target, target2}) {
                        float[] tg1 = readF32(t);
                        Gpu.assertAllFinite(tag + " " + t.name(), tg1);
                        Gpu.assertClose(tag + " pooled " + t.name(), tg1, tref, TOL);
                    }
                }
            }
        }
        System.out.println("[seer-gpu] " + tag + " ok");
    }

    /**
     * The fused kernels' global scratch with fewer slots than CTAs that run at once (1 and 3, the shared-memory limit
     * forced to 0): CTAs wait for one another's slots. Outputs within bf16 rounding row by row and targets within
     * {@link #TOL} of the reference as in {@link #denseAndFusedTarget}; bitwise equal to the same kernel with a slot
     * for every resident CTA (the slot count changes no arithmetic); every lock word back at 0 after each run.
     */
    @ParameterizedTest
    @CsvSource({"2, 4100, 3, 1, 64, 1", "1, 2560, 4, 2, 128, 3", "2, 1000, 2, 2, 128, 1", "1, 3000, 2, 1, 128, 3",
            "1, 65, 2, 1, 128, 1"})
    void fusedTargetWithFewerSlotsThanCtas(int B, int N, int Hq, int Hkv, int D, int slots) {
        Random r = new Random(13L * N + Hq + slots);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        int nb = shape.blocks(64);
        AttentionKernel device = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, D);
        List<AttentionKernel> kernels = device == AttentionKernel.TARGET_SM80 ? List.of(device)
                : List.of(device, AttentionKernel.TARGET_SM80);
        String tag = "fused B" + B + " N" + N + " Hq" + Hq + " Hkv" + Hkv + " D" + D + " nb" + nb + ", " + slots
                + " slot(s), global scratch";
        float[] q = Gpu.roundBf16(Gpu.random(r, shape.qElements()));
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        for (int i = 0; i < q.length; i++) {
            q[i] *= 3;                                   // sharper rows: targets far from uniform
        }
        q = Gpu.roundBf16(q);
        double scale = 1 / Math.sqrt(D);
        float sl = (float) (scale * SeerKernels.LOG2E);
        try (Arena a = Arena.ofConfined()) {
            Tensor qt = bf16(a, "q", q, B, N, Hq, D);
            Tensor kt = bf16(a, "k", k, B, N, Hkv, D);
            Tensor vt = bf16(a, "v", v, B, N, Hkv, D);
            TaskGraph tg = new TaskGraph("bf16.fewSlots")
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, qt, kt, vt);
            List<Tensor[]> runs = new ArrayList<>();          // {out, target, scratch} with few slots, then all slots
            List<Tensor> poisoned = new ArrayList<>();
            for (AttentionKernel kernel : kernels) {
                for (int n : new int[] {slots, kernel.targetScratchSlots()}) {
                    String name = kernel.name() + "." + n;
                    Tensor out = bf16Out(a, "out." + name, B, N, Hq, D);
                    Tensor target = Tensor.of("target." + name, DType.F32, B, Hq, nb, nb);
                    target.withHost(a.allocate(target.bytes(), 8));
                    Tensor scratch = targetScratch(a, "scratch." + name, n, nb);
                    tg.transferToDevice(DataTransferMode.FIRST_EXECUTION, scratch)
                            .task(name, kernel.spec(D, 64, 0), kernel.launch(nb, Hq, B, D, 64, 0), qt, kt, vt, out,
                                    scratch, target, N, Hq, Hkv, nb, sl, n)
                            .transferToHost(DataTransferMode.EVERY_EXECUTION, out, target, scratch);
                    runs.add(new Tensor[] {out, target, scratch});
                    poisoned.add(out);
                    poisoned.add(target);
                }
            }
            try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot()).withPoison(poisoned.toArray(new Tensor[0]))) {
                float[] want = new float[(int) shape.qElements()];
                float[] tref = new float[B * Hq * nb * nb];
                ref.attentionWithPooledTarget(q, k, v, want, tref, shape, 64, scale);
                double[] absDense = Gpu.absWeightedV(q, k, v, null, shape, 64, scale);
                for (int run = 0; run < 2; run++) {
                    plan.execute();
                    for (int i = 0; i < runs.size(); i += 2) {
                        Tensor[] few = runs.get(i);
                        Tensor[] all = runs.get(i + 1);
                        String what = tag + ", " + kernels.get(i / 2).label() + ", run " + run;
                        float[] o = readBf16(few[0]);
                        Gpu.assertAllFinite(what + " output", o);
                        Gpu.assertRowsWithinBf16(what + " output", o, want, absDense, shape);
                        float[] t = readF32(few[1]);
                        Gpu.assertAllFinite(what + " target", t);
                        Gpu.assertClose(what + " pooled target", t, tref, TOL);
                        GpuKernelRowsTest.assertBitwiseEqual(what + " output vs a slot per resident CTA", o,
                                readBf16(all[0]));
                        GpuKernelRowsTest.assertBitwiseEqual(what + " target vs a slot per resident CTA", t,
                                readF32(all[1]));
                        assertLocksFree(what, few[2], slots, nb);
                        assertLocksFree(what + " (a slot per resident CTA)", all[2],
                                kernels.get(i / 2).targetScratchSlots(), nb);
                    }
                }
            }
        }
        System.out.println("[seer-gpu] " + tag + " ok");
    }

    @ParameterizedTest
    @CsvSource({"2, 333, 8, 2, 128, threshold", "2, 200, 8, 8, 128, topk", "2, 256, 8, 4, 64, threshold"})
    void prefillGraph(int B, int N, int Hq, int Hkv, int D, String rule) {
        Random r = new Random(99L * N + Hkv);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        GateConfig cfg = GateConfig.of(GateType.DEFAULT, 64, D, 10000);
        int nb = shape.blocks(64);
        float[] q = Gpu.roundBf16(Gpu.random(r, shape.qElements()));
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] wk = Gpu.random(r, cfg.kWeightElements(shape));
        for (int i = 0; i < wk.length; i++) {
            wk[i] *= 0.1f;
        }
        double thr = 0.15;
        SelectionRule sel = rule.equals("topk") ? new SelectionRule.TopK(0.5, true, false)
                : new SelectionRule.Threshold(thr, false, false);
        double scale = 1 / Math.sqrt(D);
        String tag = "prefill " + rule + " B" + B + " N" + N + " Hkv" + Hkv + " D" + D;
        try (Arena a = Arena.ofConfined(); DeviceBuffer qb = DeviceBuffer.of(Gpu.toBf16(q));
             DeviceBuffer kb = DeviceBuffer.of(Gpu.toBf16(k)); DeviceBuffer vb = DeviceBuffer.of(Gpu.toBf16(v))) {
            Tensor qt = Tensor.onDevice("q", DType.BF16, qb, B, N, Hq, D);
            Tensor kt = Tensor.onDevice("k", DType.BF16, kb, B, N, Hkv, D);
            Tensor vt = Tensor.onDevice("v", DType.BF16, vb, B, N, Hkv, D);
            Tensor out = bf16Out(a, "out", B, N, Hq, D);
            Prefill.Graph g = Prefill.graph("prefill", a, qt, kt, qt, kt, vt, out, null, wk, shape, cfg, sel, scale);
            g.taskGraph().transferToHost(DataTransferMode.EVERY_EXECUTION, out);
            try (ExecutionPlan plan = new ExecutionPlan(g.taskGraph().snapshot()).withCudaGraph().withPoison(out)) {
                for (int run = 0; run < 3; run++) {
                    plan.execute();
                }
                byte[] bits = new byte[B * Hq * nb * nb];
                plan.buffer(g.mask()).copyTo(bits);
                BlockMask got = BlockMask.of(B, Hq, nb, bits);
                float[] scores = new float[bits.length];
                boolean soft = sel instanceof SelectionRule.Threshold;
                ref.gateScores(q, k, null, wk, scores, shape, cfg, soft);
                BlockMask want = ref.select(scores, B, Hq, nb, sel);
                GpuOpsTest.assertMasksAgree(tag + " mask", got, want, soft ? scores : null, thr);
                System.out.println("[seer-gpu] " + tag + " mask " + got);
                float[] o = readBf16(out);
                Gpu.assertAllFinite(tag + " output", o);
                float[] expect = new float[o.length];
                ref.blockSparse(q, k, v, got, expect, shape, 64, scale);
                Gpu.assertRowsWithinBf16(tag + " output", o, expect, Gpu.absWeightedV(q, k, v, got, shape, 64, scale),
                        shape);
                assertEquals(o.length, shape.qElements());
            }
        }
    }

    static MemorySegment unused() {
        return MemorySegment.NULL;
    }
}
