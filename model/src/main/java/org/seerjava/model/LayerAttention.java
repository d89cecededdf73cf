package org.seerjava.model;

import org.seerjava.reference.AttentionShape;

/**
 * The inputs of one layer's attention, as {@link LlamaModel} hands them to an {@link AttentionPolicy}.
 * All arrays are float32, row-major, {@code [batch, N, heads, D]}; the model passes batch 1 (the arrays below are
 * written for it), the {@code seer-api} facade batches of equal-length sequences. The model allocates them afresh
 * for every layer and does not use them after {@link AttentionPolicy#attend} returns, so a policy may keep
 * references (e.g. to record pre-RoPE q/k of every layer for gate distillation); it must not modify them during
 * the call.
 *
 * @param shape the attention shape {@code (batch, N, Hq, Hkv, D)}
 * @param qPre  query projection before RoPE {@code [1, N, Hq, D]} (with the q bias when the model has one):
 *              what SeerAttention's gate pools
 * @param kPre  key projection before RoPE {@code [1, N, Hkv, D]} (with the k bias when present)
 * @param q     query after RoPE {@code [1, N, Hq, D]}
 * @param k     key after RoPE {@code [1, N, Hkv, D]}
 * @param v     value projection {@code [1, N, Hkv, D]}
 * @param scale the attention scale {@code head_dim^-0.5}
 */
public record LayerAttention(AttentionShape shape, float[] qPre, float[] kPre, float[] q, float[] k, float[] v,
                             double scale) {

    /** Validates that the arrays match the shape. */
    public LayerAttention {
        if (shape == null) {
            throw new IllegalArgumentException("shape must not be null");
        }
        check("qPre", qPre, shape.qElements());
        check("kPre", kPre, shape.kvElements());
        check("q", q, shape.qElements());
        check("k", k, shape.kvElements());
        check("v", v, shape.kvElements());
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("scale must be finite and > 0, got " + scale);
        }
    }

    private static void check(String name, float[] a, int expected) {
        if (a == null || a.length != expected) {
            throw new IllegalArgumentException(name + " must have " + expected + " elements for " + "its shape, got "
                    + (a == null ? "null" : a.length));
        }
    }
}
