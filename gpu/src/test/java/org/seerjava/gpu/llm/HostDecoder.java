package org.seerjava.gpu.llm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.seerjava.gpu.Stream;
import org.seerjava.gpu.llm.DecoderWeights.Part;
import org.seerjava.gpu.llm.DecoderWeights.SourceType;

/**
 * Random bf16-valued weights for a {@link DecoderShape} and the float32 forward pass over them, written from
 * {@code LlamaModel.forward}'s formulas (RMSNorm, rotate-half RoPE with fp32 angles, GQA causal softmax attention,
 * SwiGLU), plus the Qwen variants (q/k/v biases, per-head q/k norms, tied embeddings). The reference the GPU decoder
 * is compared with.
 */
final class HostDecoder {
    final DecoderShape s;
    final float[] invFreq;
    final float[] embed;
    final float[] finalNorm;
    final float[] lmHead;
    final float[][] inNorm;
    final float[][] qkv;
    final float[][] qkvBias;
    final float[][] qNorm;
    final float[][] kNorm;
    final float[][] o;
    final float[][] oBias;
    final float[][] postNorm;
    final float[][] gateUp;
    final float[][] down;

    HostDecoder(DecoderShape s, long seed) {
        this.s = s;
        Random r = new Random(seed);
        int h = s.hidden();
        int layers = s.layers();
        invFreq = LlamaRope.defaultInverseFrequencies(10000.0, s.headDim());
        embed = Dev.uniform(r, s.vocab() * h, 1f);
        finalNorm = norm(r, h);
        lmHead = s.tiedEmbeddings() ? embed : Dev.uniform(r, s.vocab() * h, (float) Math.sqrt(3.0 / h));
        inNorm = new float[layers][];
        qkv = new float[layers][];
        qkvBias = new float[layers][];
        qNorm = new float[layers][];
        kNorm = new float[layers][];
        o = new float[layers][];
        oBias = new float[layers][];
        postNorm = new float[layers][];
        gateUp = new float[layers][];
        down = new float[layers][];
        for (int l = 0; l < layers; l++) {
            inNorm[l] = norm(r, h);
            qkv[l] = Dev.uniform(r, s.qkvDim() * h, (float) Math.sqrt(3.0 / h));
            qkvBias[l] = s.qkvBias() ? Dev.uniform(r, s.qkvDim(), 0.3f) : null;
            qNorm[l] = s.qkNorm() ? norm(r, s.headDim()) : null;
            kNorm[l] = s.qkNorm() ? norm(r, s.headDim()) : null;
            o[l] = Dev.uniform(r, h * s.qDim(), (float) Math.sqrt(3.0 / s.qDim()));
            oBias[l] = s.oBias() ? Dev.uniform(r, h, 0.3f) : null;
            postNorm[l] = norm(r, h);
            gateUp[l] = Dev.uniform(r, 2 * s.intermediate() * h, (float) Math.sqrt(3.0 / h));
            down[l] = Dev.uniform(r, h * s.intermediate(), (float) Math.sqrt(3.0 / s.intermediate()));
        }
    }

    private static float[] norm(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = Dev.bf16((float) (0.75 + 0.5 * r.nextDouble()));
        }
        return x;
    }

    /** Uploads every tensor: matrices as bf16, biases as fp32, norms as fp16 (all three source paths). */
    DecoderWeights upload() {
        DecoderWeights w = DecoderWeights.allocate(s);
        try (Stream st = new Stream()) {
            put(w, Part.EMBED, 0, embed, SourceType.BF16, st);
            put(w, Part.FINAL_NORM, 0, finalNorm, SourceType.F16, st);
            if (!s.tiedEmbeddings()) {
                put(w, Part.LM_HEAD, 0, lmHead, SourceType.F32, st);
            }
            for (int l = 0; l < s.layers(); l++) {
                put(w, Part.INPUT_NORM, l, inNorm[l], SourceType.F16, st);
                int qRows = s.qDim() * s.hidden();
                int kvRows = s.kvDim() * s.hidden();
                // the fused matrix in three pieces, as a checkpoint's q_proj, k_proj, v_proj come
                putSlice(w, Part.QKV, l, 0, qkv[l], 0, qRows, SourceType.BF16, st);
                putSlice(w, Part.QKV, l, qRows, qkv[l], qRows, kvRows, SourceType.F32, st);
                putSlice(w, Part.QKV, l, qRows + kvRows, qkv[l], qRows + kvRows, kvRows, SourceType.BF16, st);
                if (s.qkvBias()) {
                    put(w, Part.QKV_BIAS, l, qkvBias[l], SourceType.F32, st);
                }
                if (s.qkNorm()) {
                    put(w, Part.Q_NORM, l, qNorm[l], SourceType.BF16, st);
                    put(w, Part.K_NORM, l, kNorm[l], SourceType.F16, st);
                }
                put(w, Part.O, l, o[l], SourceType.BF16, st);
                if (s.oBias()) {
                    put(w, Part.O_BIAS, l, oBias[l], SourceType.BF16, st);
                }
                put(w, Part.POST_NORM, l, postNorm[l], SourceType.BF16, st);
                put(w, Part.GATE_UP, l, gateUp[l], SourceType.BF16, st);
                put(w, Part.DOWN, l, down[l], SourceType.F32, st);
            }
            w.finishUpload();
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    private static void put(DecoderWeights w, Part p, int layer, float[] x, SourceType type, Stream st) {
        putSlice(w, p, layer, 0, x, 0, x.length, type, st);
    }

    private static void putSlice(DecoderWeights w, Part p, int layer, long dstOffset, float[] x, int from, int n,
                                 SourceType type, Stream st) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg;
            switch (type) {
                case F32 -> seg = a.allocateFrom(ValueLayout.JAVA_FLOAT, java.util.Arrays.copyOfRange(x, from, from + n));
                case BF16 -> {
                    seg = a.allocate(ValueLayout.JAVA_SHORT, n);
                    for (int i = 0; i < n; i++) {
                        seg.setAtIndex(ValueLayout.JAVA_SHORT, i, Dev.bits(x[from + i]));
                    }
                }
                default -> {
                    seg = a.allocate(ValueLayout.JAVA_SHORT, n);
                    for (int i = 0; i < n; i++) {
                        seg.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(x[from + i]));
                    }
                }
            }
            w.upload(p, layer, dstOffset, seg, type, st);
        }
    }

    private void rmsNorm(float[] x, int rows, int width, float[] w, float[] out, int outOff) {
        float eps = (float) s.rmsNormEps();
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < width; i++) {
                ss += (double) x[r * width + i] * x[r * width + i];
            }
            float inv = (float) (1.0 / Math.sqrt((float) (ss / width) + eps));
            for (int i = 0; i < width; i++) {
                out[outOff + r * width + i] = w[i] * (x[r * width + i] * inv);
            }
        }
    }

    /** y[r, j] (+)= Σ_k x[r, k]·W[j, k], fp32 result of a double sum. */
    private static void linear(float[] x, int rows, int in, float[] w, int out, float[] y, boolean add) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < out; j++) {
                double acc = 0;
                for (int k = 0; k < in; k++) {
                    acc += (double) x[r * in + k] * w[j * in + k];
                }
                y[r * out + j] = add ? y[r * out + j] + (float) acc : (float) acc;
            }
        }
    }

    /** Logits [N − from, V] of the tokens at positions 0 … N−1. */
    float[] forward(int[] tokens, int from) {
        int n = tokens.length;
        int h = s.hidden();
        int d = s.headDim();
        int hq = s.qHeads();
        int hkv = s.kvHeads();
        int inter = s.intermediate();
        float[] x = new float[n * h];
        for (int t = 0; t < n; t++) {
            System.arraycopy(embed, tokens[t] * h, x, t * h, h);
        }
        float[] xn = new float[n * h];
        float[] proj = new float[n * s.qkvDim()];
        float[] att = new float[n * s.qDim()];
        float[] gu = new float[n * 2 * inter];
        float[] a = new float[n * inter];
        for (int l = 0; l < s.layers(); l++) {
            rmsNorm(x, n, h, inNorm[l], xn, 0);
            linear(xn, n, h, qkv[l], s.qkvDim(), proj, false);
            float[][] q = new float[n * hq][];
            float[][] k = new float[n * hkv][];
            float[][] v = new float[n * hkv][];
            for (int t = 0; t < n; t++) {
                for (int hh = 0; hh < hq + 2 * hkv; hh++) {
                    float[] vec = new float[d];
                    for (int i = 0; i < d; i++) {
                        int c = hh * d + i;
                        vec[i] = proj[t * s.qkvDim() + c] + (qkvBias[l] == null ? 0f : qkvBias[l][c]);
                    }
                    if (hh < hq + hkv && s.qkNorm()) {
                        float[] nw = hh < hq ? qNorm[l] : kNorm[l];
                        float[] tmp = new float[d];
                        rmsNorm(vec, 1, d, nw, tmp, 0);
                        vec = tmp;
                    }
                    if (hh < hq) {
                        q[t * hq + hh] = ModelKernelsTest.rope(vec, t, invFreq);
                    } else if (hh < hq + hkv) {
                        k[t * hkv + hh - hq] = ModelKernelsTest.rope(vec, t, invFreq);
                    } else {
                        v[t * hkv + hh - hq - hkv] = vec;
                    }
                }
            }
            double scale = 1 / Math.sqrt(d);
            int g = hq / hkv;
            for (int t = 0; t < n; t++) {
                for (int hh = 0; hh < hq; hh++) {
                    double[] sc = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double dot = 0;
                        for (int i = 0; i < d; i++) {
                            dot += (double) q[t * hq + hh][i] * k[j * hkv + hh / g][i];
                        }
                        sc[j] = dot * scale;
                        max = Math.max(max, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        sc[j] = Math.exp(sc[j] - max);
                        sum += sc[j];
                    }
                    for (int i = 0; i < d; i++) {
                        double acc = 0;
                        for (int j = 0; j <= t; j++) {
                            acc += sc[j] * v[j * hkv + hh / g][i];
                        }
                        att[(t * hq + hh) * d + i] = (float) (acc / sum);
                    }
                }
            }
            linear(att, n, s.qDim(), o[l], h, x, true);
            if (oBias[l] != null) {
                for (int i = 0; i < n * h; i++) {
                    x[i] += oBias[l][i % h];
                }
            }
            rmsNorm(x, n, h, postNorm[l], xn, 0);
            linear(xn, n, h, gateUp[l], 2 * inter, gu, false);
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < inter; i++) {
                    float gg = gu[t * 2 * inter + i];
                    float u = gu[t * 2 * inter + inter + i];
                    a[t * inter + i] = gg / ((float) Math.exp(-gg) + 1f) * u;
                }
            }
            linear(a, n, inter, down[l], h, x, true);
        }
        int m = n - from;
        float[] tail = java.util.Arrays.copyOfRange(x, from * h, n * h);
        float[] last = new float[m * h];
        rmsNorm(tail, m, h, finalNorm, last, 0);
        float[] logits = new float[m * s.vocab()];
        linear(last, m, h, lmHead, s.vocab(), logits, false);
        return logits;
    }
}
