package org.seerjava.cpu;

import java.util.Arrays;
import org.seerjava.reference.Checks;
import org.seerjava.reference.decode.KCompressionCache;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * The K-compression cache of one layer ({@link KCompressionCache}) in float32, with room for {@code capacity}
 * tokens allocated up front:
 * <pre>
 *   compressed [batch, ceil(capacity / B), Hkv, Dg]   the first {@link #blocks()} entries of each sequence are live
 *   remainder  [batch, B, Hkv, D]                     raw pre-RoPE keys of the current partial block
 * </pre>
 * A push copies the key into its slot, appends a zero entry when the token starts a block, and when it completes one
 * compresses the B remainder keys ({@link CpuDecodeGate#compressedKeys}) at the position the gate's configuration
 * says (docs/SPEC.md §7.9 Q1) into the last entry. Scores are computed against the live entries in place.
 */
final class CpuKCompressionCache implements CompressedKeyCache {
    private final DecodeGateWeights gate;
    private final int batch;
    private final int capacity;
    private final int kvHeads;
    private final int headDim;
    private final int hidden;
    private final int blockSize;
    private final int maxBlocks;
    private final float[] compressed;
    private final float[] remainder;
    private int blocks;
    private int remainderLength;
    private int length;

    CpuKCompressionCache(DecodeGateWeights gate, int batch, int capacity) {
        if (gate == null) {
            throw new IllegalArgumentException("decode gate weights must not be null");
        }
        Checks.positive("batch", batch);
        Checks.positive("capacity", capacity);
        this.gate = gate;
        this.batch = batch;
        this.capacity = capacity;
        this.kvHeads = gate.kvHeads();
        this.headDim = gate.headDim();
        this.hidden = gate.hiddenSize();
        this.blockSize = gate.blockSize();
        this.maxBlocks = Math.ceilDiv(capacity, blockSize);
        this.compressed = new float[Checks.arraySize("compressed keys",
                (long) batch * maxBlocks * kvHeads * hidden)];
        this.remainder = new float[Checks.arraySize("remainder", (long) batch * blockSize * kvHeads * headDim)];
    }

    @Override
    public DecodeGateWeights gate() {
        return gate;
    }

    @Override
    public int batch() {
        return batch;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int blocks() {
        return blocks;
    }

    @Override
    public int remainderLength() {
        return remainderLength;
    }

    private int entry() {
        return kvHeads * hidden;
    }

    @Override
    public void prefill(float[] kNope, int seqLen) {
        if (length != 0) {
            throw new IllegalStateException("prefill needs an empty cache, this one holds " + length
                    + " tokens; multi-token continuation is not supported (docs/SPEC.md §7.9 Q4)");
        }
        Checks.positive("seqLen", seqLen);
        if (seqLen > capacity) {
            throw new IllegalArgumentException("a prefill of " + seqLen + " tokens exceeds the cache's capacity of "
                    + capacity);
        }
        int nb = Math.ceilDiv(seqLen, blockSize);
        float[] kc = new float[batch * nb * entry()];
        int[] starts = new int[nb];
        for (int n = 0; n < nb; n++) {
            starts[n] = n * blockSize;
        }
        CpuEngine.ARGS.compressedKeys(gate, kNope, kc, batch, seqLen, starts);
        CpuDecodeGate.compressedKeys(gate, kNope, kc, batch, seqLen, starts);
        int partial = seqLen % blockSize;
        int full = seqLen - partial;
        int row = kvHeads * headDim;
        for (int b = 0; b < batch; b++) {
            System.arraycopy(kc, b * nb * entry(), compressed, b * maxBlocks * entry(), nb * entry());
            if (partial != 0) {
                int last = (b * maxBlocks + nb - 1) * entry();
                Arrays.fill(compressed, last, last + entry(), 0f);
            }
            System.arraycopy(kNope, (b * seqLen + full) * row, remainder, b * blockSize * row, partial * row);
        }
        blocks = nb;
        remainderLength = partial;
        length = seqLen;
    }

    @Override
    public void push(float[] kNope) {
        int row = kvHeads * headDim;
        Checks.length("kNope [batch, Hkv, D]", kNope, (long) batch * row);
        if (length >= capacity) {
            throw new IllegalStateException("the K-compression cache is full (" + capacity + " tokens)");
        }
        Vec.maxAbsFinite("kNope", kNope);
        int position = length;
        int slot = remainderLength;
        for (int b = 0; b < batch; b++) {
            System.arraycopy(kNope, b * row, remainder, (b * blockSize + slot) * row, row);
        }
        if (slot == 0) {
            for (int b = 0; b < batch; b++) {
                int at = (b * maxBlocks + blocks) * entry();
                Arrays.fill(compressed, at, at + entry(), 0f);
            }
            blocks++;
        }
        remainderLength = (slot + 1) % blockSize;
        length++;
        if ((position + 1) % blockSize == 0) {
            int rotateAt = gate.config().decodeKeyPosition().position(position, blockSize);
            float[] kc = new float[batch * entry()];
            CpuDecodeGate.compressedKeys(gate, remainder, kc, batch, blockSize, new int[] {rotateAt});
            for (int b = 0; b < batch; b++) {
                System.arraycopy(kc, b * entry(), compressed, (b * maxBlocks + blocks - 1) * entry(), entry());
            }
        }
    }

    @Override
    public float[] compressed() {
        float[] out = new float[batch * blocks * entry()];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(compressed, b * maxBlocks * entry(), out, b * blocks * entry(), blocks * entry());
        }
        return out;
    }

    @Override
    public void scores(float[] qGate, boolean[] blockAttentionMask, float[] out) {
        if (blocks == 0) {
            throw new IllegalStateException("the cache is empty: prefill or push a token first");
        }
        Checks.length("qGate [batch, Hkv, Dg]", qGate, (long) batch * entry());
        Checks.length("out [batch, Hkv, nb]", out, (long) batch * kvHeads * blocks);
        if (blockAttentionMask != null && blockAttentionMask.length != (long) batch * blocks) {
            throw new IllegalArgumentException("blockAttentionMask [batch, nb] has " + blockAttentionMask.length
                    + " elements, expected " + (long) batch * blocks);
        }
        Vec.maxAbsFinite("qGate", qGate);
        CpuDecodeGate.scores(gate, qGate, compressed, maxBlocks * entry(), blockAttentionMask, out, batch, blocks,
                true);
    }

    @Override
    public void reset() {
        blocks = 0;
        remainderLength = 0;
        length = 0;
    }
}
