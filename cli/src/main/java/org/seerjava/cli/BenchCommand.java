package org.seerjava.cli;

import java.io.PrintWriter;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import org.seerjava.bench.GpuBench;
import org.seerjava.bench.Inputs;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.engine.Engines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code seer bench}: attention speed. On {@code cuda} it runs the event-timed GPU benchmark of
 * docs/PERFORMANCE.md; on {@code cpu}/{@code reference} a quick wall-clock median (the published CPU figures come
 * from the JMH suite in module {@code bench}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time dense and block-sparse attention (B = 1, H = 8 on CPU / 32 on GPU, D = 128, block 64, "
                + "random causal block masks with the diagonal kept). With --backend cuda: the GPU benchmark of "
                + "docs/PERFORMANCE.md (bf16, event-timed medians)."},
        footer = {"", "Examples:",
                "  seer bench                                   # CPU engine, N = 1024 … 8192",
                "  seer bench --sizes 4096 --densities 1,0.1 --reps 3",
                "  seer bench --backend cuda                    # on a machine with an NVIDIA GPU",
                "  seer bench --backend cuda --quick",
                "  # the whole model on the GPU, random weights, no checkpoint:",
                "  seer bench --backend cuda --model-shape llama-3.1-8b --random-weights",
                "  seer bench --backend cuda --model-shape llama-3.2-1b --random-weights \\",
                "      --sizes 8192,32768",
                "  seer bench --backend tornado   # TornadoVM next to CUDA (TORNADOVM_HOME)"})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--backend", defaultValue = "cpu",
            description = "reference, cpu, cuda or tornado (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--sizes", split = ",", defaultValue = "1024,2048,4096,8192",
            description = "Sequence lengths, CPU only (default: ${DEFAULT-VALUE}).")
    List<Integer> sizes;

    @Option(names = "--densities", split = ",", defaultValue = "1,0.5,0.3,0.1",
            description = "Block densities, CPU only; 1 = dense causal kernel (default: ${DEFAULT-VALUE}).")
    List<Double> densities;

    @Option(names = "--heads", defaultValue = "8", description = "Heads, CPU only (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--reps", defaultValue = "5", description = "Timed repetitions; the median is reported (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--quick", description = "GPU only: N = 8192 only.")
    boolean quick;

    @Option(names = "--model-shape", paramLabel = "NAME",
            description = "Time a whole model of this shape instead of attention alone: prefill (dense and SeerAttention"
                    + " at the first density below 1 of --densities, default 0.1) at --sizes (default 8192,32768,131072),"
                    + " GEMM rate, peak GPU memory, decode tokens/s against the bandwidth bound. Shapes: llama-3.1-8b,"
                    + " llama-3.2-1b, tiny-llama-bytes. Needs --random-weights and --backend cuda.")
    String modelShape;

    @Option(names = "--random-weights", description = "With --model-shape: draw the weights at random on the device"
            + " (no checkpoint file is read; gates are random too, so only times are meaningful).")
    boolean randomWeights;

    @Option(names = "--distill-step", paramLabel = "TOKENS", defaultValue = "0",
            description = "With --model-shape: also time one GPU gate-distillation step on a window of this many tokens.")
    int distillStep;

    @Option(names = "--decode-context", defaultValue = "1024",
            description = "With --model-shape: tokens of context of the decode measurement (default: ${DEFAULT-VALUE}).")
    int decodeContext;

    /** Every option checked before anything is allocated or printed; bad values exit 2. */
    void checkOptions() {
        OptionChecks c = new OptionChecks(spec);
        if (randomWeights && modelShape == null) {
            throw c.bad("--random-weights goes with --model-shape NAME");
        }
        c.atLeast("--reps", reps, 1);
        c.atLeast("--heads", heads, 1);
        c.densities("--densities", densities);
        c.backend("--backend", backend);
        for (int n : sizes) {
            c.atLeast("--sizes", n, 64);
            if (modelShape == null && !backend.equals("cuda")) {   // the CPU table: q, k, v and out of [1, n, H, 128]
                long elements = (long) n * heads * 128;
                if (elements > SafeTensors.MAX_ARRAY_LENGTH) {
                    throw c.bad("--sizes " + n + " with --heads " + heads + " needs arrays of " + elements
                            + " floats, more than the " + SafeTensors.MAX_ARRAY_LENGTH + " a Java array holds");
                }
                HeapBudget.require(HeapBudget.bytesOf(4 * elements, Float.BYTES),
                        "q, k, v and the output at --sizes " + n);
            }
        }
    }

    @Override
    public Integer call() {
        checkOptions();
        PrintWriter w = spec.commandLine().getOut();
        if (modelShape != null) {
            return modelBench(w);
        }
        if (backend.equals("tornado")) {
            Engines.byName("tornado");                        // a clear error when TornadoVM cannot run here
            return tornadoBench(w);
        }
        if (backend.equals("cuda")) {
            Engines.byName("cuda");                           // a clear error when there is no GPU
            List<GpuBench.Row> rows = GpuBench.run(quick ? new String[]{"--quick", "--reps", Integer.toString(reps)}
                    : new String[]{"--reps", Integer.toString(reps)});
            w.println(GpuBench.table(rows));
            return rows.stream().allMatch(GpuBench.Row::pass) ? 0 : Seer.FAILED;
        }
        Engine engine = Engines.byName(backend);
        w.printf("seer bench: %s (%s), B = 1, H = %d, D = 128, block 64, median of %d, %s%n%n", engine.name(),
                engine.description(), heads, reps, LocalDate.now());
        w.printf("%7s %8s %12s %18s %16s%n", "N", "density", "median ms", "GFLOP/s (dense-eq)", "GFLOP/s (exec)");
        for (int n : sizes) {
            AttentionShape shape = new AttentionShape(1, n, heads, heads, 128);
            Random random = new Random(Inputs.SEED);
            float[] q = Inputs.gaussian(random, shape.qElements());
            float[] k = Inputs.gaussian(random, shape.kvElements());
            float[] v = Inputs.gaussian(random, shape.kvElements());
            float[] out = new float[shape.qElements()];
            double flops = Inputs.denseFlops(shape);
            int nb = shape.blocks(64);
            for (double d : densities) {
                BlockMask mask = d >= 1 ? null : Inputs.randomCausalMask(1, heads, nb, d, Inputs.SEED + n);
                double[] ms = new double[reps];
                for (int r = -1; r < reps; r++) {                 // one warm-up
                    long t0 = System.nanoTime();
                    if (mask == null) {
                        engine.denseCausal(q, k, v, out, shape, 1 / Math.sqrt(128));
                    } else {
                        engine.blockSparse(q, k, v, mask, out, shape, 64, 1 / Math.sqrt(128));
                    }
                    if (r >= 0) {
                        ms[r] = (System.nanoTime() - t0) / 1e6;
                    }
                }
                Arrays.sort(ms);
                double median = ms[reps / 2];
                double realised = mask == null ? 1.0 : mask.density();
                w.printf(Locale.ROOT, "%7d %8.3f %12.2f %18.1f %16.1f%n", n, realised, median, flops / median / 1e6,
                        flops * realised / median / 1e6);
                w.flush();
            }
        }
        return 0;
    }

    private int modelBench(PrintWriter w) {
        var line = spec.commandLine();
        if (!randomWeights) {
            throw new picocli.CommandLine.ParameterException(line, "--model-shape " + modelShape
                    + " needs --random-weights (the model benchmark reads no checkpoint)");
        }
        if (!backend.equals("cuda")) {
            throw new picocli.CommandLine.ParameterException(line, "the model benchmark runs on --backend cuda (on the"
                    + " CPU, `seer generate` reports prefill time and tokens/s)");
        }
        org.seerjava.runtime.RuntimeBackend.named("cuda");   // a clear error when there is no GPU or no cuBLAS
        int[] n = line.getParseResult().hasMatchedOption("--sizes")
                ? sizes.stream().mapToInt(Integer::intValue).toArray() : new int[] {8192, 32768, 131072};
        double density = 0.1;
        if (line.getParseResult().hasMatchedOption("--densities")) {
            density = densities.stream().filter(d -> d < 1).findFirst().orElse(0.0);
        }
        var rows = org.seerjava.runtime.cuda.CudaModelBench.run(new org.seerjava.runtime.cuda.CudaModelBench.Options(
                modelShape, n, density, decodeContext, 128, 0, distillStep), w);
        boolean pass = true;
        for (var r : rows) {
            if (!Double.isNaN(r.target())) {
                w.printf(Locale.ROOT, "  %-44s %10.2f %-8s target %s %.2f: %s%n", r.what(), r.value(), r.unit(),
                        r.higherIsBetter() ? ">=" : "<=", r.target(), r.pass() ? "met" : "MISSED");
                pass &= r.pass();
            }
        }
        w.flush();
        return pass ? 0 : Seer.FAILED;
    }

    /**
     * The TornadoVM benchmark (module bench, built only with TORNADOVM_HOME set; found by name so that this command
     * compiles without it): TornadoVM's kernels next to the CUDA engine's fp32 and bf16 kernels.
     */
    private int tornadoBench(PrintWriter w) {
        String[] args = quick ? new String[] {"--quick", "--reps", Integer.toString(reps)}
                : new String[] {"--reps", Integer.toString(reps)};
        try {
            Class<?> bench = Class.forName("org.seerjava.bench.tornado.TornadoBench");
            return (int) bench.getMethod("run", PrintWriter.class, String[].class).invoke(null, w, args);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the TornadoVM benchmark is not built: set TORNADOVM_HOME to a TornadoVM "
                    + "SDK and run ./seer again (it then builds with the tornado profile)", e);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot run the TornadoVM benchmark: " + e, e);
        }
    }
}
