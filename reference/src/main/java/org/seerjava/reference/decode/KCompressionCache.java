package org.seerjava.reference.decode;

import java.util.Arrays;

import org.seerjava.reference.Checks;

/**
 * The K-compression cache of one layer (docs/SPEC.md §7.3): one compressed key per block of B tokens, plus the raw
 * pre-RoPE keys of the current partial block.
 * <pre>
 *   compressed [batch, nblk, Hkv, Dg]   block n: Kc[n] (see {@link DecodeGate#compressedKeys}); the entry of a
 *                                       partial block is the zero vector, so its gate logit is exactly 0
 *   remainder  [batch, B, Hkv, D]       raw k of the partial block; slot r holds the block's r-th token
 * </pre>
 * <b>prefill</b>(k[0 … L−1]): compress the ceil(L/B) blocks at positions n·B (L &lt; B is one partial block); if
 * L mod B ≠ 0, zero the last entry and keep tokens {@code (L/B)·B … L−1} as the remainder.
 * <br><b>push</b>(k at padded position p): write k into slot {@code p mod B}; if it starts a block, append a zero
 * entry; if it completes one ({@code (p+1) mod B = 0}), pool the B remainder keys, project, norm and rotate them
 * at {@link CompressedKeyPosition#position} ({@code p} or {@code p − B + 1}), and overwrite the last entry.
 *
 * <p>Each cache keeps its <b>own</b> remainder index. The official code shares one index updated by layer 0, so
 * its layers ≥ 1 write token t of a block to slot {@code (t+1) mod B} and pool a wrong set for the first block
 * completed after a prompt with L mod B ≠ 0 (docs/SPEC.md §7.9 Q2); this reference does not reproduce that. The
 * batch shares positions (padded indices, docs/SPEC.md §7.9 Q5). A multi-token continuation of a filled cache is not
 * supported (docs/SPEC.md §7.9 Q4): {@link #prefill} needs an empty cache.
 */
public final class KCompressionCache {
    private final DecodeGate gate;
    private final int batch;
    private final int kvHeads;
    private final int headDim;
    private final int hidden;
    private final int blockSize;
    private double[] compressed;
    private int blocks;
    private final double[] remainder;
    private int remainderLength;
    private int length;

    /** An empty cache for {@code batch} sequences, compressing with {@code gate}. */
    public KCompressionCache(DecodeGate gate, int batch) {
        if (gate == null) {
            throw new IllegalArgumentException("gate must not be null");
        }
        Checks.positive("batch", batch);
        this.gate = gate;
        this.batch = batch;
        this.kvHeads = gate.kvHeads();
        this.headDim = gate.headDim();
        this.hidden = gate.hiddenSize();
        this.blockSize = gate.blockSize();
        this.compressed = new double[0];
        this.remainder = new double[Checks.arraySize("remainder", (long) batch * blockSize * kvHeads * headDim)];
    }

    /**
     * Fills the empty cache from the prompt keys {@code kNope [batch, seqLen, Hkv, D]} (pre-RoPE, padded length).
     *
     * @throws IllegalStateException    when the cache already holds tokens
     * @throws IllegalArgumentException on wrong sizes or NaN input
     */
    public void prefill(double[] kNope, int seqLen) {
        if (length != 0) {
            throw new IllegalStateException("prefill needs an empty cache, this one holds " + length
                    + " tokens; multi-token continuation is not supported (docs/SPEC.md §7.9 Q4)");
        }
        Checks.positive("seqLen", seqLen);
        Checks.length("kNope [batch, seqLen, Hkv, D]", kNope, (long) batch * seqLen * kvHeads * headDim);
        Checks.allFinite("kNope", kNope);
        int nb = Math.ceilDiv(seqLen, blockSize);
        int[] blockStarts = new int[nb];
        for (int n = 0; n < nb; n++) {
            blockStarts[n] = n * blockSize;
        }
        double[] kc = gate.compressedKeys(kNope, batch, seqLen, blockStarts);
        int partial = seqLen % blockSize;
        int fullTokens = seqLen - partial;
        for (int b = 0; b < batch; b++) {
            if (partial != 0) {
                int last = (b * nb + nb - 1) * kvHeads * hidden;
                Arrays.fill(kc, last, last + kvHeads * hidden, 0.0);
            }
            for (int slot = 0; slot < partial; slot++) {
                System.arraycopy(kNope, ((b * seqLen + fullTokens + slot) * kvHeads) * headDim,
                        remainder, ((b * blockSize + slot) * kvHeads) * headDim, kvHeads * headDim);
            }
        }
        this.compressed = kc;
        this.blocks = nb;
        this.remainderLength = partial;
        this.length = seqLen;
    }

    /**
     * Appends the pre-RoPE key {@code kNope [batch, Hkv, D]} of the token at padded position {@link #length()}.
     *
     * @throws IllegalArgumentException on a wrong size or NaN input
     */
    public void push(double[] kNope) {
        Checks.length("kNope [batch, Hkv, D]", kNope, (long) batch * kvHeads * headDim);
        Checks.allFinite("kNope", kNope);
        int position = length;
        int slot = remainderLength;
        for (int b = 0; b < batch; b++) {
            System.arraycopy(kNope, b * kvHeads * headDim,
                    remainder, ((b * blockSize + slot) * kvHeads) * headDim, kvHeads * headDim);
        }
        if (slot == 0) {
            appendZeroBlock();
        }
        remainderLength = (slot + 1) % blockSize;
        length++;
        if ((position + 1) % blockSize == 0) {
            int rotateAt = gate.config().decodeKeyPosition().position(position, blockSize);
            double[] kc = gate.compressedKeys(remainder, batch, blockSize, new int[]{rotateAt});
            for (int b = 0; b < batch; b++) {
                System.arraycopy(kc, b * kvHeads * hidden,
                        compressed, (b * blocks + blocks - 1) * kvHeads * hidden, kvHeads * hidden);
            }
        }
    }

    private void appendZeroBlock() {
        double[] grown = new double[Checks.arraySize("compressed", (long) batch * (blocks + 1) * kvHeads * hidden)];
        int entry = kvHeads * hidden;
        for (int b = 0; b < batch; b++) {
            System.arraycopy(compressed, b * blocks * entry, grown, b * (blocks + 1) * entry, blocks * entry);
        }
        compressed = grown;
        blocks++;
    }

    /** The gate this cache compresses with. */
    public DecodeGate gate() {
        return gate;
    }

    public int batch() {
        return batch;
    }

    /** Tokens seen so far (padded length); the next pushed token has this position. */
    public int length() {
        return length;
    }

    /** nblk = ceil(length / B), the number of compressed entries. */
    public int blocks() {
        return blocks;
    }

    /** Tokens in the current partial block (0 when the last block is complete). */
    public int remainderLength() {
        return remainderLength;
    }

    /** A copy of the compressed keys {@code [batch, nblk, Hkv, Dg]}. */
    public double[] compressed() {
        return compressed.clone();
    }

    /** A copy of the raw keys of the current partial block, {@code [batch, remainderLength, Hkv, D]}. */
    public double[] remainder() {
        double[] out = new double[batch * remainderLength * kvHeads * headDim];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(remainder, b * blockSize * kvHeads * headDim,
                    out, b * remainderLength * kvHeads * headDim, remainderLength * kvHeads * headDim);
        }
        return out;
    }

    /**
     * Gate scores {@code [batch, Hkv, nblk]} of a gate query {@code qGate [batch, Hkv, Dg]} against this cache.
     *
     * @param blockAttentionMask {@code [batch, nblk]} (null: every block real); see
     *                           {@link DecodeGate#blockAttentionMask}
     */
    public double[] scores(double[] qGate, boolean[] blockAttentionMask) {
        if (blocks == 0) {
            throw new IllegalStateException("the cache is empty: prefill or push a token first");
        }
        return gate.scores(qGate, compressed, batch, blocks, blockAttentionMask);
    }
}
