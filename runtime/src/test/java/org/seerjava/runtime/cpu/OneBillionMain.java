package org.seerjava.runtime.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.Locale;
import org.seerjava.runtime.GenerationOptions;
import org.seerjava.runtime.GenerationResult;
import org.seerjava.runtime.Generator;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * Opens a checkpoint on the CPU backend, generates greedily, and prints decode speed next to the memory-bandwidth
 * bound of the same run and the heap's peak; run in a child JVM with {@code -Xmx1g} by {@link CpuOneBillionTest},
 * or by hand: {@code java -Xmx1g --add-modules jdk.incubator.vector -cp … org.seerjava.runtime.cpu.OneBillionMain DIR [tokens]}.
 */
public final class OneBillionMain {
    private OneBillionMain() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int newTokens = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int[] prompt = new int[16];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 1000 + 37 * i;
        }
        long t0 = System.nanoTime();
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), RuntimeOptions.defaults().backend("cpu"));
             Session s = rt.newSession(Generator.capacityFor(prompt.length, newTokens))) {
            double open = (System.nanoTime() - t0) / 1e9;
            // warm-up: the first pass touches every page of the mapping and runs the kernels before the JIT
            // compiled them
            GenerationResult warm = Generator.generate(s, prompt, GenerationOptions.greedy(newTokens), t -> true);
            System.out.printf(Locale.ROOT, "warm-up: prefill %d tokens %.2f s, decode %.3f tokens/s%n", prompt.length,
                    warm.prefillNanos() / 1e9, warm.decodeTokensPerSecond());
            s.reset();
            GenerationResult r = Generator.generate(s, prompt, GenerationOptions.greedy(newTokens), t -> true);
            if (!java.util.Arrays.equals(warm.tokens(), r.tokens())) {
                throw new IllegalStateException("greedy generation differs run to run: " + java.util.Arrays.toString(
                        warm.tokens()) + " vs " + java.util.Arrays.toString(r.tokens()));
            }
            double bw = MemoryBandwidth.readBytesPerSecond(1L << 30, 5);
            double bound = bw / rt.weightBytesPerToken();
            long heapPeak = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
                    heapPeak += p.getPeakUsage().getUsed();
                }
            }
            System.out.printf(Locale.ROOT, "model %s: %d parameters' bytes %d, bytes read per token %d%n",
                    rt.config().architecture(), rt.weightBytes() / 2, rt.weightBytes(), rt.weightBytesPerToken());
            System.out.printf(Locale.ROOT, "open %.2f s, prefill %d tokens %.2f s, %d tokens generated%n", open,
                    prompt.length, r.prefillNanos() / 1e9, r.tokens().length);
            System.out.printf(Locale.ROOT, "decode %.3f tokens/s; read bandwidth %.2f GB/s -> bound %.3f tokens/s; "
                    + "decode = %.2f of the bound%n", r.decodeTokensPerSecond(), bw / 1e9, bound,
                    r.decodeTokensPerSecond() / bound);
            System.out.printf(Locale.ROOT, "max heap %d bytes, heap peak %d bytes; %s%n",
                    Runtime.getRuntime().maxMemory(), heapPeak, r.memory().summary());
            System.out.println("tokens " + java.util.Arrays.toString(r.tokens()));
        }
    }
}
