package org.seerjava.tests.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.ModelWeights;
import org.seerjava.reference.InsufficientMemoryException;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * The model loader under mutated {@code config.json} and {@code model.safetensors.index.json} files. Documented
 * outcomes: a configuration (a model that then computes finite logits for a few tokens), or an
 * {@link IllegalArgumentException} naming the file, a {@link SafeTensorsException} naming the file, or an
 * {@link InsufficientMemoryException}. Never an {@link OutOfMemoryError}, another type, a hang, or a file left behind.
 */
class CheckpointFuzzTest {
    static final Engine REFERENCE = Engines.byName("reference");

    /** Configs in the shapes real checkpoints use: transformers 5 and 4 RoPE fields, llama3 scaling, Qwen3. */
    static final List<String> CONFIGS = List.of("""
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 16, "intermediate_size": 8,
             "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8,
             "rms_norm_eps": 1e-05, "vocab_size": 12, "tie_word_embeddings": false, "hidden_act": "silu",
             "max_position_embeddings": 64, "rope_parameters": {"rope_theta": 100000.0, "rope_type": "default"}}""", """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 16, "intermediate_size": 8,
             "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
             "rms_norm_eps": 1e-05, "vocab_size": 12, "tie_word_embeddings": false, "hidden_act": "silu",
             "max_position_embeddings": 64, "rope_theta": 500000.0, "rope_scaling": {"factor": 8.0,
             "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
             "rope_type": "llama3"}}""", """
            {"architectures": ["MistralForCausalLM"], "hidden_size": 16, "intermediate_size": 8,
             "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "sliding_window": null,
             "rms_norm_eps": 1e-05, "vocab_size": 12, "tie_word_embeddings": false, "hidden_act": "silu",
             "max_position_embeddings": 64, "rope_theta": 10000.0}""");

    @TempDir
    static Path seeds;

    static byte[] weights;

    @BeforeAll
    static void writeWeights() throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        SafeTensorsWriter w = new SafeTensorsWriter();
        put(w, r, "model.embed_tokens.weight", 12, 16);
        for (int l = 0; l < 2; l++) {
            String p = "model.layers." + l + ".";
            put(w, r, p + "input_layernorm.weight", 16);
            put(w, r, p + "self_attn.q_proj.weight", 16, 16);
            put(w, r, p + "self_attn.k_proj.weight", 8, 16);
            put(w, r, p + "self_attn.v_proj.weight", 8, 16);
            put(w, r, p + "self_attn.o_proj.weight", 16, 16);
            put(w, r, p + "post_attention_layernorm.weight", 16);
            put(w, r, p + "mlp.gate_proj.weight", 8, 16);
            put(w, r, p + "mlp.up_proj.weight", 8, 16);
            put(w, r, p + "mlp.down_proj.weight", 16, 8);
        }
        put(w, r, "model.norm.weight", 16);
        put(w, r, "lm_head.weight", 12, 16);
        Path f = seeds.resolve("model.safetensors");
        w.write(f);
        weights = Files.readAllBytes(f);
    }

    private static void put(SafeTensorsWriter w, SplittableRandom r, String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] x = new float[(int) n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble(-0.3, 0.3) + (shape.length == 1 ? 1 : 0));
        }
        w.add(name, DType.BF16, shape, x);
    }

    @Test
    void mutatedConfigsParse() {
        Fuzz.run("config-parse", 3000, Duration.ofSeconds(60), seeds, (random, i) -> {
            String json = new Mutator(random).json(CONFIGS.get(random.nextInt(CONFIGS.size())));
            try {
                LlamaConfig c = LlamaConfig.parse(json, "fuzz/config.json");
                assertThat(c.qDim()).isPositive();
                assertThat(c.kvDim()).isPositive();
            } catch (IllegalArgumentException e) {
                Fuzz.documented(e, "fuzz/config.json", IllegalArgumentException.class);
            } catch (AssertionError e) {
                Fuzz.keep("config-parse", i, json.getBytes(StandardCharsets.UTF_8));
                throw e;
            }
        });
    }

    /** Whole loads: a mutated config (or shard index) beside real weights; a loaded model computes. */
    @Test
    void mutatedCheckpointsLoad(@TempDir Path dir) throws IOException {
        Path ckpt = Files.createDirectory(dir.resolve("ckpt"));
        Files.write(ckpt.resolve("model.safetensors"), weights);
        int[] loaded = new int[1];
        Fuzz.run("checkpoint-load", 200, Duration.ofSeconds(90), dir, (random, i) -> {
            Mutator m = new Mutator(random);
            String config = random.nextInt(4) == 0 ? CONFIGS.getFirst() : m.json(CONFIGS.get(random.nextInt(CONFIGS.size())));
            Files.writeString(ckpt.resolve("config.json"), config);
            Path index = ckpt.resolve(ModelWeights.INDEX);
            if (random.nextInt(3) == 0) {
                Files.writeString(index, m.json("""
                        {"metadata": {"total_size": 1}, "weight_map": {"model.embed_tokens.weight": "model.safetensors",
                         "model.norm.weight": "model.safetensors", "lm_head.weight": "../model.safetensors"}}"""));
            }
            try (LlamaModel model = LlamaModel.load(ckpt)) {
                loaded[0]++;
                int vocab = model.config().vocabSize();
                float[] logits = model.forward(new int[] {0, vocab - 1, vocab / 2}, AttentionPolicy.dense(REFERENCE));
                assertThat(logits).hasSize(3 * vocab);
                for (float x : logits) {
                    assertThat(Float.isFinite(x)).as("logit").isTrue();
                }
            } catch (IllegalArgumentException e) {
                Fuzz.documented(e, ckpt.toString(), IllegalArgumentException.class);
            } catch (SafeTensorsException | InsufficientMemoryException e) {
                Fuzz.documented(e, null, SafeTensorsException.class, InsufficientMemoryException.class);
            } catch (AssertionError e) {
                Fuzz.keep("checkpoint-load", i, config.getBytes(StandardCharsets.UTF_8));
                throw e;
            } finally {
                Files.deleteIfExists(index);
                Files.delete(ckpt.resolve("config.json"));
            }
        });
        assertThat(loaded[0]).as("models loaded").isGreaterThan(30);
    }
}
