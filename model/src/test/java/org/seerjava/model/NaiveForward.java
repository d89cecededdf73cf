package org.seerjava.model;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.Rope;

/**
 * An independent float64 Llama-family forward written from the formulas, for checking {@link LlamaModel} and the
 * runtime's backends on synthetic checkpoints ({@link TinyCheckpoint}: biases, GQA, Qwen3's q/k norms, tied
 * embeddings, dtypes). Uses the reference's {@link Rope} and {@link DenseAttention}.
 */
public final class NaiveForward {
    private NaiveForward() {
    }

    /** Logits [N, vocab] in double; also records pre-RoPE q of layer 0 into {@code qPre0} when not null. */
    public static double[] logits(TinyCheckpoint c, LlamaConfig cfg, int[] tokens, double[] qPre0) {
        int n = tokens.length;
        int h = cfg.hiddenSize();
        int d = cfg.headDim();
        int hq = cfg.numAttentionHeads();
        int hkv = cfg.numKeyValueHeads();
        double eps = cfg.rmsNormEps();
        double[] emb = c.stored("model.embed_tokens.weight");
        double[] x = new double[n * h];
        for (int t = 0; t < n; t++) {
            System.arraycopy(emb, tokens[t] * h, x, t * h, h);
        }
        Rope rope = new Rope(cfg.rope());
        AttentionShape shape = cfg.attentionShape(n);
        for (int l = 0; l < cfg.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[] xn = rms(x, n, h, c.stored(p + "input_layernorm.weight"), eps);
            double[] q = linear(xn, n, h, c, p + "self_attn.q_proj", hq * d);
            double[] k = linear(xn, n, h, c, p + "self_attn.k_proj", hkv * d);
            double[] v = linear(xn, n, h, c, p + "self_attn.v_proj", hkv * d);
            if (c.tensors.containsKey(p + "self_attn.q_norm.weight")) { // Qwen3: RMSNorm of every head before RoPE
                q = rms(q, n * hq, d, c.stored(p + "self_attn.q_norm.weight"), eps);
                k = rms(k, n * hkv, d, c.stored(p + "self_attn.k_norm.weight"), eps);
            }
            if (l == 0 && qPre0 != null) {
                System.arraycopy(q, 0, qPre0, 0, q.length);
            }
            rope.apply(q, 1, n, hq, d, Rope.positions(n));
            rope.apply(k, 1, n, hkv, d, Rope.positions(n));
            double[] att = new double[q.length];
            DenseAttention.causal(q, k, v, att, shape, 1 / Math.sqrt(d));
            add(x, linear(att, n, hq * d, c, p + "self_attn.o_proj", h));
            xn = rms(x, n, h, c.stored(p + "post_attention_layernorm.weight"), eps);
            int im = cfg.intermediateSize();
            double[] g = linear(xn, n, h, c, p + "mlp.gate_proj", im);
            double[] u = linear(xn, n, h, c, p + "mlp.up_proj", im);
            for (int i = 0; i < g.length; i++) {
                g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            }
            add(x, linear(g, n, im, c, p + "mlp.down_proj", h));
        }
        double[] xn = rms(x, n, h, c.stored("model.norm.weight"), eps);
        String head = c.tensors.containsKey("lm_head.weight") && !cfg.tieWordEmbeddings() ? "lm_head" : "model.embed_tokens";
        return linear(xn, n, h, c, head, cfg.vocabSize());
    }

    private static double[] rms(double[] x, int n, int h, double[] w, double eps) {
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

    private static double[] linear(double[] x, int n, int in, TinyCheckpoint c, String name, int out) {
        double[] w = c.stored(name + ".weight");
        double[] b = c.stored(name + ".bias");
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
