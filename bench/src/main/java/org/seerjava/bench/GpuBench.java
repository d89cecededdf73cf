package org.seerjava.bench;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i64;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.seerjava.gpu.AttentionKernel;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Event;
import org.seerjava.gpu.Kernel;
import org.seerjava.gpu.Prefill;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;
import org.seerjava.gpu.graph.ExecutionPlan;
import org.seerjava.gpu.graph.ExecutionResult;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.io.DType;

/**
 * GPU benchmark: event-timed medians at B = 1, 32 heads, D = 128, bf16, block 64, random causal masks with the
 * diagonal kept. Prints a table; {@link #run(String[])} returns it for {@code seer bench --backend cuda}.
 *
 * <p>Options: {@code --reps R} (timed repetitions, default 20), {@code --quick} (N = 8192 only), {@code --sparse N}
 * (90 % sparse attention at N only, e.g. under a profiler), {@code --dense N} (dense attention at N only),
 * {@code --fused N} (the fused distillation pass at N only, {@value #FUSED_KV_HEADS} kv heads, printing the bytes of
 * its scratch and target).
 */
public final class GpuBench {
    private GpuBench() {
    }

    /** One measured line. */
    public record Row(String what, int n, double density, long tiles, double medianMs, double tflops, double targetMs) {
        public boolean pass() {
            return Double.isNaN(targetMs) || medianMs <= targetMs;
        }
    }

    /** The benchmark's random masks, a kernel source of this module. */
    static final String INPUTS = "/org/seerjava/bench/kernels/bench_inputs.cu";
    static final KernelSpec RANDOM_MASK = new KernelSpec(INPUTS, Map.of(), "random_causal_mask",
            List.of(out("mask", DType.U8), i64("rows"), i32("nb"), i64("seed"), f32("p")));

    static final int H = 32;
    static final int D = 128;
    static final int BLOCK = 64;

    public static void main(String[] args) {
        List<Row> rows = run(args);
        System.out.println(table(rows));
    }

    /** Runs the benchmark and returns its rows. */
    public static List<Row> run(String[] args) {
        int reps = 20;
        boolean quick = false;
        int[] sparseOnly = {};
        int[] denseOnly = {};
        int[] fusedOnly = {};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--quick" -> quick = true;
                case "--sparse" -> sparseOnly = sizes(args[++i]);
                case "--dense" -> denseOnly = sizes(args[++i]);
                case "--fused" -> fusedOnly = sizes(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (expected --reps R, --quick, --sparse N[,N...], --dense N[,N...], --fused N[,N...])");
            }
        }
        CudaContext ctx = CudaContext.get();
        System.out.println("GPU: " + ctx + ", " + LocalDate.now());
        List<Row> rows = new ArrayList<>();
        if (sparseOnly.length > 0 || denseOnly.length > 0 || fusedOnly.length > 0) {   // rows the peers time beside us
            try (Stream stream = new Stream()) {
                for (int n : sparseOnly) {
                    rows.add(attention(stream, n, 0.1, sparse(), n >= 131072 ? Math.max(3, reps / 4) : reps,
                            Double.NaN));
                }
                AttentionKernel dense = AttentionKernel.forDevice(AttentionKernel.Op.DENSE, D);
                for (int n : denseOnly) {
                    rows.add(attention(stream, n, 1.0, dense, n >= 131072 ? 3 : Math.max(3, reps / 2), Double.NaN));
                }
                AttentionKernel target = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, D);
                for (int n : fusedOnly) {
                    rows.add(distillation(stream, n, FUSED_KV_HEADS, target, n >= 131072 ? 3 : Math.max(3, reps / 2),
                            Double.NaN));
                }
            }
            return rows;
        }
        try (Stream stream = new Stream()) {
            for (int n : quick ? new int[] {8192} : new int[] {8192, 32768, 131072}) {
                rows.add(attention(stream, n, 0.1, sparse(), n == 131072 ? Math.max(3, reps / 4) : reps,
                        n == 8192 ? 0.312 : n == 32768 ? 3.77 : 60.3));
            }
            if (!quick) {
                if (sparse() != AttentionKernel.SPARSE_SM80) {                 // the mma.sync kernel, for comparison
                    rows.add(attention(stream, 32768, 0.1, AttentionKernel.SPARSE_SM80, Math.max(3, reps / 4),
                            Double.NaN));
                }
                AttentionKernel dense = AttentionKernel.forDevice(AttentionKernel.Op.DENSE, D);
                Row denseRow = attention(stream, 32768, 1.0, dense, Math.max(3, reps / 2), 25.2);
                // issue #19: block-sparse at density 0.5 within 0.55x of dense attention's time
                rows.add(attention(stream, 32768, 0.5, sparse(), Math.max(3, reps / 2), 0.55 * denseRow.medianMs()));
                rows.add(denseRow);
                if (dense != AttentionKernel.DENSE_SM80) {                  // the mma.sync kernel, for comparison
                    rows.add(attention(stream, 32768, 1.0, AttentionKernel.DENSE_SM80, Math.max(3, reps / 4),
                            Double.NaN));
                }
                AttentionKernel target = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, D);
                rows.add(distillation(stream, 32768, H, target, Math.max(3, reps / 2), 22.6));
                if (target != AttentionKernel.TARGET_SM80) {
                    rows.add(distillation(stream, 32768, H, AttentionKernel.TARGET_SM80, Math.max(3, reps / 4),
                            Double.NaN));
                }
                rows.add(distillation(stream, 131072, FUSED_KV_HEADS, target, 3, Double.NaN));
                rows.addAll(prefill(stream, 32768, reps));
            }
        }
        return rows;
    }

    /** Comma-separated token counts, each at least one block. */
    static int[] sizes(String list) {
        int[] n;
        try {
            n = Arrays.stream(list.split(",")).mapToInt(x -> Integer.parseInt(x.trim())).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected token counts like 8192,32768, got '" + list + "'");
        }
        for (int x : n) {
            if (x < BLOCK) {
                throw new IllegalArgumentException("token counts must be >= " + BLOCK + ", got " + x);
            }
        }
        return n;
    }

    /** The table as text (markdown). */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| what | N | density | kept tiles | median ms | executed TFLOP/s | of 686 | target ms | ok |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %d | %.3f | %.1f | %.0f%% | %s | %s |%n", r.what(), r.n(),
                    r.density(), r.tiles(), r.medianMs(), r.tflops(), 100 * r.tflops() / 686.0,
                    Double.isNaN(r.targetMs()) ? "—" : String.format(Locale.ROOT, "%.3g", r.targetMs()),
                    r.pass() ? "yes" : "NO"));
        }
        return sb.toString();
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static void fill(DeviceBuffer b, long n, long seed, Stream s) {
        Kernel k = SeerKernels.FILL_UNIFORM_BF16.kernel();
        k.launch(s, 4096, 1, 1, 256, 1, 1, 0, b, n, seed, -1.0f, 1.0f);
    }

    /** Kept blocks of a mask. */
    static long count(DeviceBuffer mask, long n, Stream s) {
        try (DeviceBuffer c = DeviceBuffer.allocate(8); Arena a = Arena.ofConfined()) {
            c.fill((byte) 0);
            SeerKernels.COUNT_NONZERO.kernel().launch(s, 4096, 1, 1, 256, 1, 1, 0, mask, n, c);
            s.synchronize();
            MemorySegment h = a.allocate(8);
            c.copyTo(h);
            return h.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    interface Body {
        void run();
    }

    /** Warm-up before timing: at least 2 runs and {@value #WARMUP_MS} ms, so the GPU's clocks have left idle. */
    static final long WARMUP_MS = 300;

    static double time(Stream s, int reps, Body body) {
        long start = System.nanoTime();
        for (int i = 0; i < 2 || System.nanoTime() - start < WARMUP_MS * 1_000_000; i++) {
            body.run();
            if (i % 16 == 15) {
                s.synchronize();                          // keep the queue short, the clock honest
            }
        }
        s.synchronize();
        double[] t = new double[reps];
        try (Event e0 = new Event(); Event e1 = new Event()) {
            for (int i = 0; i < reps; i++) {
                e0.record(s);
                body.run();
                e1.record(s);
                t[i] = e1.elapsedSince(e0);
            }
        }
        return median(t);
    }

    /** Off-diagonal keep probability giving {@code density} of the causal triangle with the diagonal kept. */
    static float keepProbability(int nb, double density) {
        double causal = nb * (nb + 1) / 2.0;
        double off = nb * (nb - 1) / 2.0;
        return (float) Math.max(0, Math.min(1, (density * causal - nb) / off));
    }

    /** The block-sparse kernel this GPU runs (the wgmma one on Hopper, else mma.sync). */
    static AttentionKernel sparse() {
        return AttentionKernel.forDevice(AttentionKernel.Op.SPARSE, D);
    }

    static Row attention(Stream s, int n, double density, AttentionKernel kernelType, int reps, double targetMs) {
        return attention(s, n, density, kernelType, kernelType.spec(D), kernelType.label(), reps, targetMs);
    }

    /** A kernel's variant: its spec with extra compile-time constants (experiments; see the table's label). */
    static KernelSpec variant(AttentionKernel kernelType, Map<String, Object> extra) {
        KernelSpec base = kernelType.spec(D);
        Map<String, Object> defines = new java.util.TreeMap<>(base.defines());
        defines.putAll(extra);
        return new KernelSpec(base.resource(), defines, base.function(), base.params());
    }

    static Row attention(Stream s, int n, double density, AttentionKernel kernelType, KernelSpec spec, String label,
                         int reps, double targetMs) {
        int nb = Math.ceilDiv(n, BLOCK);
        long elems = (long) n * H * D;
        long maskBytes = (long) H * nb * nb;
        try (DeviceBuffer q = DeviceBuffer.allocate(elems * 2); DeviceBuffer k = DeviceBuffer.allocate(elems * 2);
             DeviceBuffer v = DeviceBuffer.allocate(elems * 2); DeviceBuffer o = DeviceBuffer.allocate(elems * 2);
             DeviceBuffer mask = DeviceBuffer.allocate(maskBytes)) {
            fill(q, elems, 1, s);
            fill(k, elems, 2, s);
            fill(v, elems, 3, s);
            boolean dense = kernelType.op() != AttentionKernel.Op.SPARSE;
            KernelSpec.Launch l = kernelType.launch(nb, H, 1, D);
            Kernel kernel = spec.kernel();
            float scale = (float) (SeerKernels.LOG2E / Math.sqrt(D));
            long tiles;
            if (dense) {
                tiles = (long) H * nb * (nb + 1) / 2;
            } else {
                RANDOM_MASK.kernel().launch(s, 4096, 1, 1, 256, 1, 1, 0, mask, (long) H * nb, nb, 7L,
                        keepProbability(nb, density));
                tiles = count(mask, maskBytes, s);
            }
            double ms = time(s, reps, () -> {
                if (dense) {
                    kernel.launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), q, k, v, o, n, H, H,
                            nb, scale);
                } else {
                    kernel.launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), q, k, v, mask, o,
                            n, H, H, nb, scale);
                }
            });
            double realDensity = tiles / ((double) H * nb * (nb + 1) / 2);
            double flops = tiles * 4.0 * BLOCK * BLOCK * D;
            return new Row(label, n, realDensity, tiles, ms, flops / ms / 1e9, targetMs);
        }
    }

    /** Kv heads of the fused pass's rows at 131,072 and of {@code --fused} (GQA 32 / 8). */
    static final int FUSED_KV_HEADS = 8;
    /** What the fused pass may allocate beyond q, k, v and the output at 131,072 (issue #19): 4 GiB. */
    static final long FUSED_EXTRA_LIMIT = 4L << 30;

    /**
     * The fused distillation pass (dense attention and the pooled target) at B = 1, {@value #H} query heads and
     * {@code hkv} kv heads; prints the bytes of its scratch ({@link SeerKernels#targetScratchBytes}) and target.
     */
    static Row distillation(Stream s, int n, int hkv, AttentionKernel kernelType, int reps, double targetMs) {
        int nb = Math.ceilDiv(n, BLOCK);
        long elems = (long) n * H * D;
        long kvElems = (long) n * hkv * D;
        int slots = kernelType.targetScratchSlots();
        long scratchBytes = SeerKernels.targetScratchBytes(slots, nb);
        long targetBytes = Math.multiplyExact(Math.multiplyExact((long) H * nb, (long) nb), 4L);
        try (DeviceBuffer q = DeviceBuffer.allocate(elems * 2); DeviceBuffer k = DeviceBuffer.allocate(kvElems * 2);
             DeviceBuffer v = DeviceBuffer.allocate(kvElems * 2); DeviceBuffer o = DeviceBuffer.allocate(elems * 2);
             DeviceBuffer scratch = DeviceBuffer.allocate(scratchBytes);
             DeviceBuffer target = DeviceBuffer.allocate(targetBytes)) {
            SeerKernels.clearTargetScratchLocks(scratch, slots, nb, s);
            fill(q, elems, 4, s);
            fill(k, kvElems, 5, s);
            fill(v, kvElems, 6, s);
            Kernel kernel = kernelType.spec(D).kernel();
            KernelSpec.Launch l = kernelType.launch(nb, H, 1, D);
            float scale = (float) (SeerKernels.LOG2E / Math.sqrt(D));
            double ms = time(s, reps, () -> kernel.launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(),
                    l.sharedBytes(), q, k, v, o, scratch, target, n, H, hkv, nb, scale, slots));
            long extra = scratchBytes + targetBytes;
            System.out.println(String.format(Locale.ROOT, "fused pass %s N %d Hq %d Hkv %d: scratch %d bytes"
                    + " (%d slots x 128 x %d fp32 + locks; %s), target %d bytes; scratch + target %d bytes"
                    + " = %.3f GiB (%s 4 GiB)", kernelType.label(), n, H, hkv, scratchBytes, slots, nb,
                    nb <= kernelType.sharedScratchMaxNb() ? "unused: maxima in shared memory" : "in use",
                    targetBytes, extra, extra / (double) (1L << 30), extra <= FUSED_EXTRA_LIMIT ? "within" : "OVER"));
            long tiles = (long) H * nb * (nb + 1) / 2;
            return new Row(kernelType.label() + (hkv == H ? "" : ", GQA " + H + "/" + hkv), n, 1.0, tiles, ms,
                    tiles * 4.0 * BLOCK * BLOCK * D / ms / 1e9, targetMs);
        }
    }

    /** The prefill graph (gate + top-k selection + sparse attention, Hkv = 8) vs its attention task alone. */
    static List<Row> prefill(Stream s, int n, int reps) {
        int hkv = 8;
        int nb = Math.ceilDiv(n, BLOCK);
        AttentionShape shape = new AttentionShape(1, n, H, hkv, D);
        GateConfig gate = GateConfig.of(GateType.parse("Qavg_Kmaxminavg"), BLOCK, D, 500000.0);
        SelectionRule rule = new SelectionRule.TopK(0.1, false, true);
        float[] wk = new float[gate.kWeightElements(shape)];
        Random rnd = new Random(42);
        for (int i = 0; i < wk.length; i++) {
            wk[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        long qe = shape.qElements();
        long ke = shape.kvElements();
        try (Arena arena = Arena.ofConfined(); DeviceBuffer qb = DeviceBuffer.allocate(qe * 2);
             DeviceBuffer kb = DeviceBuffer.allocate(ke * 2); DeviceBuffer vb = DeviceBuffer.allocate(ke * 2);
             DeviceBuffer ob = DeviceBuffer.allocate(qe * 2)) {
            fill(qb, qe, 8, s);
            fill(kb, ke, 9, s);
            fill(vb, ke, 10, s);
            s.synchronize();
            Tensor q = Tensor.onDevice("q", DType.BF16, qb, 1, n, H, D);
            Tensor k = Tensor.onDevice("k", DType.BF16, kb, 1, n, hkv, D);
            Tensor v = Tensor.onDevice("v", DType.BF16, vb, 1, n, hkv, D);
            Tensor o = Tensor.onDevice("out", DType.BF16, ob, 1, n, H, D);
            Prefill.Graph g = Prefill.graph("prefill", arena, q, k, q, k, v, o, null, wk, shape, gate, rule,
                    1 / Math.sqrt(D));
            try (ExecutionPlan plan = new ExecutionPlan(g.taskGraph().snapshot()).withCudaGraph()) {
                double[] t = new double[reps];
                for (int i = 0; i < 2; i++) {
                    plan.execute();
                }
                for (int i = 0; i < reps; i++) {
                    ExecutionResult r = plan.execute();
                    t[i] = r.elapsedMillis();
                }
                double graphMs = median(t);
                for (int i = 0; i < 2; i++) {
                    plan.profile();
                }
                StringBuilder prof = new StringBuilder("prefill tasks (ms):");
                plan.profile().forEach((name, ms) -> prof.append(String.format(Locale.ROOT, " %s %.3f", name, ms)));
                System.out.println(prof);
                DeviceBuffer mask = plan.buffer(g.mask());
                long maskBytes = (long) H * nb * nb;
                long tiles = count(mask, maskBytes, s);
                Kernel kernel = sparse().spec(D).kernel();
                KernelSpec.Launch l = sparse().launch(nb, H, 1, D);
                float scale = (float) (SeerKernels.LOG2E / Math.sqrt(D));
                double attMs = time(s, reps, () -> kernel.launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(),
                        l.sharedBytes(), qb, kb, vb, mask, ob, n, H, hkv, nb, scale));
                double density = tiles / ((double) H * nb * (nb + 1) / 2);
                double flops = tiles * 4.0 * BLOCK * BLOCK * D;
                List<Row> rows = new ArrayList<>();
                rows.add(new Row("prefill: attention alone (GQA 32/8, top-k mask)", n, density, tiles, attMs,
                        flops / attMs / 1e9, Double.NaN));
                rows.add(new Row("prefill graph: pool+gate+select+attention (CUDA graph)", n, density, tiles, graphMs,
                        flops / graphMs / 1e9, 1.15 * attMs));
                return rows;
            }
        }
    }
}
