package org.seerjava.gate;

/**
 * What a decode gate of one layer needs from one window, captured from the frozen model's dense forward pass
 * (docs/SPEC.md §7.7): the pre-RoPE queries of the rows that count in the loss, their positions, the window's keys
 * pooled per block, and the rows of the decode target.
 *
 * @param qNope     {@code [R, Hq, D]}, pre-RoPE (after the model's own q norm where it has one)
 * @param positions {@code [R]}, each row's position in the window
 * @param kPooled   {@code [nb, Hkv, kdup·D]}, pre-RoPE keys pooled per block
 * @param target    {@code [Hkv, R, nb]}, the rows' decode target
 * @param blocks    nb
 */
public record DecodeGateSample(float[] qNope, int[] positions, float[] kPooled, float[] target, int blocks) {
    public DecodeGateSample {
        if (qNope == null || positions == null || kPooled == null || target == null || blocks <= 0
                || positions.length == 0) {
            throw new IllegalArgumentException("a decode gate sample needs queries, positions, pooled keys, a target"
                    + " and nb > 0");
        }
    }
}
