package org.seerjava.runtime.cpu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engines;
import org.seerjava.runtime.GenerationOptions;
import org.seerjava.runtime.GenerationResult;
import org.seerjava.runtime.Generator;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * The CPU session on the embedded model, measured in one run: prefill of N tokens against the heap float32 forward
 * of {@link LlamaModel} (interleaved repetitions, medians and their ratio), then decode tokens/s beside the bound
 * from a memory-bandwidth probe. Run from the project folder:
 * {@code java --add-modules jdk.incubator.vector -cp … org.seerjava.runtime.cpu.CpuRuntimeBenchmark [N] [reps] [decode]}.
 */
public final class CpuRuntimeBenchmark {
    private CpuRuntimeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        int decode = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        Path dir = Path.of("models/tiny-llama-bytes");
        byte[] b = Files.readAllBytes(Path.of("corpus/eval-moby.bin"));
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = b[i] & 0xFF;
        }
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), RuntimeOptions.defaults().backend("cpu"));
             LlamaModel m = LlamaModel.load(dir)) {
            AttentionPolicy dense = AttentionPolicy.dense(Engines.byName("cpu"));
            double[] session = new double[reps];
            double[] heap = new double[reps];
            for (int r = -2; r < reps; r++) { // two warm-up rounds
                long t0 = System.nanoTime();
                try (Session s = rt.newSession(n)) {
                    s.prefill(t);
                }
                long t1 = System.nanoTime();
                m.forward(t, dense, n - 1);
                long t2 = System.nanoTime();
                if (r >= 0) {
                    session[r] = (t1 - t0) / 1e9;
                    heap[r] = (t2 - t1) / 1e9;
                }
            }
            Arrays.sort(session);
            Arrays.sort(heap);
            System.out.printf(Locale.ROOT, "prefill %d tokens: session %.3f s, heap model %.3f s (medians of %d), "
                    + "ratio %.2f%n", n, session[reps / 2], heap[reps / 2], reps, session[reps / 2] / heap[reps / 2]);
            int[] prompt = Arrays.copyOf(t, 64);
            double best = 0;
            try (Session s = rt.newSession(Generator.capacityFor(prompt.length, decode))) {
                for (int r = 0; r < 3; r++) {
                    s.reset();
                    GenerationResult g = Generator.generate(s, prompt, GenerationOptions.greedy(decode), x -> true);
                    best = Math.max(best, g.decodeTokensPerSecond());
                }
            }
            double bw = MemoryBandwidth.readBytesPerSecond(1L << 30, 5);
            double bound = bw / rt.weightBytesPerToken();
            System.out.printf(Locale.ROOT, "decode (best of 3 runs of %d tokens after a 64-token prompt): %.1f tokens/s; "
                    + "bound %d bytes ÷ %.2f GB/s = %.0f tokens/s; ratio %.3f%n", decode, best,
                    rt.weightBytesPerToken(), bw / 1e9, bound, best / bound);
        }
    }
}
