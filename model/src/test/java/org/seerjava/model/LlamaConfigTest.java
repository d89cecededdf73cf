package org.seerjava.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;

/** Parsing of config.json: transformers 4 and 5 RoPE layouts, llama3 scaling, defaults and clear errors. */
class LlamaConfigTest {
    static final Path EMBEDDED = Path.of("../models/tiny-llama-bytes/config.json");

    /** A transformers-4 style Llama 3.1 config (abridged): rope_theta and rope_scaling at the top level. */
    static final String LLAMA31_T4 = """
            {
              "architectures": ["LlamaForCausalLM"],
              "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
              "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": false,
              "rope_theta": 500000.0,
              "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                               "original_max_position_embeddings": 8192, "rope_type": "llama3"},
              "hidden_act": "silu", "attention_bias": false, "mlp_bias": false
            }""";

    @Test
    void embeddedModelConfig() {
        LlamaConfig c = LlamaConfig.load(EMBEDDED);
        assertEquals("LlamaForCausalLM", c.architecture());
        assertEquals(384, c.hiddenSize());
        assertEquals(1024, c.intermediateSize());
        assertEquals(4, c.numHiddenLayers());
        assertEquals(6, c.numAttentionHeads());
        assertEquals(2, c.numKeyValueHeads());
        assertEquals(64, c.headDim());
        assertEquals(3, c.groupSize());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(256, c.vocabSize());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertEquals(16384, c.maxPositionEmbeddings());
        assertEquals(RopeConfig.of(100000.0, 64), c.rope());
        assertEquals(0.125, c.attentionScale());
    }

    @Test
    void transformers4Llama3Config() {
        LlamaConfig c = LlamaConfig.parse(LLAMA31_T4, "llama31.json");
        assertEquals(128, c.headDim()); // hidden / heads when head_dim is absent
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(500000.0, c.rope().theta());
        assertEquals(128, c.rope().rotaryDim());
        assertEquals(new RopeConfig.Scaling.Llama3(8.0, 1.0, 4.0, 8192), c.rope().scaling());
        // older files write "type" instead of "rope_type"
        LlamaConfig old = LlamaConfig.parse(LLAMA31_T4.replace("\"rope_type\"", "\"type\""), "old.json");
        assertEquals(c.rope(), old.rope());
    }

    @Test
    void transformers5Llama3Config() {
        String t5 = """
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
                 "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
                 "rms_norm_eps": 1e-05, "vocab_size": 128256, "max_position_embeddings": 131072,
                 "tie_word_embeddings": true,
                 "rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 32.0,
                   "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""";
        LlamaConfig c = LlamaConfig.parse(t5, "llama32.json");
        assertEquals(64, c.headDim());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(new RopeConfig(500000.0, 64, new RopeConfig.Scaling.Llama3(32.0, 1.0, 4.0, 8192)), c.rope());
    }

    @Test
    void defaultsWhenOptionalFieldsAreAbsent() {
        String minimal = """
                {"architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "sliding_window": null}""";
        LlamaConfig c = LlamaConfig.parse(minimal, "m.json");
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(RopeConfig.of(10000.0, 16), c.rope());
        assertFalse(c.attentionBias());
        LlamaConfig qwen = LlamaConfig.parse(minimal.replace("MistralForCausalLM", "Qwen2ForCausalLM"), "q.json");
        assertTrue(qwen.attentionBias(), "Qwen2 has q/k/v biases by default");
    }

    @Test
    void llama3InverseFrequenciesFollowTheReference() {
        LlamaConfig c = LlamaConfig.parse(LLAMA31_T4, "llama31.json");
        float[] ours = LlamaModel.inverseFrequencies(c.rope());
        double[] ref = Rope.inverseFrequencies(c.rope());
        assertEquals(ref.length, ours.length);
        int scaled = 0;
        int kept = 0;
        for (int k = 0; k < ref.length; k++) {
            assertEquals(ref[k], ours[k], 2e-6 * ref[k], "inv_freq[" + k + "]");
            double unscaled = Math.pow(500000.0, -2.0 * k / 128);
            if (Math.abs(ref[k] - unscaled / 8) < 1e-9 * unscaled) {
                scaled++;
            } else if (Math.abs(ref[k] - unscaled) < 1e-9 * unscaled) {
                kept++;
            }
        }
        assertTrue(scaled > 0 && kept > 0 && scaled + kept < ref.length, "low, high and interpolated bands all present");
    }

    // ------------------------------------------------------------------ errors

    private static IllegalArgumentException bad(String json) {
        return assertThrows(IllegalArgumentException.class, () -> LlamaConfig.parse(json, "bad/config.json"));
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should mention '" + p + "': " + e.getMessage());
        }
    }

    @Test
    void badRopeType() {
        assertMentions(bad(LLAMA31_T4.replace("\"llama3\"", "\"yarn\"")), "bad/config.json", "rope_scaling.rope_type",
                "yarn", "llama3");
        String t5 = """
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
                 "rope_parameters": {"rope_theta": 10000.0, "rope_type": "dynamic"}}""";
        assertMentions(bad(t5), "rope_parameters.rope_type", "dynamic");
    }

    @Test
    void partialRotaryIsRefused() {
        assertMentions(bad(LLAMA31_T4.replace("\"rope_theta\": 500000.0,", "\"rope_theta\": 500000.0, \"partial_rotary_factor\": 0.5,")),
                "partial_rotary_factor");
    }

    @Test
    void llama3WithoutFactor() {
        assertMentions(bad(LLAMA31_T4.replace("\"factor\": 8.0,", "")), "rope_scaling.factor", "missing");
    }

    @Test
    void headsNotDividing() {
        assertMentions(bad(LLAMA31_T4.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 6")),
                "num_key_value_heads", "6", "32", "bad/config.json");
        // no head_dim and heads not dividing hidden_size
        assertMentions(bad(LLAMA31_T4.replace("\"num_attention_heads\": 32", "\"num_attention_heads\": 24")
                        .replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 8")),
                "num_attention_heads", "hidden_size");
    }

    @Test
    void missingHiddenSize() {
        assertMentions(bad(LLAMA31_T4.replace("\"hidden_size\": 4096,", "")), "hidden_size", "missing", "bad/config.json");
    }

    @Test
    void wrongTypesAndValues() {
        assertMentions(bad(LLAMA31_T4.replace("\"vocab_size\": 128256", "\"vocab_size\": \"many\"")), "vocab_size");
        assertMentions(bad(LLAMA31_T4.replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 0")), "num_hidden_layers");
        assertMentions(bad(LLAMA31_T4.replace("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": -1")), "rms_norm_eps");
        assertMentions(bad(LLAMA31_T4.replace("\"rope_theta\": 500000.0", "\"rope_theta\": 0.5")), "rope_theta");
        assertMentions(bad(LLAMA31_T4.replace("\"silu\"", "\"gelu\"")), "hidden_act", "gelu");
        assertMentions(bad("{\"architectures\": [\"LlamaForCausalLM\"], "), "bad/config.json", "JSON");
    }

    @Test
    void unsupportedArchitecture() {
        assertMentions(bad(LLAMA31_T4.replace("LlamaForCausalLM", "GPT2LMHeadModel")), "architectures", "GPT2LMHeadModel",
                "LlamaForCausalLM");
        assertMentions(bad(LLAMA31_T4.replace("\"architectures\": [\"LlamaForCausalLM\"],", "")), "architectures");
    }

    @Test
    void slidingWindowIsRefused() {
        String mistral = """
                {"architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "sliding_window": 4096,
                 "max_position_embeddings": 32768}""";
        assertMentions(bad(mistral), "sliding_window");
    }

    @Test
    void familiesDifferWhereHuggingFaceDiffers() {
        String base = """
                {"architectures": ["ARCH"], "hidden_size": 64, "intermediate_size": 128, "head_dim": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
                 "attention_bias": BIAS, "sliding_window": 1024, "max_position_embeddings": 4096}""";
        LlamaConfig qwen3 = LlamaConfig.parse(base.replace("ARCH", "Qwen3ForCausalLM").replace("BIAS", "true"), "q3");
        assertEquals(ModelFamily.QWEN3, qwen3.family());
        assertEquals(32, qwen3.headDim(), "Qwen3's head_dim is explicit (4 · 32 != hidden 64)");
        assertTrue(qwen3.qkvBias() && qwen3.oBias(), "Qwen3's attention_bias covers q, k, v and o");
        assertTrue(qwen3.family().qkNorm());
        LlamaConfig qwen2 = LlamaConfig.parse(base.replace("ARCH", "Qwen2ForCausalLM").replace("BIAS", "false"), "q2");
        assertTrue(qwen2.qkvBias(), "Qwen2's q/k/v always have biases");
        assertFalse(qwen2.oBias());
        assertFalse(qwen2.family().qkNorm());
        LlamaConfig llama = LlamaConfig.parse(base.replace("ARCH", "LlamaForCausalLM").replace("BIAS", "true"), "l");
        assertTrue(llama.qkvBias() && llama.oBias());
        // the sliding window is off by default for Qwen, on for Mistral (no use_sliding_window switch)
        assertMentions(bad(base.replace("ARCH", "MistralForCausalLM").replace("BIAS", "false")), "sliding_window");
        assertMentions(bad(base.replace("ARCH", "Qwen3ForCausalLM").replace("BIAS", "false")
                .replace("\"sliding_window\"", "\"use_sliding_window\": true, \"sliding_window\"")), "sliding_window");
        assertEquals(List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"),
                ModelFamily.architectures());
    }

    @Test
    void oversizedConfigIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, LLAMA31_T4.replace("{", "{\"pad\": \"" + "x".repeat(1 << 20) + "\", "));
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaConfig.load(file)), file.toString(),
                "bytes", "accepted");
    }

    @Test
    void missingFileNamesThePath(@TempDir Path dir) {
        Path file = dir.resolve("config.json");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> LlamaConfig.load(file)), file.toString());
    }

    @Test
    void loadNamesTheFileInErrors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, LLAMA31_T4.replace("\"hidden_size\": 4096,", ""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.load(file));
        assertMentions(e, file.toString(), "hidden_size");
        assertInstanceOf(IllegalArgumentException.class, e);
    }
}
