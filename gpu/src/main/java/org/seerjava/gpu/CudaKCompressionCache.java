package org.seerjava.gpu;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import org.seerjava.reference.Checks;
import org.seerjava.reference.decode.KCompressionCache;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * The K-compression cache of one layer ({@link KCompressionCache}) on the device, float32, with room for
 * {@code capacity} tokens allocated up front:
 * <pre>
 *   compressed [batch, ceil(capacity / B), Hkv, Dg]   the first {@link #blocks()} entries of each sequence are live
 *   remainder  [batch, B, Hkv, D]                     raw pre-RoPE keys of the current partial block
 * </pre>
 * Prefill and push are one {@code kcache_append} each ({@link DecodeKernels#append}): a block completed by the new
 * tokens is pooled, projected, normed and rotated into its entry (at its first token for a prefill, at the
 * position the gate's configuration says for a push, docs/SPEC.md §7.9 Q1); a partial one gets the zero entry and
 * its keys wait in the remainder. Scores are computed against the live entries in place. The host keeps the counts.
 *
 * <p>The device memory is freed by {@link #close()}, or when the cache becomes unreachable (a {@link Cleaner}), since
 * {@link CompressedKeyCache} has no close of its own.
 */
final class CudaKCompressionCache implements CompressedKeyCache, AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final DecodeGateWeights gate;
    private final int batch;
    private final int capacity;
    private final int kvHeads;
    private final int headDim;
    private final int hidden;
    private final int blockSize;
    private final int maxBlocks;
    private final DecodeGateDevice device;
    private final DeviceBuffer compressed;
    private final DeviceBuffer remainder;
    private final Cleaner.Cleanable cleanable;
    private int blocks;
    private int remainderLength;
    private int length;

    CudaKCompressionCache(DecodeGateWeights gate, int batch, int capacity) {
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
        long entries = (long) batch * maxBlocks * kvHeads * hidden;
        long rem = (long) batch * blockSize * kvHeads * headDim;
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            this.device = DecodeGateDevice.upload(gate);
            owned.add(device);
            this.compressed = DeviceBuffer.allocate(entries * 4);
            owned.add(compressed);
            this.remainder = DeviceBuffer.allocate(rem * 4);
            owned.add(remainder);
        } catch (RuntimeException e) {
            release(owned).run();
            throw e;
        }
        this.cleanable = CLEANER.register(this, release(owned));
    }

    private static Runnable release(List<AutoCloseable> owned) {
        List<AutoCloseable> copy = List.copyOf(owned);
        return () -> {
            for (int i = copy.size() - 1; i >= 0; i--) {
                try {
                    copy.get(i).close();
                } catch (Exception ignored) {
                    // freeing is best effort
                }
            }
        };
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

    private long entry() {
        return (long) kvHeads * hidden;
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
        Checks.length("kNope [batch, seqLen, Hkv, D]", kNope, (long) batch * seqLen * kvHeads * headDim);
        Checks.maxAbsFinite("kNope", kNope);
        append(kNope, seqLen, 0);
        blocks = Math.ceilDiv(seqLen, blockSize);
        remainderLength = seqLen % blockSize;
        length = seqLen;
    }

    @Override
    public void push(float[] kNope) {
        Checks.length("kNope [batch, Hkv, D]", kNope, (long) batch * kvHeads * headDim);
        if (length >= capacity) {
            throw new IllegalStateException("the K-compression cache is full (" + capacity + " tokens)");
        }
        Checks.maxAbsFinite("kNope", kNope);
        append(kNope, 1, device.decodeKeyPosition());
        if (remainderLength == 0) {
            blocks++;
        }
        remainderLength = (remainderLength + 1) % blockSize;
        length++;
    }

    /**
     * Appends {@code n} tokens per sequence, {@code kNope [batch, n, Hkv, D]}, in one launch: what n pushes do (the
     * model runtime appends a continuation prefill this way).
     */
    void appendAll(float[] kNope, int n) {
        Checks.positive("n", n);
        Checks.length("kNope [batch, n, Hkv, D]", kNope, (long) batch * n * kvHeads * headDim);
        if ((long) length + n > capacity) {
            throw new IllegalStateException("appending " + n + " tokens to " + length + " exceeds the cache's capacity"
                    + " of " + capacity);
        }
        Checks.maxAbsFinite("kNope", kNope);
        append(kNope, n, device.decodeKeyPosition());
        length += n;
        blocks = Math.ceilDiv(length, blockSize);
        remainderLength = length % blockSize;
    }

    private void append(float[] keys, int n, int keyPosMode) {
        try (CudaDecodeOps.Scope s = new CudaDecodeOps.Scope()) {
            DeviceBuffer k = s.floats(keys);
            DecodeKernels.append(s.stream, device, false, k.pointer(), (long) n * kvHeads * headDim,
                    remainder.pointer(), compressed.pointer(), maxBlocks * entry(), length, n, batch, keyPosMode);
            s.finish();
        }
    }

    @Override
    public float[] compressed() {
        float[] all = new float[Math.toIntExact(batch * maxBlocks * entry())];
        compressed.copyTo(all);
        int live = Math.toIntExact(blocks * entry());
        float[] out = new float[batch * live];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(all, Math.toIntExact(b * maxBlocks * entry()), out, b * live, live);
        }
        return out;
    }

    @Override
    public void scores(float[] qGate, boolean[] blockAttentionMask, float[] out) {
        if (blocks == 0) {
            throw new IllegalStateException("the cache is empty: prefill or push a token first");
        }
        Checks.length("qGate [batch, Hkv, Dg]", qGate, batch * entry());
        Checks.length("out [batch, Hkv, nb]", out, (long) batch * kvHeads * blocks);
        if (blockAttentionMask != null && blockAttentionMask.length != (long) batch * blocks) {
            throw new IllegalArgumentException("blockAttentionMask [batch, nb] has " + blockAttentionMask.length
                    + " elements, expected " + (long) batch * blocks);
        }
        Checks.maxAbsFinite("qGate", qGate);
        try (CudaDecodeOps.Scope s = new CudaDecodeOps.Scope()) {
            DeviceBuffer q = s.floats(qGate);
            CudaDecodeOps.scores(gate, q.pointer(), compressed.pointer(), maxBlocks * entry(), blockAttentionMask, out,
                    batch, blocks, true, s);
        }
    }

    @Override
    public void reset() {
        blocks = 0;
        remainderLength = 0;
        length = 0;
    }

    /** Frees the device memory; the cache cannot be used afterwards. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }
}
