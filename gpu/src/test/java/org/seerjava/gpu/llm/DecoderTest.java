package org.seerjava.gpu.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Stream;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;

/**
 * The GPU decoder against the float32 forward of {@link HostDecoder} on small random models of every variant, and
 * its own consistency: prefill N then decode M against one prefill of N + M, a second prefill after cached tokens,
 * the CUDA-graph decode step against the eager one, greedy generation run twice, SeerAttention keeping every block
 * against dense attention; no device memory left after 100 create / generate / close cycles; a clear error when the
 * KV cache does not fit.
 */
class DecoderTest {
    /** Logits tolerance (relative L2) of the bf16 decoder against the float32 forward; see the printed figures. */
    static final double TOL = 3e-2;

    @BeforeEach
    void gpu() {
        Dev.assume(true);
    }

    static DecoderShape shape(String variant, int vocab) {
        return switch (variant) {
            case "llama" -> new DecoderShape(128, 256, 2, 4, 2, 64, vocab, 1e-5, false, false, false, false);
            case "llama-obias" -> new DecoderShape(128, 256, 2, 4, 1, 64, vocab, 1e-5, true, true, false, false);
            case "qwen2" -> new DecoderShape(192, 320, 2, 6, 2, 32, vocab, 1e-6, true, false, false, true);
            case "qwen3" -> new DecoderShape(128, 256, 2, 2, 1, 128, vocab, 1e-6, false, false, true, false);
            default -> throw new IllegalArgumentException(variant);
        };
    }

    static int[] tokens(Random r, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(vocab);
        }
        return t;
    }

    static int argmax(float[] x, int from, int n) {
        int best = from;
        for (int i = from; i < from + n; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best - from;
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @ParameterizedTest
    @CsvSource({"llama, 256, 8192", "llama, 250, 64", "llama-obias, 256, 100", "qwen2, 320, 8192", "qwen3, 256, 8192"})
    void logitsMatchTheFloat32Forward(String variant, int vocab, int chunk) {
        DecoderShape s = shape(variant, vocab);
        HostDecoder host = new HostDecoder(s, 11);
        int n = 150;
        int[] tok = tokens(new Random(5), n, vocab);
        float[] want = host.forward(tok, 0);
        try (DecoderWeights w = host.upload(); Decoder dec = new Decoder(w, host.invFreq, 256, chunk)) {
            float[] got = dec.prefill(tok, DecoderAttention.dense(), 0);
            double err = Dev.relError(got, want);
            int agree = 0;
            for (int t = 0; t < n; t++) {
                agree += argmax(got, t * vocab, vocab) == argmax(want, t * vocab, vocab) ? 1 : 0;
            }
            System.out.printf("[seer-gpu] decoder %s V%d chunk %d vs float32 forward: rel err %.2e, max abs %.3f,"
                    + " top-1 %d/%d%n", variant, vocab, chunk, err, maxAbs(got, want), agree, n);
            assertTrue(err < TOL, "relative error " + err);
            assertTrue(agree >= n * 0.9, "top-1 agreement " + agree + "/" + n);
            assertEquals(n, dec.position());
        }
    }

    @ParameterizedTest
    @CsvSource({"llama, 100, 6", "qwen2, 70, 4", "qwen3, 127, 3"})
    void prefillThenDecodeEqualsOnePrefill(String variant, int n, int m) {
        DecoderShape s = shape(variant, 256);
        HostDecoder host = new HostDecoder(s, 12);
        int[] tok = tokens(new Random(6), n + m, 256);
        try (DecoderWeights w = host.upload(); Decoder dec = new Decoder(w, host.invFreq, 512, 8192)) {
            float[] all = dec.prefill(tok, DecoderAttention.dense(), 0);
            dec.reset();
            float[] first = dec.prefill(java.util.Arrays.copyOf(tok, n), DecoderAttention.dense());
            float[] stepwise = new float[(m + 1) * 256];
            System.arraycopy(first, 0, stepwise, 0, 256);
            for (int i = 0; i < m; i++) {
                System.arraycopy(dec.decode(tok[n + i]), 0, stepwise, (i + 1) * 256, 256);
            }
            float[] ref = java.util.Arrays.copyOfRange(all, (n - 1) * 256, (n + m) * 256);
            double err = Dev.relError(stepwise, ref);
            // a second prefill after cached tokens (the decode kernel with many queries)
            dec.reset();
            dec.prefill(java.util.Arrays.copyOf(tok, n / 2), DecoderAttention.dense());
            float[] rest = dec.prefill(java.util.Arrays.copyOfRange(tok, n / 2, n + m), DecoderAttention.dense(),
                    n - 1 - n / 2);
            double err2 = Dev.relError(rest, ref);
            System.out.printf("[seer-gpu] %s: prefill %d + decode %d vs prefill %d: rel err %.2e (max abs %.4f);"
                    + " prefill %d + %d: %.2e%n", variant, n, m, n + m, err, maxAbs(stepwise, ref), n / 2,
                    n + m - n / 2, err2);
            assertTrue(err < 1e-2, "decode vs prefill " + err);
            assertTrue(err2 < 1e-2, "second prefill vs one prefill " + err2);
        }
    }

    @Test
    void graphStepEqualsEagerStepAndGreedyIsDeterministic() {
        DecoderShape s = shape("llama", 256);
        HostDecoder host = new HostDecoder(s, 13);
        int[] prompt = tokens(new Random(7), 40, 256);
        try (DecoderWeights w = host.upload(); Decoder dec = new Decoder(w, host.invFreq, 128, 8192)) {
            int[][] runs = new int[3][];
            for (int run = 0; run < 3; run++) {
                dec.reset();
                dec.useCudaGraph(run < 2);
                float[] logits = dec.prefill(prompt, DecoderAttention.dense());
                int next = argmax(logits, 0, 256);
                int[] gen = new int[20];
                for (int i = 0; i < gen.length; i++) {
                    gen[i] = next;
                    next = dec.decodeGreedy(next);
                }
                runs[run] = gen;
            }
            System.out.println("[seer-gpu] greedy tokens: " + java.util.Arrays.toString(runs[0]));
            assertArrayEquals(runs[0], runs[1], "greedy generation differs run to run");
            assertArrayEquals(runs[0], runs[2], "the CUDA-graph step and the eager step differ");
            dec.reset();
            dec.useCudaGraph(true);
            dec.prefill(prompt, DecoderAttention.dense());
            float[] a = dec.decode(runs[0][0]);
            dec.reset();
            dec.useCudaGraph(false);
            dec.prefill(prompt, DecoderAttention.dense());
            float[] b = dec.decode(runs[0][0]);
            assertArrayEquals(a, b, "graph and eager logits differ");
            assertEquals(argmax(a, 0, 256), runs[0][1]);
        }
    }

    @ParameterizedTest
    @CsvSource({"Qavg_Kmaxminavg, 64", "Qmaxmin_Kmaxmin, 32"})
    void seerAttentionKeepingEveryBlockEqualsDense(String type, int dg) {
        DecoderShape s = new DecoderShape(128, 256, 2, 4, 2, 64, 256, 1e-5, false, false, false, false);
        HostDecoder host = new HostDecoder(s, 14);
        int[] tok = tokens(new Random(8), 700, 256);
        GateConfig gate = GateConfig.of(GateType.parse(type), 64, dg, 10000.0);
        org.seerjava.reference.AttentionShape as = new org.seerjava.reference.AttentionShape(1, 700, 4, 2, 64);
        Random r = new Random(9);
        List<LayerGate> gates = new ArrayList<>();
        for (int l = 0; l < s.layers(); l++) {
            float[] wk = new float[gate.kWeightElements(as)];
            for (int i = 0; i < wk.length; i++) {
                wk[i] = (float) (r.nextGaussian() * 0.05);
            }
            float[] wq = gate.hasQLinear(64) ? new float[gate.qWeightElements(as)] : null;
            for (int i = 0; wq != null && i < wq.length; i++) {
                wq[i] = (float) (r.nextGaussian() * 0.05);
            }
            gates.add(new LayerGate(gate, wq, wk));
        }
        try (DecoderWeights w = host.upload(); Decoder dec = new Decoder(w, host.invFreq, 1024, 256)) {
            float[] dense = dec.prefill(tok, DecoderAttention.dense(), 0);
            dec.reset();
            assertEquals(1.0, dec.prefillDensity(), 0.0);
            float[] all = dec.prefill(tok, new DecoderAttention.Seer(gates, new SelectionRule.TopK(1.0, false, true)), 0);
            assertEquals(1.0, dec.prefillDensity(), 1e-12, "every causal block kept");
            dec.reset();
            float[] sparse = dec.prefill(tok, new DecoderAttention.Seer(gates, new SelectionRule.TopK(0.3, false, true)),
                    0);
            double density = dec.prefillDensity();
            double e1 = Dev.relError(all, dense);
            double e2 = Dev.relError(sparse, dense);
            System.out.printf("[seer-gpu] SeerAttention (" + type + ", Dg " + dg + ") keeping all blocks vs dense: rel err"
                    + " %.2e; at nz_ratio 0.3:"
                    + " %.2e (density %.3f)%n", e1, e2, density);
            assertTrue(density > 0.2 && density < 0.6, "density at nz_ratio 0.3: " + density);
            assertTrue(e1 < 1e-2, "all blocks kept " + e1);
            assertTrue(e2 > e1, "dropping blocks changed nothing: the sparse path did not run");
        }
    }

    @Test
    void nothingLeaksAcross100Cycles() {
        DecoderShape s = shape("llama", 256);
        float[] inv = LlamaRope.defaultInverseFrequencies(10000.0, 64);
        int[] prompt = tokens(new Random(10), 64, 256);
        CudaContext.get().synchronize();
        long live = DeviceBuffer.liveBytes();
        long free = CudaContext.get().memoryInfo()[0];
        for (int i = 0; i < 100; i++) {
            try (DecoderWeights w = DecoderWeights.allocate(s)) {
                try (Stream st = new Stream()) {
                    w.random(i, st);
                }
                try (Decoder dec = new Decoder(w, inv, 128, 8192)) {
                    int next = argmax(dec.prefill(prompt, DecoderAttention.dense()), 0, 256);
                    for (int k = 0; k < 4; k++) {
                        next = dec.decodeGreedy(next);
                    }
                }
            }
        }
        CudaContext.get().synchronize();
        long free2 = CudaContext.get().memoryInfo()[0];
        System.out.printf("[seer-gpu] 100 load/generate/close cycles: live bytes %d → %d, free %d → %d%n", live,
                DeviceBuffer.liveBytes(), free, free2);
        assertEquals(live, DeviceBuffer.liveBytes(), "device buffers left open");
        assertTrue(free - free2 < (16L << 20), "free device memory fell by " + (free - free2) + " bytes");
    }

    @Test
    void aCacheThatDoesNotFitSaysNeededAndFree() {
        DecoderShape s = DecoderShape.llama31_8b();
        DecoderShape small = new DecoderShape(s.hidden(), 256, s.layers(), s.qHeads(), s.kvHeads(), s.headDim(), 256,
                1e-5, false, false, false, false);
        try (DecoderWeights w = DecoderWeights.allocate(new DecoderShape(128, 256, 1, 4, 2, 64, 256, 1e-5, false, false,
                false, false))) {
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class,
                    () -> new Decoder(w, LlamaRope.defaultInverseFrequencies(1e4, 64), 2_000_000_000, 8192));
            System.out.println("[seer-gpu] too large a cache: " + e.getMessage());
            assertTrue(e.getMessage().contains("free") && e.needed() > e.free(), e.getMessage());
        }
        DeviceMemoryException e2 = assertThrows(DeviceMemoryException.class, () -> DecoderWeights.allocate(
                new DecoderShape(small.hidden() * 8, 256 * 1024, 64, 32, 8, 128, 256, 1e-5, false, false, false,
                        false)));
        System.out.println("[seer-gpu] too large a model: " + e2.getMessage());
        assertTrue(e2.getMessage().contains("free"), e2.getMessage());
    }
}
