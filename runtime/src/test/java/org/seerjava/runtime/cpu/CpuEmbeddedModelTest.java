package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.runtime.GenerationOptions;
import org.seerjava.runtime.GenerationResult;
import org.seerjava.runtime.Generator;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Sampler;
import org.seerjava.runtime.Session;

/**
 * The embedded model ({@code models/tiny-llama-bytes}, bf16 weights) on the CPU session against the heap float32
 * forward {@link LlamaModel#forward}: the same weights (bf16 widened exactly), the same float32 formulas, different
 * summation orders in the matrix products and attention. Tolerance: 5e-4 absolute on logits of magnitude ≤ ~20 (measured: 2.5e-5),
 * i.e. ~3e-5 relative, float32 rounding accumulated over 4 layers; a wrong position, mask or norm gives errors
 * of order 1.
 */
class CpuEmbeddedModelTest {
    static final Path DIR = Path.of("../models/tiny-llama-bytes");
    static final Engine CPU = Engines.byName("cpu");
    static final double TOL = 5e-4;
    static LlamaModel heap;
    static ModelRuntime rt;
    static int[] text;

    @BeforeAll
    static void load() throws Exception {
        heap = LlamaModel.load(DIR);
        rt = ModelRuntime.open(ModelSource.checkpoint(DIR), RuntimeOptions.defaults().backend("cpu"));
        byte[] b = Files.readAllBytes(Path.of("../corpus/eval-moby.bin"));
        text = new int[1100];
        for (int i = 0; i < text.length; i++) {
            text[i] = b[10_000 + i] & 0xFF;
        }
    }

    @AfterAll
    static void close() {
        rt.close();
        heap.close();
    }

    static double maxAbs(float[] all, int row, int vocab, float[] got) {
        double m = 0;
        for (int v = 0; v < vocab; v++) {
            m = Math.max(m, Math.abs(all[row * vocab + v] - got[v]));
        }
        return m;
    }

    @Test
    void prefillThenDecodeEqualsTheHeapForward() {
        int n = 700;
        int steps = 24;
        int[] tokens = Arrays.copyOf(text, n + steps);
        float[] expected = heap.forward(tokens, AttentionPolicy.dense(CPU));
        try (Session s = rt.newSession(n + steps)) {
            double worst = maxAbs(expected, n - 1, 256, s.prefill(Arrays.copyOf(tokens, n)));
            int agree = 0;
            for (int i = n; i < n + steps; i++) {
                float[] got = s.decode(tokens[i]);
                worst = Math.max(worst, maxAbs(expected, i, 256, got));
                float[] row = Arrays.copyOfRange(expected, i * 256, (i + 1) * 256);
                agree += Sampler.argmax(row) == Sampler.argmax(got) ? 1 : 0;
            }
            System.out.printf("embedded model, prefill %d + decode %d vs heap forward over %d: max abs %.2e, top-1 %d/%d%n",
                    n, steps, n + steps, worst, agree, steps);
            assertTrue(worst < TOL, "max abs logit error " + worst);
            assertEquals(steps, agree);
            // one prefill of everything gives the last row too
            s.reset();
            float[] whole = s.prefill(tokens);
            assertTrue(maxAbs(expected, n + steps - 1, 256, whole) < TOL);
            assertArrayEquals(whole, s.logits());
        }
    }

    @Test
    void continuationPrefillAttendsToTheCache() {
        int[] tokens = Arrays.copyOf(text, 300);
        float[] expected = heap.forward(tokens, AttentionPolicy.dense(CPU));
        try (Session s = rt.newSession(300)) {
            s.prefill(Arrays.copyOf(tokens, 200));
            float[] got = s.prefill(Arrays.copyOfRange(tokens, 200, 300));
            assertTrue(maxAbs(expected, 299, 256, got) < TOL);
            assertEquals(300, s.length());
        }
    }

    @Test
    void seerAttentionPrefillEqualsTheHeapModelsSeerForward() {
        GateSet gates = GateSet.load(DIR.resolve("reference-gates/attn_gate_weights.safetensors"),
                ModelDims.of(heap.config()));
        int[] tokens = Arrays.copyOf(text, 1024);
        SeerAttentionPolicy heapSeer = SeerAttentionPolicy.gate(CPU, gates, 0.3);
        float[] expected = heap.forward(tokens, heapSeer, 1023);
        float[] dense = heap.forward(tokens, AttentionPolicy.dense(CPU), 1023);
        try (Session s = rt.newSession(1100, PrefillAttention.topK(gates, 0.3))) {
            float[] got = s.prefill(tokens);
            double err = maxAbs(expected, 0, 256, got);
            double fromDense = maxAbs(dense, 0, 256, got);
            System.out.printf("SeerAttention 0.3 prefill of 1024: max abs vs heap seer %.2e (vs dense %.2e), density %.3f%n",
                    err, fromDense, s.prefillDensity());
            assertTrue(err < TOL, "vs the heap model's SeerAttention forward: " + err);
            assertTrue(fromDense > 10 * TOL, "sparse attention must differ from dense: " + fromDense);
            assertEquals(heapSeer.density(), s.prefillDensity(), 1e-12);
            assertTrue(s.prefillDensity() < 0.5);
            // decode after a sparse prefill is dense over the cache
            s.decode(text[1024]);
            assertEquals(1025, s.length());
        }
    }

    @Test
    void greedyGenerationIsDeterministic() {
        int[] prompt = toInts("Call me Ishmael. Some years ago");
        int[][] runs = new int[3][];
        for (int run = 0; run < 3; run++) {
            try (Session s = rt.newSession(Generator.capacityFor(prompt.length, 48))) {
                GenerationResult r = Generator.generate(s, prompt, GenerationOptions.greedy(48), t -> true);
                runs[run] = r.tokens();
                assertEquals(48, r.tokens().length);
                assertEquals(47, r.decodeSteps());
            }
        }
        assertArrayEquals(runs[0], runs[1]);
        assertArrayEquals(runs[0], runs[2]);
        // greedy = argmax of the heap model's logits at every step
        int[] all = new int[prompt.length + 47];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(runs[0], 0, all, prompt.length, 47);
        float[] logits = heap.forward(all, AttentionPolicy.dense(CPU), prompt.length - 1);
        for (int i = 0; i < 48; i++) {
            assertEquals(Sampler.argmax(Arrays.copyOfRange(logits, i * 256, (i + 1) * 256)), runs[0][i], "step " + i);
        }
        System.out.println("greedy continuation: " + new String(toBytes(runs[0]), StandardCharsets.ISO_8859_1));
    }

    @Test
    void seededSamplingIsDeterministic() {
        int[] prompt = toInts("The whale");
        int[] a;
        int[] b;
        try (Session s = rt.newSession(64)) {
            a = Generator.generate(s, prompt, new GenerationOptions(30, Sampler.of(0.9, 0.95, 11), null), t -> true).tokens();
            s.reset();
            b = Generator.generate(s, prompt, new GenerationOptions(30, Sampler.of(0.9, 0.95, 11), null), t -> true).tokens();
        }
        assertArrayEquals(a, b);
    }

    static int[] toInts(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = b[i] & 0xFF;
        }
        return t;
    }

    static byte[] toBytes(int[] t) {
        byte[] b = new byte[t.length];
        for (int i = 0; i < t.length; i++) {
            b[i] = (byte) t[i];
        }
        return b;
    }
}
