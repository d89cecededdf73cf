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
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsWriter;

/** A small random Llama-family checkpoint written to a directory, with knobs to break it. */
final class TinyCheckpoint {
    static final ObjectMapper JSON = new ObjectMapper();

    final ObjectNode config = JSON.createObjectNode();
    final Map<String, float[]> tensors = new LinkedHashMap<>();
    final Map<String, long[]> shapes = new LinkedHashMap<>();
    DType dtype = DType.F32;

    /** Llama with hidden 32, 4 query heads, 2 KV heads, head_dim 8, MLP 48, 2 layers, vocab 40. */
    static TinyCheckpoint llama(long seed) {
        return build("LlamaForCausalLM", 32, 4, 2, 48, 2, 40, false, false, seed);
    }

    static TinyCheckpoint build(String arch, int hidden, int heads, int kvHeads, int inter, int layers, int vocab,
                                boolean tied, boolean qkvBias, long seed) {
        TinyCheckpoint c = new TinyCheckpoint();
        c.config.putArray("architectures").add(arch);
        c.config.put("hidden_size", hidden);
        c.config.put("intermediate_size", inter);
        c.config.put("num_hidden_layers", layers);
        c.config.put("num_attention_heads", heads);
        c.config.put("num_key_value_heads", kvHeads);
        c.config.put("rms_norm_eps", 1e-5);
        c.config.put("vocab_size", vocab);
        c.config.put("tie_word_embeddings", tied);
        c.config.put("attention_bias", qkvBias);
        c.config.put("max_position_embeddings", 4096);
        c.config.put("hidden_act", "silu");
        c.config.put("rope_theta", 10000.0);
        int d = hidden / heads;
        if (arch.equals("Qwen3ForCausalLM")) {
            c.config.put("head_dim", d);
        }
        Random rnd = new Random(seed);
        c.put(rnd, "model.embed_tokens.weight", 1.0, vocab, hidden);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            c.putNorm(rnd, p + "input_layernorm.weight", hidden);
            c.put(rnd, p + "self_attn.q_proj.weight", 0.2, heads * d, hidden);
            c.put(rnd, p + "self_attn.k_proj.weight", 0.2, kvHeads * d, hidden);
            c.put(rnd, p + "self_attn.v_proj.weight", 0.2, kvHeads * d, hidden);
            if (qkvBias) {
                c.put(rnd, p + "self_attn.q_proj.bias", 0.3, heads * d);
                c.put(rnd, p + "self_attn.k_proj.bias", 0.3, kvHeads * d);
                c.put(rnd, p + "self_attn.v_proj.bias", 0.3, kvHeads * d);
            }
            if (arch.equals("Qwen3ForCausalLM")) {
                c.putNorm(rnd, p + "self_attn.q_norm.weight", d);
                c.putNorm(rnd, p + "self_attn.k_norm.weight", d);
                if (qkvBias) {
                    c.put(rnd, p + "self_attn.o_proj.bias", 0.3, hidden);
                }
            }
            c.put(rnd, p + "self_attn.o_proj.weight", 0.2, hidden, heads * d);
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
    Path write(Path dir) {
        return write(dir, 1);
    }

    /** Writes config.json and the weights into dir: one file, or {@code shards} files plus the index. */
    Path write(Path dir, int shards) {
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

    /** The weight rounded as it is stored (bf16/f16/f32), widened to double. */
    double[] stored(String name) {
        float[] x = tensors.get(name);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = switch (dtype) {
                case BF16 -> org.seerjava.reference.io.BFloat16.round(x[i]);
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(x[i]));
                default -> x[i];
            };
        }
        return y;
    }
}
