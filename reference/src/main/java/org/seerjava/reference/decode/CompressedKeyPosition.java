package org.seerjava.reference.decode;

/**
 * The RoPE position of a compressed key built <b>during decoding</b>, when token {@code p} completes block
 * {@code j = p / B} (docs/SPEC.md §7.9 Q1). Keys built by prefill are always rotated at the block start {@code j·B}.
 */
public enum CompressedKeyPosition {
    /**
     * Rotate at the current token, {@code p = j·B + B − 1}: what the official inference code does. The default here,
     * for parity with the reference implementation.
     */
    CURRENT_TOKEN,
    /**
     * Rotate at the block's first token {@code j·B}, as training, prefill and the paper do. With this choice the
     * incrementally built cache equals a one-shot recomputation (property P5).
     */
    BLOCK_START;

    /** The rotation position for the block completed by the token at position {@code p}. */
    public int position(int p, int blockSize) {
        return this == CURRENT_TOKEN ? p : p - (blockSize - 1);
    }
}
