package org.seerjava.gate;

/**
 * What the gate of one layer needs from one window, captured from a frozen model's forward pass: the pooled
 * pre-RoPE query and key features and the pooled attention target. Batch 1.
 *
 * @param qPooled {@code [1, nb, Hq, qdup·D]}
 * @param kPooled {@code [1, nb, Hkv, kdup·D]}
 * @param target  {@code [1, Hq, nb, nb]}, the 2-D max-pooled, row-normalised attention map
 * @param blocks  nb
 */
public record GateSample(float[] qPooled, float[] kPooled, float[] target, int blocks) {
    public GateSample {
        if (qPooled == null || kPooled == null || target == null || blocks <= 0) {
            throw new IllegalArgumentException("gate sample needs pooled q, k, a target and nb > 0");
        }
    }
}
