package org.seerjava.runtime.cpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.BFloat16;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * A small random checkpoint of any family, and an independent float64 forward written from the formulas (the
 * reference's {@link Rope} and {@link DenseAttention}) to check the runtime against.
 */
final class TinyModel {
    final String arch;
    final int hidden;
    final int heads;
    final int kvHeads;
    final int headDim;
    final int inter;
    final int layers;
    final int vocab;
    final boolean tied;
    final boolean bias;
    final double eps = 1e-5;
    final RopeConfig rope;
    DType dtype = DType.F32;
    final Map<String, float[]> tensors = new LinkedHashMap<>();
    final Map<String, long[]> shapes = new LinkedHashMap<>();

    TinyModel(String arch, int hidden, int heads, int kvHeads, int headDim, int inter, int layers, int vocab,
              boolean tied, boolean bias, RopeConfig rope, long seed) {
        this.arch = arch;
        this.hidden = hidden;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.inter = inter;
        this.layers = layers;
        this.vocab = vocab;
        this.tied = tied;
        this.bias = bias;
        this.rope = rope;
        Random rnd = new Random(seed);
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        boolean qwen3 = arch.equals("Qwen3ForCausalLM");
        boolean qkvBias = qwen2 || (bias && !arch.equals("MistralForCausalLM"));
        boolean oBias = bias && (arch.equals("LlamaForCausalLM") || qwen3);
        put(rnd, "model.embed_tokens.weight", 1.0, vocab, hidden);
        int qd = heads * headDim;
        int kvd = kvHeads * headDim;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            norm(rnd, p + "input_layernorm.weight", hidden);
            put(rnd, p + "self_attn.q_proj.weight", 0.3, qd, hidden);
            put(rnd, p + "self_attn.k_proj.weight", 0.3, kvd, hidden);
            put(rnd, p + "self_attn.v_proj.weight", 0.3, kvd, hidden);
            if (qkvBias) {
                put(rnd, p + "self_attn.q_proj.bias", 0.3, qd);
                put(rnd, p + "self_attn.k_proj.bias", 0.3, kvd);
                put(rnd, p + "self_attn.v_proj.bias", 0.3, kvd);
            }
            if (qwen3) {
                norm(rnd, p + "self_attn.q_norm.weight", headDim);
                norm(rnd, p + "self_attn.k_norm.weight", headDim);
            }
            put(rnd, p + "self_attn.o_proj.weight", 0.2, hidden, qd);
            if (oBias) {
                put(rnd, p + "self_attn.o_proj.bias", 0.3, hidden);
            }
            norm(rnd, p + "post_attention_layernorm.weight", hidden);
            put(rnd, p + "mlp.gate_proj.weight", 0.2, inter, hidden);
            put(rnd, p + "mlp.up_proj.weight", 0.2, inter, hidden);
            put(rnd, p + "mlp.down_proj.weight", 0.2, hidden, inter);
        }
        norm(rnd, "model.norm.weight", hidden);
        if (!tied) {
            put(rnd, "lm_head.weight", 0.2, vocab, hidden);
        }
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

    private void norm(Random rnd, String name, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (1 + 0.1 * rnd.nextGaussian());
        }
        tensors.put(name, x);
        shapes.put(name, new long[] {n});
    }

    /** Writes config.json and model.safetensors. */
    Path write(Path dir) {
        try {
            Files.createDirectories(dir);
            ObjectMapper json = new ObjectMapper();
            ObjectNode c = json.createObjectNode();
            c.putArray("architectures").add(arch);
            c.put("hidden_size", hidden);
            c.put("intermediate_size", inter);
            c.put("num_hidden_layers", layers);
            c.put("num_attention_heads", heads);
            c.put("num_key_value_heads", kvHeads);
            c.put("head_dim", headDim);
            c.put("rms_norm_eps", eps);
            c.put("vocab_size", vocab);
            c.put("tie_word_embeddings", tied);
            c.put("attention_bias", bias);
            c.put("max_position_embeddings", 512);
            c.put("hidden_act", "silu");
            c.put("rope_theta", rope.theta());
            if (rope.scaling() instanceof RopeConfig.Scaling.Llama3 l3) {
                ObjectNode s = c.putObject("rope_scaling");
                s.put("rope_type", "llama3");
                s.put("factor", l3.factor());
                s.put("low_freq_factor", l3.lowFreqFactor());
                s.put("high_freq_factor", l3.highFreqFactor());
                s.put("original_max_position_embeddings", l3.originalMaxPositions());
            }
            Files.writeString(dir.resolve("config.json"), json.writeValueAsString(c));
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : tensors.keySet()) {
                w.add(n, dtype, shapes.get(n), tensors.get(n));
            }
            w.write(dir.resolve("model.safetensors"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The weight as stored (rounded to the dtype), widened to double. */
    double[] stored(String name) {
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

    /** Logits [N, vocab] of every position, in double. */
    double[] forward(int[] tokens) {
        int n = tokens.length;
        int h = hidden;
        int d = headDim;
        double[] emb = stored("model.embed_tokens.weight");
        double[] x = new double[n * h];
        for (int t = 0; t < n; t++) {
            System.arraycopy(emb, tokens[t] * h, x, t * h, h);
        }
        Rope r = new Rope(rope);
        AttentionShape shape = new AttentionShape(1, n, heads, kvHeads, d);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[] xn = rms(x, n, h, stored(p + "input_layernorm.weight"));
            double[] q = linear(xn, n, h, p + "self_attn.q_proj", heads * d);
            double[] k = linear(xn, n, h, p + "self_attn.k_proj", kvHeads * d);
            double[] v = linear(xn, n, h, p + "self_attn.v_proj", kvHeads * d);
            if (tensors.containsKey(p + "self_attn.q_norm.weight")) {
                q = rms(q, n * heads, d, stored(p + "self_attn.q_norm.weight"));
                k = rms(k, n * kvHeads, d, stored(p + "self_attn.k_norm.weight"));
            }
            r.apply(q, 1, n, heads, d, Rope.positions(n));
            r.apply(k, 1, n, kvHeads, d, Rope.positions(n));
            double[] att = new double[q.length];
            DenseAttention.causal(q, k, v, att, shape, 1 / Math.sqrt(d));
            add(x, linear(att, n, heads * d, p + "self_attn.o_proj", h));
            xn = rms(x, n, h, stored(p + "post_attention_layernorm.weight"));
            double[] g = linear(xn, n, h, p + "mlp.gate_proj", inter);
            double[] u = linear(xn, n, h, p + "mlp.up_proj", inter);
            for (int i = 0; i < g.length; i++) {
                g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            }
            add(x, linear(g, n, inter, p + "mlp.down_proj", h));
        }
        double[] xn = rms(x, n, h, stored("model.norm.weight"));
        return linear(xn, n, h, tied ? "model.embed_tokens" : "lm_head", vocab);
    }

    private double[] rms(double[] x, int n, int h, double[] w) {
        double[] y = new double[x.length];
        for (int t = 0; t < n; t++) {
            double ss = 0;
            for (int i = 0; i < h; i++) {
                ss += x[t * h + i] * x[t * h + i];
            }
            double inv = 1 / Math.sqrt(ss / h + eps);
            for (int i = 0; i < h; i++) {
                y[t * h + i] = w[i] * x[t * h + i] * inv;
            }
        }
        return y;
    }

    private double[] linear(double[] x, int n, int in, String name, int out) {
        double[] w = stored(name + ".weight");
        double[] b = stored(name + ".bias");
        double[] y = new double[n * out];
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    s += x[t * in + i] * w[o * in + i];
                }
                y[t * out + o] = s;
            }
        }
        return y;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
