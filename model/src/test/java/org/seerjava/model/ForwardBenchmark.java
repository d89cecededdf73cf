package org.seerjava.model;

import java.nio.file.Path;
import java.util.Random;
import org.seerjava.cpu.Parallel;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/**
 * Manual benchmark (not a test): GFLOP/s of {@link Linear} on [N, 384] × [384, 1024] and forward tokens/s of the
 * embedded model. Run: {@code java --add-modules jdk.incubator.vector -cp … org.seerjava.model.ForwardBenchmark
 * [backend] [N …]}.
 */
public final class ForwardBenchmark {
    private ForwardBenchmark() {
    }

    /** CPU time of this process (all threads), seconds; shows the cost when other processes share the cores. */
    static double processCpuSeconds() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() / 1e9 : Double.NaN;
    }

    /**
     * Runs the benchmark.
     *
     * @param args backend name, then sequence lengths
     */
    public static void main(String[] args) {
        Random rnd = new Random(1);
        int in = 384, out = 1024;
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Linear lin = new Linear(w, null, out, in);
        for (int n : new int[] {1024, 2048, 8192}) {
            float[] x = new float[n * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] y = new float[n * out];
            for (int rep = 0; rep < 30; rep++) {
                lin.apply(x, n, y, false);
            }
            int reps = 20;
            long t0 = System.nanoTime();
            for (int rep = 0; rep < reps; rep++) {
                lin.apply(x, n, y, false);
            }
            double s = (System.nanoTime() - t0) / 1e9 / reps;
            System.out.printf("linear [%d,%d]x[%d,%d]: %.3f ms, %.1f GFLOP/s (%d threads, %s)%n", n, in, in, out, s * 1e3,
                    2.0 * n * in * out / s / 1e9, Parallel.threads(), Linear.S);
        }
        String backend = args.length > 0 ? args[0] : "auto";
        Engine engine = Engines.byName(backend);
        try (LlamaModel model = LlamaModel.load(Path.of(System.getProperty("seer.model", "models/tiny-llama-bytes")))) {
            for (int i = 1; i < Math.max(2, args.length); i++) {
                int n = args.length > 1 ? Integer.parseInt(args[i]) : 2048;
                int[] tokens = new int[n];
                for (int t = 0; t < n; t++) {
                    tokens[t] = 32 + rnd.nextInt(90);
                }
                long t0 = System.nanoTime();
                model.forward(tokens, AttentionPolicy.dense(engine));
                double first = (System.nanoTime() - t0) / 1e9;
                // attention timing separately
                long[] att = new long[1];
                AttentionPolicy timed = (l, a, o) -> {
                    long s0 = System.nanoTime();
                    engine.denseCausal(a.q(), a.k(), a.v(), o, a.shape(), a.scale());
                    att[0] += System.nanoTime() - s0;
                };
                double cpu0 = processCpuSeconds();
                t0 = System.nanoTime();
                model.forward(tokens, timed);
                double s = (System.nanoTime() - t0) / 1e9;
                double cpu = processCpuSeconds() - cpu0;
                System.out.printf("forward N=%d (%s): %.2f s (first %.2f s), %.0f tokens/s; attention %.2f s, rest %.2f s;"
                                + " process CPU %.2f s = %.0f tokens per CPU-second%n",
                        n, engine.name(), s, first, n / s, att[0] / 1e9, s - att[0] / 1e9, cpu, n / cpu);
            }
        }
    }
}
