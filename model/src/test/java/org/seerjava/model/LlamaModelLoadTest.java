package org.seerjava.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsException;

/**
 * Loading synthetic checkpoints: the forward against an independent float64 implementation (GQA ratios, q/k/v biases,
 * tied embeddings, bf16/f16/f32, sharded files), and clear errors for missing tensors, wrong shapes, corrupt files.
 */
class LlamaModelLoadTest {
    static final Engine REF = Engines.byName("reference");

    static int[] tokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(vocab);
        }
        return t;
    }

    static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max <= tol, what + ": max abs error " + max + " > " + tol);
    }

    @ParameterizedTest(name = "{0} hidden={1} heads={2}/{3} tied={4} bias={5} {6} shards={7}")
    @CsvSource({
            "LlamaForCausalLM, 32, 4, 2, false, false, F32, 1",
            "LlamaForCausalLM, 48, 6, 2, true, false, BF16, 1",
            "LlamaForCausalLM, 32, 4, 4, false, false, F16, 3",
            "Qwen2ForCausalLM, 48, 4, 1, true, true, F32, 2",
            "MistralForCausalLM, 64, 8, 2, false, false, BF16, 1",
            "Qwen3ForCausalLM, 32, 4, 2, true, false, BF16, 1",
            "Qwen3ForCausalLM, 48, 4, 2, false, true, F32, 2",
    })
    void forwardMatchesNaiveFloat64(String arch, int hidden, int heads, int kv, boolean tied, boolean bias, DType dtype,
                                    int shards, @TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.build(arch, hidden, heads, kv, 56, 2, 50, tied, bias, hidden * 31L + heads);
        c.dtype = dtype;
        c.write(dir, shards);
        try (LlamaModel m = LlamaModel.load(dir)) {
            int[] t = tokens(37, 50, 7);
            double[] qPre0 = new double[37 * heads * (hidden / heads)];
            double[] expected = NaiveForward.logits(c, m.config(), t, qPre0);
            List<LayerAttention> seen = new ArrayList<>();
            float[] logits = m.forward(t, (layer, in, out) -> {
                seen.add(in);
                REF.denseCausal(in.q(), in.k(), in.v(), out, in.shape(), in.scale());
            });
            assertClose(expected, logits, 2e-4, "logits");
            assertEquals(2, seen.size());
            assertClose(qPre0, seen.get(0).qPre(), 2e-5, "layer 0 pre-RoPE q");
            assertEquals(1 / Math.sqrt(hidden / heads), seen.get(0).scale(), 1e-15);
            assertEquals(kv, seen.get(0).shape().kvHeads());
            // logitsFrom
            float[] tail = m.forward(t, AttentionPolicy.dense(REF), 30);
            float[] expectedTail = new float[7 * 50];
            System.arraycopy(logits, 30 * 50, expectedTail, 0, expectedTail.length);
            assertArrayEquals(expectedTail, tail);
        }
    }

    @Test
    void biasesAreDetectedFromTheWeights(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.build("LlamaForCausalLM", 32, 4, 2, 40, 1, 30, false, true, 3);
        c.config.put("attention_bias", false); // the weights have q/k/v/o biases anyway
        c.write(dir);
        try (LlamaModel m = LlamaModel.load(dir)) {
            int[] t = tokens(9, 30, 1);
            assertClose(NaiveForward.logits(c, m.config(), t, null), m.forward(t, AttentionPolicy.dense(REF)), 2e-4,
                    "logits");
        }
    }

    // ------------------------------------------------------------------ errors

    static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(p),
                    "message should mention '" + p + "': " + e.getMessage());
        }
    }

    @Test
    void missingTensor(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.tensors.remove("model.layers.1.mlp.up_proj.weight");
        c.write(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir));
        assertMentions(e, "model.layers.1.mlp.up_proj.weight", "missing", "model.safetensors", "[48, 32]");
    }

    @Test
    void missingLmHeadWhenUntied(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.tensors.remove("lm_head.weight");
        c.write(dir);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)), "lm_head.weight",
                "missing");
    }

    @Test
    void qwen3NeedsItsQkNorms(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.build("Qwen3ForCausalLM", 32, 4, 2, 40, 2, 30, true, false, 5);
        c.tensors.remove("model.layers.1.self_attn.k_norm.weight");
        c.write(dir);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)),
                "model.layers.1.self_attn.k_norm.weight", "missing", "[8]");
    }

    @Test
    void moreLayersInTheWeightsThanInTheConfig(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.config.put("num_hidden_layers", 1);
        c.write(dir);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)),
                "model.layers.1.input_layernorm.weight", "num_hidden_layers = 1");
    }

    @Test
    void integerWeightIsRefusedByName(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.write(dir);
        // rewrite the file with the final norm stored as I32
        org.seerjava.reference.io.SafeTensorsWriter w = new org.seerjava.reference.io.SafeTensorsWriter();
        for (String n : c.tensors.keySet()) {
            if (n.equals("model.norm.weight")) {
                w.add(n, new long[] {32}, new int[32]);
            } else {
                w.add(n, DType.F32, c.shapes.get(n), c.tensors.get(n));
            }
        }
        w.write(dir.resolve("model.safetensors"));
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)),
                "model.norm.weight", "I32", "BF16, F16 or F32");
    }

    @Test
    void missingBiasWhenConfigSaysSo(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.config.putArray("architectures").add("Qwen2ForCausalLM");
        c.config.remove("attention_bias");
        c.write(dir);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)),
                "model.layers.0.self_attn.q_proj.bias", "missing");
    }

    @Test
    void shapeMismatch(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.shapes.put("model.layers.0.self_attn.k_proj.weight", new long[] {32, 16}); // transposed
        c.write(dir);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir));
        assertMentions(e, "model.layers.0.self_attn.k_proj.weight", "[32, 16]", "expected [16, 32]", "model.safetensors");
    }

    @Test
    void configDisagreesWithWeights(@TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.config.put("vocab_size", 41);
        c.write(dir);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)),
                "model.embed_tokens.weight", "[40, 32]", "expected [41, 32]");
    }

    @Test
    void corruptSafetensors(@TempDir Path dir) throws Exception {
        Path src = Path.of("../models/tiny-llama-bytes");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        byte[] all = Files.readAllBytes(src.resolve("model.safetensors"));
        Path truncated = dir.resolve("model.safetensors");
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length / 2));
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> LlamaModel.load(dir));
        assertMentions(e, truncated.toString());
        // garbage header length
        Files.write(truncated, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertMentions(assertThrows(SafeTensorsException.class, () -> LlamaModel.load(dir)), truncated.toString());
    }

    @Test
    void missingWeightsAndShards(@TempDir Path dir) throws Exception {
        TinyCheckpoint c = TinyCheckpoint.llama(2);
        c.write(dir, 2);
        try (LlamaModel m = LlamaModel.load(dir)) {
            assertEquals(2, m.config().numHiddenLayers());
        }
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        Files.delete(shard);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)),
                "model-00002-of-00002.safetensors", "does not exist");
        Files.delete(dir.resolve("model.safetensors.index.json"));
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir)), "no weights",
                "model.safetensors");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir.resolve("nope"))), "nope");
    }

    @Test
    void badTokensAndArguments(@TempDir Path dir) {
        TinyCheckpoint.llama(3).write(dir);
        try (LlamaModel m = LlamaModel.load(dir)) {
            AttentionPolicy p = AttentionPolicy.dense(REF);
            assertMentions(assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1, 40, 2}, p)),
                    "token 1 = 40", "[0, 40)");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {-1}, p)), "token 0 = -1");
            assertThrows(IllegalArgumentException.class, () -> m.forward(new int[0], p));
            assertMentions(assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1, 2}, p, 2)),
                    "logitsFrom");
            assertThrows(IllegalArgumentException.class, () -> m.forward(new int[] {1, 2}, null));
            assertEquals(40, m.forward(new int[] {5}, p).length, "a single token works");
        }
    }
}
