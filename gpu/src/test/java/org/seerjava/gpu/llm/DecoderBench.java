package org.seerjava.gpu.llm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.seerjava.gpu.Cublas;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.CudaLibraries;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Event;
import org.seerjava.gpu.Matmul;
import org.seerjava.gpu.Stream;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;

/**
 * Early measurements for the GPU model runtime (run on the GPU machine with the test class path): library paths,
 * device-copy bandwidth, cuBLASLt / cublasGemmEx / gemv on the Llama 3.1 8B shapes, and the whole decoder at that
 * shape with random weights: dense and SeerAttention prefill, decode tokens/s, peak memory. Arguments: any of
 * {@code env bw gemm model} (default all), {@code --sizes 8192,32768,131072}.
 */
public final class DecoderBench {
    private DecoderBench() {
    }

    static void p(String fmt, Object... args) {
        System.out.print(String.format(Locale.ROOT, fmt, args));
        System.out.flush();
    }

    static void println(Object o) {
        System.out.println(o);
        System.out.flush();
    }

    static String gib(long b) {
        return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
    }

    public static void main(String[] args) {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        int[] sizes = {8192, 32768, 131072};
        int i = a.indexOf("--sizes");
        if (i >= 0) {
            sizes = Arrays.stream(a.get(i + 1).split(",")).mapToInt(Integer::parseInt).toArray();
            a.remove(i + 1);
            a.remove(i);
        }
        boolean all = a.isEmpty();
        CudaContext c = CudaContext.get();
        double bw = 0;
        if (all || a.contains("env")) {
            println("device: " + c + ", driver " + c.driver().driverVersion());
            println("NVRTC candidates: " + CudaLibraries.nvrtcCandidates());
            println("cuBLAS folders tried: " + CudaLibraries.cublasFolders());
            println(Cublas.get());
        }
        if (all || a.contains("bw") || a.contains("model")) {
            bw = bandwidth();
        }
        if (all || a.contains("gemm")) {
            gemm();
        }
        if (all || a.contains("model")) {
            model(sizes, bw);
        }
    }

    /** Device-to-device copy of 2 GiB ({@link DeviceProbe#copyBandwidth}), in TB/s. */
    static double bandwidth() {
        double bw = DeviceProbe.copyBandwidth();
        p("device copy: 2 GiB in %.3f ms = %.3f TB/s (read + write)%n", 2.0 * (2L << 30) / bw * 1e3, bw / 1e12);
        return bw / 1e12;
    }

    record Shape(String name, int n, int k) {
    }

    static void gemm() {
        Shape[] shapes = {new Shape("qkv", 6144, 4096), new Shape("o", 4096, 4096), new Shape("gate_up", 28672, 4096),
                new Shape("down", 4096, 14336), new Shape("lm_head", 128256, 4096)};
        int[] ms = {1, 1024, 4096, 8192, 16384};
        println("GEMM y[M,N] = x[M,K]·W[N,K]ᵀ, bf16 in/out, fp32 accumulation; median of 10 (ms, TFLOP/s)");
        println("shape      M      N      K   cuBLASLt ms  TFLOP/s   GemmEx ms  TFLOP/s   gemv ms   GB/s");
        Random r = new Random(1);
        try (Matmul mm = new Matmul(); Stream s = new Stream(); Event e0 = new Event(); Event e1 = new Event()) {
            for (Shape sh : shapes) {
                for (int m : ms) {
                    if (sh.name.equals("lm_head") && m > 1024) {
                        continue;
                    }
                    try (DeviceBuffer x = DeviceBuffer.allocate((long) m * sh.k * 2);
                         DeviceBuffer w = DeviceBuffer.allocate((long) sh.n * sh.k * 2);
                         DeviceBuffer y = DeviceBuffer.allocate((long) m * sh.n * 4)) {
                        DeviceProbe.fillUniform(x, s, r.nextLong(), 1f);
                        DeviceProbe.fillUniform(w, s, r.nextLong(), 0.02f);
                        double lt = DeviceProbe.median(s, e0, e1, () -> mm.linear(s, x.pointer(), w.pointer(),
                                y.pointer(), m, sh.n, sh.k, Matmul.Out.BF16));
                        double ex = DeviceProbe.median(s, e0, e1, () -> mm.linearGemmEx(s, x.pointer(), w.pointer(),
                                y.pointer(), m, sh.n, sh.k, Matmul.Out.BF16));
                        double flops = 2.0 * m * sh.n * sh.k;
                        String gv = "";
                        if (m == 1) {
                            double g = DeviceProbe.median(s, e0, e1, () -> ModelKernels.gemv(s, w.pointer(),
                                    x.pointer(), y.pointer(), sh.n, sh.k, ModelKernels.GemvOut.BF16));
                            gv = String.format(Locale.ROOT, "  %8.4f  %6.0f", g, (double) sh.n * sh.k * 2 / (g * 1e-3) / 1e9);
                            gv += String.format(Locale.ROOT, "   (Lt %.0f GB/s)", (double) sh.n * sh.k * 2 / (lt * 1e-3) / 1e9);
                        }
                        p("%-8s %6d %6d %6d  %10.4f  %7.1f  %10.4f  %7.1f%s%n", sh.name, m,
                                sh.n, sh.k, lt, flops / (lt * 1e-3) / 1e12, ex, flops / (ex * 1e-3) / 1e12, gv);
                    }
                }
            }
        }
    }

    static void model(int[] sizes, double bw) {
        DecoderShape s = DecoderShape.llama31_8b();
        int maxN = Arrays.stream(sizes).max().orElse(8192);
        float[] inv = LlamaRope.defaultInverseFrequencies(500000.0, 128);
        long t0 = System.nanoTime();
        try (DecoderWeights w = DecoderWeights.allocate(s)) {
            try (Stream st = new Stream()) {
                w.random(42, st);
            }
            long wBytes = DecoderWeights.bytes(s);
            p("Llama-3.1-8B shape, random bf16 weights: %s (%d bytes) drawn in %.2f s%n",
                    gib(wBytes), wBytes, (System.nanoTime() - t0) / 1e9);
            int capacity = Math.max(maxN, 1024) + 1024;
            try (Decoder dec = new Decoder(w, inv, capacity, Integer.getInteger("chunk", Decoder.DEFAULT_CHUNK))) {
                long kv = s.kvCacheBytes(capacity);
                p("KV cache for %d positions: %s; resident besides weights: %s%n", capacity,
                        gib(kv), gib(Decoder.residentBytes(s, capacity, ModelKernels.decodeSplits(1, s.kvHeads(), capacity))));
                Random r = new Random(3);
                dec.prefill(DecoderTest.tokens(r, 2048, s.vocab()), DecoderAttention.dense());   // warm-up
                dec.reset();
                List<LayerGate> gates = new ArrayList<>();
                GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 128, 500000.0);
                AttentionShape as = new AttentionShape(1, 64, s.qHeads(), s.kvHeads(), s.headDim());
                for (int l = 0; l < s.layers(); l++) {
                    float[] wk = new float[gate.kWeightElements(as)];
                    for (int j = 0; j < wk.length; j++) {
                        wk[j] = (float) (r.nextGaussian() * 0.02);
                    }
                    gates.add(new LayerGate(gate, null, wk));
                }
                var seer = new DecoderAttention.Seer(gates, new SelectionRule.TopK(0.1, false, true));
                println("prefill (last-token logits), wall time incl. host; attention timed per layer in a"
                        + " second run");
                println("attention        tokens    prefill ms   attention ms   peak allocated   limit");
                for (int n : sizes) {
                    for (DecoderAttention att : List.of(DecoderAttention.dense(), seer)) {
                        int[] tok = DecoderTest.tokens(r, n, s.vocab());
                        dec.reset();
                        DeviceBuffer.resetPeak();
                        CudaContext.get().synchronize();
                        long a0 = System.nanoTime();
                        dec.prefill(tok, att);
                        double ms = (System.nanoTime() - a0) / 1e6;
                        long peak = DeviceBuffer.peakBytes();
                        dec.reset();
                        dec.profileAttention(true);
                        dec.prefill(tok, att);
                        dec.profileAttention(false);
                        double attMs = dec.takeAttentionMillis();
                        long limit = wBytes + s.kvCacheBytes(n + 1024L) + (4L << 30);
                        p("%-14s %8d  %12.1f  %13.1f   %s  %s%n",
                                att instanceof DecoderAttention.Dense ? "dense" : "seer top-k 0.1", n, ms, attMs,
                                gib(peak), gib(limit));
                    }
                }
                dec.reset();
                int[] prompt = DecoderTest.tokens(r, 1024, s.vocab());
                float[] logits = dec.prefill(prompt, DecoderAttention.dense());
                int next = DecoderTest.argmax(logits, 0, s.vocab());
                for (int k = 0; k < 8; k++) {
                    next = dec.decodeGreedy(next);
                }
                int steps = 128;
                long d0 = System.nanoTime();
                for (int k = 0; k < steps; k++) {
                    next = dec.decodeGreedy(next);
                }
                double sec = (System.nanoTime() - d0) / 1e9;
                double tps = steps / sec;
                double bound = bw * 1e12 / wBytes;
                p("decode at 1,024-1,160 tokens of context: %.1f tokens/s (%.3f ms/token);"
                        + " bound %.1f tokens/s (%s of weights / %.3f TB/s): %.1f %%%n", tps, 1e3 / tps, bound, gib(wBytes),
                        bw, 100 * tps / bound);
                dec.useCudaGraph(false);
                long d1 = System.nanoTime();
                for (int k = 0; k < 32; k++) {
                    next = dec.decodeGreedy(next);
                }
                p("decode without the CUDA graph: %.1f tokens/s%n",
                        32 / ((System.nanoTime() - d1) / 1e9));
            }
        }
    }
}
