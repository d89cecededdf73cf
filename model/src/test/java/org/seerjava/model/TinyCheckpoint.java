package org.seerjava.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.BFloat16;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * A small random checkpoint of any supported family, written to a directory ({@code config.json} and the weights in
 * {@link #dtype}, one file or shards), with its parts open for tests to break (the config node, the tensor maps),
 * and its logits from an independent float64 forward ({@link NaiveForward}). The model's tests and, through this
 * module's test jar, the runtime's tests check their forward passes against it.
 *
 * <p>Biases follow the families: q/k/v biases for Qwen2 always and for Llama and Qwen3 with {@code bias}; an o_proj
 * bias for Llama and Qwen3 with {@code bias}; Qwen3 adds the per-head q/k norms.
 */
public final class TinyCheckpoint {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The config.json to write; tests may change or remove fields. */
    public final ObjectNode config = JSON.createObjectNode();
    /** The weights as drawn (float32), by tensor name, in the order they are written. */
    public final Map<String, float[]> tensors = new LinkedHashMap<>();
    /** The shape of each tensor. */
    public final Map<String, long[]> shapes = new LinkedHashMap<>();
    /** The dtype the weights are stored in (rounded to it when written). */
    public DType dtype = DType.F32;

    private TinyCheckpoint() {
    }

    /** Llama with hidden 32, 4 query heads, 2 KV heads, head_dim 8, MLP 48, 2 layers, vocab 40. */
    public static TinyCheckpoint llama(long seed) {
        return build("LlamaForCausalLM", 32, 4, 2, 48, 2, 40, false, false, seed);
    }

    /** A checkpoint with head_dim = hidden / heads and RoPE θ = 10000. */
    public static TinyCheckpoint build(String arch, int hidden, int heads, int kvHeads, int inter, int layers,
                                       int vocab, boolean tied, boolean bias, long seed) {
        int d = hidden / heads;
        return build(arch, hidden, heads, kvHeads, d, inter, layers, vocab, tied, bias, RopeConfig.of(10000, d), seed);
    }

    /**
     * A checkpoint drawn from {@code seed}: embeddings N(0, 1), q/k/v N(0, 0.3²), o/MLP/lm_head N(0, 0.2²), biases
     * N(0, 0.3²), norm weights 1 + N(0, 0.1²); config with {@code max_position_embeddings} 512.
     */
    public static TinyCheckpoint build(String arch, int hidden, int heads, int kvHeads, int headDim, int inter,
                                       int layers, int vocab, boolean tied, boolean bias, RopeConfig rope, long seed) {
        TinyCheckpoint c = new TinyCheckpoint();
        c.config.putArray("architectures").add(arch);
        c.config.put("hidden_size", hidden);
        c.config.put("intermediate_size", inter);
        c.config.put("num_hidden_layers", layers);
        c.config.put("num_attention_heads", heads);
        c.config.put("num_key_value_heads", kvHeads);
        c.config.put("head_dim", headDim);
        c.config.put("rms_norm_eps", 1e-5);
        c.config.put("vocab_size", vocab);
        c.config.put("tie_word_embeddings", tied);
        c.config.put("attention_bias", bias);
        c.config.put("max_position_embeddings", 512);
        c.config.put("hidden_act", "silu");
        c.config.put("rope_theta", rope.theta());
        if (rope.scaling() instanceof RopeConfig.Scaling.Llama3 l3) {
            ObjectNode s = c.config.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", l3.factor());
            s.put("low_freq_factor", l3.lowFreqFactor());
            s.put("high_freq_factor", l3.highFreqFactor());
            s.put("original_max_position_embeddings", l3.originalMaxPositions());
        }
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        boolean qwen3 = arch.equals("Qwen3ForCausalLM");
        boolean qkvBias = qwen2 || (bias && !arch.equals("MistralForCausalLM"));
        boolean oBias = bias && (arch.equals("LlamaForCausalLM") || qwen3);
        Random rnd = new Random(seed);
        c.put(rnd, "model.embed_tokens.weight", 1.0, vocab, hidden);
        int qd = heads * headDim;
        int kvd = kvHeads * headDim;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            c.putNorm(rnd, p + "input_layernorm.weight", hidden);
            c.put(rnd, p + "self_attn.q_proj.weight", 0.3, qd, hidden);
            c.put(rnd, p + "self_attn.k_proj.weight", 0.3, kvd, hidden);
            c.put(rnd, p + "self_attn.v_proj.weight", 0.3, kvd, hidden);
            if (qkvBias) {
                c.put(rnd, p + "self_attn.q_proj.bias", 0.3, qd);
                c.put(rnd, p + "self_attn.k_proj.bias", 0.3, kvd);
                c.put(rnd, p + "self_attn.v_proj.bias", 0.3, kvd);
            }
            if (qwen3) {
                c.putNorm(rnd, p + "self_attn.q_norm.weight", headDim);
                c.putNorm(rnd, p + "self_attn.k_norm.weight", headDim);
            }
            c.put(rnd, p + "self_attn.o_proj.weight", 0.2, hidden, qd);
            if (oBias) {
                c.put(rnd, p + "self_attn.o_proj.bias", 0.3, hidden);
            }
            c.putNorm(rnd, p + "post_attention_layernorm.weight", hidden);
            c.put(rnd, p + "mlp.gate_proj.weight", 0.2, inter, hidden);
            c.put(rnd, p + "mlp.up_proj.weight", 0.2, inter, hidden);
            c.put(rnd, p + "mlp.down_proj.weight", 0.2, hidden, inter);
        }
        c.putNorm(rnd, "model.norm.weight", hidden);
        if (!tied) {
            c.put(rnd, "lm_head.weight", 0.2, vocab, hidden);
        }
        return c;
    }

    private void put(Random rnd, String name, double std, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] x = new float[(int) n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * std);
        }
        tensors.put(name, x);
        shapes.put(name, shape);
    }

    private void putNorm(Random rnd, String name, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (1 + 0.1 * rnd.nextGaussian());
        }
        tensors.put(name, x);
        shapes.put(name, new long[] {n});
    }

    /** Writes config.json and model.safetensors into dir (created). */
    public Path write(Path dir) {
        return write(dir, 1);
    }

    /** Writes config.json and the weights into dir: one file, or {@code shards} files plus the index. */
    public Path write(Path dir, int shards) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
            List<String> names = new ArrayList<>(tensors.keySet());
            if (shards == 1) {
                writeFile(dir.resolve("model.safetensors"), names);
            } else {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", 0);
                ObjectNode map = index.putObject("weight_map");
                int per = Math.ceilDiv(names.size(), shards);
                for (int s = 0; s < shards; s++) {
                    String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
                    List<String> part = names.subList(Math.min(names.size(), s * per), Math.min(names.size(), (s + 1) * per));
                    writeFile(dir.resolve(file), part);
                    part.forEach(n -> map.put(n, file));
                }
                Files.writeString(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsString(index));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void writeFile(Path file, List<String> names) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.metadata("format", "pt");
        for (String n : names) {
            w.add(n, dtype, shapes.get(n), tensors.get(n));
        }
        w.write(file);
    }

    /** The weight rounded as it is stored (bf16/f16/f32), widened to double; null when there is no such tensor. */
    public double[] stored(String name) {
        float[] x = tensors.get(name);
        if (x == null) {
            return null;
        }
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = switch (dtype) {
                case BF16 -> BFloat16.round(x[i]);
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(x[i]));
                default -> x[i];
            };
        }
        return y;
    }

    /** Logits [N, vocab] of every position, in double, from the checkpoint's own config ({@link NaiveForward}). */
    public double[] forward(int[] tokens) {
        return NaiveForward.logits(this, LlamaConfig.parse(config.toString(), "tiny checkpoint"), tokens, null);
    }
}
