package org.seerjava.bench.tornado;

import java.io.PrintWriter;
import java.lang.foreign.ValueLayout;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.seerjava.gpu.AttentionKernel;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Event;
import org.seerjava.gpu.Kernel;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.io.BFloat16;
import org.seerjava.tornado.GraphPlan;
import org.seerjava.tornado.KernelTask;
import org.seerjava.tornado.SeerTasks;
import org.seerjava.tornado.TornadoPrefill;
import org.seerjava.tornado.TornadoRuntimeStatus;
import org.seerjava.tornado.kernels.BlockSparseAttention;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The TornadoVM engine's speed on the GPU, next to the CUDA engine's fp32 and bf16 block-sparse kernels on the same
 * inputs and masks in the same run: B = 1, 32 heads, D = 128, block 64, density 0.1 and 1.0 (random causal masks with
 * the diagonal kept), N = 8,192 and 32,768. TornadoVM times are its profiler's kernel times (CUDA events) and the
 * wall time of {@code execute()} with the inputs already on the device; CUDA times are event-timed medians. Executed
 * TFLOP/s count the kept 64×64 tiles, 4·64·64·D FLOP each (the diagonal tile whole). Also: the prefill graph
 * (pool, gate, top-k, attention; GQA 32/8) against its attention alone, and device memory over 1,000 executions of
 * the prefill graph (TornadoVM's count and cuMemGetInfo).
 *
 * <p>This lives in module {@code bench} (source folder {@code src/tornado/java}, compiled only with TORNADOVM_HOME
 * set) because it needs both the TornadoVM engine and the CUDA engine. Options: {@code --sizes 8192,32768},
 * {@code --reps R} (default 10), {@code --memory-runs R} (default 1000), {@code --quick} (N = 8,192 only),
 * {@code --prefill-only} (the prefill rows only).
 */
public final class TornadoBench {
    static final int H = 32;
    static final int D = 128;
    static final int BLOCK = 64;
    /** The H200's fp32 FMA rate: 132 SMs × 128 lanes × 2 FLOP × 1.98 GHz. */
    static final double FP32_PEAK_TFLOPS = 132 * 128 * 2 * 1.98e9 / 1e12;

    private TornadoBench() {
    }

    /** One measured line. */
    public record Row(String what, int n, double density, double ms, double tflops, String note) {
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        System.exit(run(out, args));
    }

    /** Runs the benchmark, prints the table, returns 0 (or 1 when the TornadoVM and CUDA outputs disagree). */
    public static int run(PrintWriter out, String[] args) {
        int[] sizes = {8192, 32768};
        int reps = 10;
        int memoryRuns = 1000;
        boolean prefillOnly = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--memory-runs" -> memoryRuns = Integer.parseInt(args[++i]);
                case "--quick" -> sizes = new int[] {8192};
                case "--prefill-only" -> prefillOnly = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (expected --sizes N,N, --reps R, --memory-runs R, --quick, --prefill-only)");
            }
        }
        TornadoRuntimeStatus.require();
        String cuda = prefillOnly ? "not used (--prefill-only)" : CudaContext.get().toString();
        out.printf("TornadoVM: %s%nCUDA: %s%n%s, B = 1, H = %d, D = %d, block %d, fp32 peak %.1f TFLOP/s%n%n",
                TornadoRuntimeStatus.describeDevice(), cuda, Instant.now(), H, D, BLOCK, FP32_PEAK_TFLOPS);
        List<Row> rows = new ArrayList<>();
        boolean agree = true;
        try (Stream stream = prefillOnly ? null : new Stream()) {
            for (int n : prefillOnly ? new int[0] : sizes) {
                AttentionShape shape = new AttentionShape(1, n, H, H, D);
                FloatArray q = uniform(shape.qElements(), 1);
                FloatArray k = uniform(shape.kvElements(), 2);
                FloatArray v = uniform(shape.kvElements(), 3);
                for (double density : new double[] {0.1, 1.0}) {
                    int r = density >= 1 && n > 8192 ? Math.max(3, reps / 3) : reps;     // 9 TFLOP a call
                    try {
                        agree &= sparse(out, rows, stream, shape, q, k, v, density, r);
                    } catch (RuntimeException e) {
                        agree = false;
                        out.println("N=" + n + " density " + density + " failed: " + e);
                        e.printStackTrace(out);
                    }
                    out.flush();
                }
            }
            for (int n : sizes) {
                try {
                    rows.addAll(prefill(out, n, reps));
                } catch (RuntimeException e) {
                    agree = false;
                    out.println("prefill N=" + n + " failed: " + e);
                    e.printStackTrace(out);
                }
                out.flush();
            }
            if (memoryRuns > 0) {
                out.println(memory(4096, memoryRuns));
            }
        }
        out.println();
        out.println(table(rows));
        return agree ? 0 : 1;
    }

    /** Block-sparse attention at one density: TornadoVM, CUDA fp32 and CUDA bf16 on the same mask. */
    static boolean sparse(PrintWriter out, List<Row> rows, Stream s, AttentionShape shape, FloatArray q,
                          FloatArray k, FloatArray v, double density, int reps) {
        int n = shape.seqLen();
        int nb = shape.blocks(BLOCK);
        byte[] bits = randomCausalMask(H, nb, keepProbability(nb, density), 7 + n);
        BlockMask mask = BlockMask.of(1, H, nb, bits);
        long tiles = mask.count();
        double flops = tiles * 4.0 * BLOCK * BLOCK * D;
        double scale = 1 / Math.sqrt(D);
        ByteArray maskBuffer = new ByteArray(bits.length);
        java.lang.foreign.MemorySegment.copy(bits, 0, maskBuffer.getSegment(), ValueLayout.JAVA_BYTE, 0,
                bits.length);
        FloatArray result = new FloatArray(shape.qElements());
        KernelTask task = SeerTasks.attention("attention", q, k, v, maskBuffer, result, shape, BLOCK, scale,
                BlockSparseAttention.SPARSE);
        double[] tornado;
        long compileStart = System.nanoTime();
        try (GraphPlan plan = new GraphPlan("sparse" + n, List.of(q, k, v, maskBuffer), List.of(), List.of(task),
                List.of(), List.of(result), true)) {
            plan.execute();
            double firstMs = (System.nanoTime() - compileStart) / 1e6;
            tornado = timeTornado(plan, reps);
            plan.fetch(result);
            out.printf(Locale.ROOT, "N=%d density %.3f: first execution (compile + transfer) %.0f ms%n", n,
                    mask.density(), firstMs);
        }
        rows.add(new Row("block-sparse attention, TornadoVM (kernel time)", n, mask.density(), tornado[0],
                flops / tornado[0] / 1e9, String.format(Locale.ROOT, "%.0f%% of fp32 peak", 100 * flops / tornado[0]
                / 1e9 / FP32_PEAK_TFLOPS)));
        rows.add(new Row("block-sparse attention, TornadoVM (execute() wall time)", n, mask.density(), tornado[1],
                flops / tornado[1] / 1e9, ""));

        long elems = shape.qElements();
        boolean agree;
        try (DeviceBuffer qb = DeviceBuffer.allocate(elems * 4); DeviceBuffer kb = DeviceBuffer.allocate(elems * 4);
             DeviceBuffer vb = DeviceBuffer.allocate(elems * 4); DeviceBuffer ob = DeviceBuffer.allocate(elems * 4);
             DeviceBuffer mb = DeviceBuffer.of(bits)) {
            qb.copyFrom(q.getSegment());
            kb.copyFrom(k.getSegment());
            vb.copyFrom(v.getSegment());
            Kernel f32 = AttentionKernel.SPARSE_F32.spec(D, BLOCK, 0).kernel();
            KernelSpec.Launch l = AttentionKernel.SPARSE_F32.launch(nb, H, 1, D, BLOCK, 0);
            double ms = time(s, reps, () -> f32.launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(),
                    l.sharedBytes(), qb, kb, vb, mb, ob, n, H, H, nb, (float) scale));
            rows.add(new Row("block-sparse attention, CUDA fp32 kernel", n, mask.density(), ms, flops / ms / 1e9,
                    ""));
            float[] cudaOut = ob.toFloats();
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < cudaOut.length; i++) {
                double d = (double) result.get(i) - cudaOut[i];
                diff += d * d;
                norm += (double) cudaOut[i] * cudaOut[i];
            }
            double rel = Math.sqrt(diff / norm);
            agree = rel < 1e-5;
            out.printf(Locale.ROOT, "N=%d density %.3f: TornadoVM vs CUDA fp32 output, relative difference %.2e%n", n,
                    mask.density(), rel);
        }
        try (DeviceBuffer qb = DeviceBuffer.of(bf16(q)); DeviceBuffer kb = DeviceBuffer.of(bf16(k));
             DeviceBuffer vb = DeviceBuffer.of(bf16(v)); DeviceBuffer ob = DeviceBuffer.allocate(elems * 2);
             DeviceBuffer mb = DeviceBuffer.of(bits)) {
            Kernel bf = AttentionKernel.SPARSE_SM80.spec(D).kernel();
            KernelSpec.Launch l = AttentionKernel.SPARSE_SM80.launch(nb, H, 1, D);
            double ms = time(s, reps, () -> bf.launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(),
                    l.sharedBytes(), qb, kb, vb, mb, ob, n, H, H, nb, (float) (scale * SeerKernels.LOG2E)));
            rows.add(new Row("block-sparse attention, CUDA bf16 tensor-core kernel", n, mask.density(), ms,
                    flops / ms / 1e9, ""));
        }
        return agree;
    }

    /** The prefill graph (GQA 32/8, default gate, top-k 0.1 with the diagonal) against its attention alone. */
    static List<Row> prefill(PrintWriter out, int n, int reps) {
        int hkv = 8;
        AttentionShape shape = new AttentionShape(1, n, H, hkv, D);
        GateConfig gate = GateConfig.of(GateType.parse("Qavg_Kmaxminavg"), BLOCK, D, 500000.0);
        float[] wk = new float[gate.kWeightElements(shape)];
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < wk.length; i++) {
            wk[i] = (float) (random.nextGaussian() * 0.02);
        }
        float[] q = uniform(shape.qElements(), 8).toHeapArray();
        float[] k = uniform(shape.kvElements(), 9).toHeapArray();
        float[] v = uniform(shape.kvElements(), 10).toHeapArray();
        List<Row> rows = new ArrayList<>();
        try (TornadoPrefill prefill = new TornadoPrefill(shape, gate, null, wk, new SelectionRule.TopK(0.1, false,
                true), 1 / Math.sqrt(D), false, true)) {
            prefill.load(q, k, q, k, v);
            prefill.execute();
            long start = System.nanoTime();
            for (int i = 0; i < 2 || System.nanoTime() - start < 300_000_000L; i++) {
                prefill.execute();
            }
            // Per execution: the graph's kernel time, its attention task's kernel time (TornadoVM's profiler), wall.
            double[] graph = new double[reps];
            double[] attention = new double[reps];
            double[] wall = new double[reps];
            String log = "";
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                prefill.execute();
                wall[i] = (System.nanoTime() - t0) / 1e6;
                var profile = prefill.plan().lastResult().getProfilerResult();
                graph[i] = profile.getDeviceKernelTime() / 1e6;
                log = profile.getProfileLog();
                attention[i] = taskKernelNanos(log, "prefill.attention") / 1e6;
            }
            out.println("prefill N=" + n + " tasks (kernel ms):" + taskTimes(log));
            BlockMask mask = prefill.mask();
            double flops = mask.count() * 4.0 * BLOCK * BLOCK * D;
            double g = median(graph);
            double a = median(attention);
            double w = median(wall);
            rows.add(new Row("prefill: its attention task (GQA 32/8, top-k mask), TornadoVM kernel time", n,
                    mask.density(), a, flops / a / 1e9, ""));
            rows.add(new Row("prefill graph: pool+gate+select+attention, TornadoVM kernel time", n, mask.density(), g,
                    flops / g / 1e9, String.format(Locale.ROOT, "%.3f× its attention", g / a)));
            rows.add(new Row("prefill graph, execute() wall time (output copied back)", n, mask.density(), w,
                    flops / w / 1e9, String.format(Locale.ROOT, "%.3f× its attention", w / a)));
        }
        return rows;
    }

    /** The last {@code "TASK_KERNEL_TIME"} of task {@code task} in TornadoVM's profile log (ns). */
    static long taskKernelNanos(String log, String task) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + java.util.regex.Pattern.quote(task)
                + "\":\\s*\\{[^}]*?\"TASK_KERNEL_TIME\":\\s*\"(\\d+)\"").matcher(log);
        long last = -1;
        while (m.find()) {
            last = Long.parseLong(m.group(1));
        }
        if (last < 0) {
            throw new IllegalStateException("no kernel time of task " + task + " in TornadoVM's profile");
        }
        return last;
    }

    /** " name ms, …" for every task of the last execution in a profile log. */
    static String taskTimes(String log) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"prefill\\.([A-Za-z]+)\":\\s*\\{[^}]*?"
                + "\"TASK_KERNEL_TIME\":\\s*\"(\\d+)\"").matcher(log);
        java.util.Map<String, Long> last = new java.util.LinkedHashMap<>();
        while (m.find()) {
            last.put(m.group(1), Long.parseLong(m.group(2)));
        }
        StringBuilder sb = new StringBuilder();
        last.forEach((name, ns) -> sb.append(String.format(Locale.ROOT, " %s %.3f", name, ns / 1e6)));
        return sb.toString();
    }

    /** Device memory over {@code runs} executions of a prefill graph (N = n, GQA 32/8). */
    static String memory(int n, int runs) {
        AttentionShape shape = new AttentionShape(1, n, H, 8, D);
        GateConfig gate = GateConfig.of(GateType.DEFAULT, BLOCK, D, 500000.0);
        float[] wk = new float[gate.kWeightElements(shape)];
        float[] q = uniform(shape.qElements(), 11).toHeapArray();
        float[] k = uniform(shape.kvElements(), 12).toHeapArray();
        try (TornadoPrefill prefill = new TornadoPrefill(shape, gate, null, wk, new SelectionRule.TopK(0.1, false,
                true), 1 / Math.sqrt(D), true, false)) {
            float[] result = new float[shape.qElements()];
            prefill.run(q, k, q, k, k, result);
            long tornadoFirst = prefill.plan().deviceMemory();
            long freeFirst = CudaContext.get().memoryInfo()[0];
            for (int i = 0; i < runs; i++) {
                prefill.execute();
            }
            long tornadoAfter = prefill.plan().deviceMemory();
            long freeAfter = CudaContext.get().memoryInfo()[0];
            return String.format(Locale.ROOT, "device memory over %d executions of the prefill graph (N=%d, inputs "
                    + "copied every time): TornadoVM's count %d -> %d bytes, cuMemGetInfo free %d -> %d bytes "
                    + "(change %d)", runs, n, tornadoFirst, tornadoAfter, freeFirst, freeAfter, freeAfter - freeFirst);
        }
    }

    /** {kernel ms, wall ms} medians over {@code reps} executions after a warm-up of at least 300 ms. */
    static double[] timeTornado(GraphPlan plan, int reps) {
        long start = System.nanoTime();
        for (int i = 0; i < 2 || System.nanoTime() - start < 300_000_000L; i++) {
            plan.execute();
        }
        double[] kernel = new double[reps];
        double[] wall = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            TornadoExecutionResult r = plan.execute();
            wall[i] = (System.nanoTime() - t0) / 1e6;
            kernel[i] = r.getProfilerResult().getDeviceKernelTime() / 1e6;
        }
        return new double[] {median(kernel), median(wall)};
    }

    interface Body {
        void run();
    }

    /** Event-timed median of {@code reps} launches after a warm-up of at least 300 ms (as GpuBench times). */
    static double time(Stream s, int reps, Body body) {
        long start = System.nanoTime();
        for (int i = 0; i < 2 || System.nanoTime() - start < 300_000_000L; i++) {
            body.run();
            if (i % 16 == 15) {
                s.synchronize();
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

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Uniform values in [−1, 1) from a hash of the index (fast, reproducible, filled in parallel). */
    static FloatArray uniform(int n, long seed) {
        FloatArray a = new FloatArray(n);
        var segment = a.getSegment();
        IntStream.range(0, n).parallel().forEach(i -> segment.setAtIndex(ValueLayout.JAVA_FLOAT, i,
                (float) ((mix(i * 0x9E3779B97F4A7C15L + seed) >>> 40) / (double) (1L << 24) * 2 - 1)));
        return a;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static short[] bf16(FloatArray x) {
        short[] out = new short[x.getSize()];
        IntStream.range(0, out.length).parallel().forEach(i -> out[i] = BFloat16.floatToBf16(x.get(i)));
        return out;
    }

    /** Off-diagonal keep probability giving {@code density} of the causal triangle with the diagonal kept. */
    static double keepProbability(int nb, double density) {
        double causal = nb * (nb + 1) / 2.0;
        double off = nb * (nb - 1) / 2.0;
        return Math.max(0, Math.min(1, (density * causal - nb) / off));
    }

    /** A causal mask [heads, nb, nb]: the diagonal, and each block j &lt; i with probability p. */
    static byte[] randomCausalMask(int heads, int nb, double p, long seed) {
        byte[] bits = new byte[heads * nb * nb];
        for (int row = 0; row < heads * nb; row++) {
            int i = row % nb;
            for (int j = 0; j <= i; j++) {
                double u = (mix(seed * 0x632BE59BD9B4E019L + (long) row * nb + j) >>> 11) / (double) (1L << 53);
                bits[row * nb + j] = (byte) (j == i || u < p ? 1 : 0);
            }
        }
        return bits;
    }

    /** The rows as a markdown table. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| what | N | density | median ms | executed TFLOP/s | note |\n|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.3f | %.1f | %s |%n", r.what(), r.n(),
                    r.density(), r.ms(), r.tflops(), r.note()));
        }
        return sb.toString();
    }
}
