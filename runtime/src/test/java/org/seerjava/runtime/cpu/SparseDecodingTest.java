package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.seerjava.gate.DecodeGateSet;
import org.seerjava.gate.DecodeGateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SparseDecodePolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * SeerAttention-R decoding in the CPU session on the embedded model, with untrained decode gates (normal(0, 0.02),
 * seed 1: arbitrary but fixed selections). Checked against the heap model's teacher-forced forward with
 * {@link SparseDecodePolicy} (the same selections made by the decode gate through the engine's operations, the
 * attention of each row over its kept blocks), against dense decoding when the budget covers the cache, and the
 * dense path against itself. Tolerance as in {@code CpuEmbeddedModelTest}: 5e-4 absolute on the logits.
 */
class SparseDecodingTest {
    static final Path DIR = Path.of("../models/tiny-llama-bytes");
    static final Engine CPU = Engines.byName("cpu");
    static final double TOL = 5e-4;
    static LlamaModel heap;
    static ModelRuntime rt;
    static DecodeGateSet gates;
    static int[] text;

    @BeforeAll
    static void load() throws Exception {
        heap = LlamaModel.load(DIR);
        rt = ModelRuntime.open(ModelSource.checkpoint(DIR), RuntimeOptions.defaults().backend("cpu"));
        gates = DecodeGateSet.init(DecodeGateSpec.of(ModelDims.of(heap.config()), 64, false), 1);
        byte[] b = Files.readAllBytes(Path.of("../corpus/eval-moby.bin"));
        text = new int[600];
        for (int i = 0; i < text.length; i++) {
            text[i] = b[20_000 + i] & 0xFF;
        }
    }

    @AfterAll
    static void close() {
        rt.close();
        heap.close();
    }

    private static double maxAbs(float[] all, int row, float[] got) {
        double m = 0;
        for (int v = 0; v < 256; v++) {
            m = Math.max(m, Math.abs(all[row * 256 + v] - got[v]));
        }
        return m;
    }

    /** Prefills {@code prompt} tokens, then decodes the rest of {@code tokens}; the logits of every step. */
    private static float[][] run(Session s, int[] tokens, int prompt) {
        float[][] out = new float[tokens.length - prompt + 1][];
        out[0] = s.prefill(Arrays.copyOf(tokens, prompt));
        for (int i = prompt; i < tokens.length; i++) {
            out[i - prompt + 1] = s.decode(tokens[i]);
        }
        return out;
    }

    @Test
    void sparseDecodingEqualsTheTeacherForcedSparseForward() {
        int prompt = 200;                                   // not a multiple of 64: block 3 completes while decoding
        int[] tokens = Arrays.copyOf(text, 420);
        DecodeSelectionRule rule = new DecodeSelectionRule.TokenBudget(128);   // 2 of up to 7 blocks
        SparseDecodePolicy policy = SparseDecodePolicy.gate(CPU, gates, rule, prompt);
        float[] expected = heap.forward(tokens, policy, prompt - 1);
        float[] dense;
        try (Session d = rt.newSession(tokens.length)) {
            dense = run(d, tokens, prompt)[tokens.length - prompt];
        }
        try (Session s = rt.newSession(tokens.length, PrefillAttention.dense(), new DecodeAttention.Sparse(gates,
                rule))) {
            float[][] got = run(s, tokens, prompt);
            double worst = 0;
            for (int i = 0; i < got.length - 1; i++) {
                worst = Math.max(worst, maxAbs(expected, i, got[i]));
            }
            System.out.printf("sparse decode (budget 128) vs teacher-forced forward: max abs %.2e, density %.3f "
                    + "(policy %.3f)%n", worst, s.decodeDensity(), policy.density());
            assertTrue(worst < TOL, "max abs logit error " + worst);
            assertEquals(policy.density(), s.decodeDensity(), 1e-12, "the same blocks were attended");
            assertTrue(s.decodeDensity() < 0.7, "density " + s.decodeDensity());
            double fromDense = 0;
            float[] last = got[got.length - 1];
            for (int v = 0; v < 256; v++) {
                fromDense = Math.max(fromDense, Math.abs(last[v] - dense[v]));
            }
            assertTrue(fromDense > 100 * TOL, "sparse decoding changed the logits (by " + fromDense + ")");

            s.reset();                                      // a reset session repeats itself bit for bit
            float[][] again = run(s, tokens, prompt);
            for (int i = 0; i < got.length; i++) {
                assertArrayEquals(got[i], again[i]);
            }
        }
    }

    @Test
    void aBudgetCoveringTheCacheIsDenseDecoding() {
        int prompt = 130;
        int[] tokens = Arrays.copyOf(text, 230);
        float[][] dense;
        try (Session d = rt.newSession(tokens.length)) {
            dense = run(d, tokens, prompt);
            assertEquals(1.0, d.decodeDensity());
        }
        try (Session s = rt.newSession(tokens.length, PrefillAttention.dense(),
                DecodeAttention.tokenBudget(gates, 256))) {
            float[][] got = run(s, tokens, prompt);
            assertArrayEquals(dense[0], got[0], "the prefill is untouched");
            double worst = 0;
            for (int i = 1; i < got.length; i++) {
                for (int v = 0; v < 256; v++) {
                    worst = Math.max(worst, Math.abs(got[i][v] - dense[i][v]));
                }
            }
            assertTrue(worst < TOL, "max abs logit error " + worst);
            assertEquals(1.0, s.decodeDensity());
            assertEquals("seer-r token budget 256", s.decodeAttention().toString());
        }
    }

    @Test
    void denseDecodingIsTheDefaultAndBitIdentical() {
        int[] tokens = Arrays.copyOf(text, 150);
        try (Session plain = rt.newSession(tokens.length);
             Session explicit = rt.newSession(tokens.length, PrefillAttention.dense(), DecodeAttention.dense())) {
            assertTrue(plain.decodeAttention() instanceof DecodeAttention.Dense);
            float[][] a = run(plain, tokens, 100);
            float[][] b = run(explicit, tokens, 100);
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(a[i], b[i]);
            }
        }
    }

    @Test
    void gatesOfAnotherModelAreRefused() {
        DecodeGateSet other = DecodeGateSet.init(DecodeGateSpec.of(new ModelDims(4, 8, 2, 64,
                heap.config().rope()), 64, false), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> rt.newSession(100, PrefillAttention.dense(), DecodeAttention.tokenBudget(other, 512)));
        assertTrue(e.getMessage().contains("decode gates were made for 4 layers, heads 8/2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> rt.newSession(100, PrefillAttention.dense(), null));
    }
}
