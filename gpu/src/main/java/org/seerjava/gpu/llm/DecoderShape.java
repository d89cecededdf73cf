package org.seerjava.gpu.llm;

/**
 * The sizes and variants of a Llama-family decoder as the GPU runtime needs them (module {@code model} maps a
 * checkpoint's configuration onto it).
 *
 * @param hidden        residual width H
 * @param intermediate  SwiGLU width I
 * @param layers        decoder layers
 * @param qHeads        query heads Hq
 * @param kvHeads       key/value heads Hkv (divides Hq)
 * @param headDim       D
 * @param vocab         vocabulary size V
 * @param rmsNormEps    RMSNorm epsilon
 * @param qkvBias       q/k/v projections carry biases (Qwen2)
 * @param oBias         the output projection carries a bias (Llama with attention_bias)
 * @param qkNorm        per-head RMSNorm of q and k before RoPE (Qwen3)
 * @param tiedEmbeddings the lm_head is embed_tokens
 */
public record DecoderShape(int hidden, int intermediate, int layers, int qHeads, int kvHeads, int headDim, int vocab,
                           double rmsNormEps, boolean qkvBias, boolean oBias, boolean qkNorm, boolean tiedEmbeddings) {

    public DecoderShape {
        positive("hidden", hidden);
        positive("intermediate", intermediate);
        positive("layers", layers);
        positive("qHeads", qHeads);
        positive("kvHeads", kvHeads);
        positive("headDim", headDim);
        positive("vocab", vocab);
        if (qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("qHeads = " + qHeads + " is not a multiple of kvHeads = " + kvHeads);
        }
        if (!(rmsNormEps > 0) || Double.isInfinite(rmsNormEps)) {
            throw new IllegalArgumentException("rmsNormEps must be finite and > 0, got " + rmsNormEps);
        }
        for (int v : new int[] {hidden, intermediate, qHeads * headDim}) {
            if (v % 8 != 0) {
                throw new IllegalArgumentException("the GPU runtime needs hidden, intermediate and qHeads·headDim to be"
                        + " multiples of 8 (16-byte rows), got " + hidden + ", " + intermediate + ", " + qHeads * headDim);
            }
        }
    }

    private static void positive(String what, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, got " + v);
        }
    }

    /** The Llama 3.1 8B shape (hidden 4096, 32 layers, 32/8 heads of 128, MLP 14336, vocabulary 128256). */
    public static DecoderShape llama31_8b() {
        return new DecoderShape(4096, 14336, 32, 32, 8, 128, 128256, 1e-5, false, false, false, false);
    }

    /** Hq·D. */
    public int qDim() {
        return qHeads * headDim;
    }

    /** Hkv·D. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Width of the fused q|k|v projection: (Hq + 2 Hkv)·D. */
    public int qkvDim() {
        return qDim() + 2 * kvDim();
    }

    /** Elements of all weights (the lm_head once when tied). */
    public long parameters() {
        long h = hidden;
        long perLayer = 2 * h + h * qkvDim() + (long) qDim() * h + 3 * h * intermediate;
        if (qkvBias) {
            perLayer += qkvDim();
        }
        if (oBias) {
            perLayer += h;
        }
        if (qkNorm) {
            perLayer += 2L * headDim;
        }
        return (long) vocab * h * (tiedEmbeddings ? 1 : 2) + perLayer * layers + h;
    }

    /** Bytes of the KV cache for {@code tokens} positions: layers · 2 · tokens · Hkv · D bf16. */
    public long kvCacheBytes(long tokens) {
        return Math.multiplyExact((long) layers * 2 * kvDim() * 2, tokens);
    }
}
