package org.seerjava.gpu.llm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DecodeGateDevice;
import org.seerjava.gpu.DecodeKernels;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * A decoder's SeerAttention-R state on the device (docs/SPEC.md §7.5): per layer the decode gate and a
 * K-compression cache (compressed keys {@code [ceil(capacity / B), Hkv, Dg]} and the remainder
 * {@code [B, Hkv, D]}, float32), and the buffers of one decode step shared by the layers. A decode step of a layer is
 * three kernels, all reading the position from device memory so that the captured CUDA graph replays at every step:
 * <pre>
 *   decode_gate_step_bf16   push kPre into the layer's cache (a completed block is compressed) | the gate query's
 *                           linear in slices of 32 rows, one CTA each
 *   decode_scores_select    the slices added, qnorm, RoPE; logits over the nb = p / B + 1 blocks, softmax,
 *                           selection → visited-block list
 *   attn_sparse_decode      split-K attention of the token's q over the listed blocks of each KV head, the splits
 *                           merged by the last CTA of each KV head into the attention output
 * </pre>
 * A prefill's keys enter the caches chunk by chunk ({@link #append}): completed blocks rotated at their first token
 * for the first prefill, at the decode-time position of the gate's configuration for a continuation (as the
 * reference's pushes).
 */
final class SparseDecoding implements AutoCloseable {
    private final SparseDecode config;
    private final DecoderShape shape;
    private final int blockSize;
    private final int maxBlocks;
    private final int splits;
    private final int budget;
    private final double threshold;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final List<DecodeGateDevice> gates = new ArrayList<>();
    private final List<DeviceBuffer> compressed = new ArrayList<>();
    private final List<DeviceBuffer> remainder = new ArrayList<>();
    final DeviceBuffer qPre;
    final DeviceBuffer kPre;
    private final DeviceBuffer qPart;
    private final int slices;
    private final DeviceBuffer scores;
    private final DeviceBuffer list;
    private final DeviceBuffer count;
    private final DeviceBuffer arrivals;
    private final DeviceBuffer attentionArrivals;
    private final DeviceBuffer visits;
    private final DeviceBuffer ml;
    private final DeviceBuffer po;
    private final int gateShared;

    SparseDecoding(SparseDecode config, DecoderShape s, int capacity) {
        config.requireFits(s);
        this.config = config;
        this.shape = s;
        this.blockSize = config.blockSize();
        this.maxBlocks = Math.ceilDiv(capacity, blockSize);
        this.splits = splits(s, capacity, blockSize);
        this.budget = DecodeKernels.budgetBlocks(config.rule(), blockSize);
        this.threshold = DecodeKernels.threshold(config.rule());
        DecodeGateWeights g0 = config.gates().get(0);
        this.slices = DecodeKernels.querySlices(g0);
        this.gateShared = Math.max(DecodeKernels.querySliceShared(g0.hiddenSize()),
                DecodeKernels.compressShared(g0.config().kDup(), s.headDim(), g0.hiddenSize()));
        try {
            for (DecodeGateWeights g : config.gates()) {
                gates.add(DecodeGateDevice.upload(g));
                compressed.add(own((long) maxBlocks * s.kvHeads() * g.hiddenSize() * 4));
                remainder.add(own((long) blockSize * s.kvDim() * 4));
            }
            qPre = own((long) s.qDim() * 2);
            kPre = own((long) s.kvDim() * 2);
            qPart = own((long) s.kvHeads() * slices * g0.hiddenSize() * 4);
            scores = own((long) s.kvHeads() * maxBlocks * 4);
            list = own((long) s.kvHeads() * maxBlocks * 4);
            count = own((long) s.kvHeads() * 4);
            arrivals = own((long) s.kvHeads() * 4);
            arrivals.fill((byte) 0);
            attentionArrivals = own((long) s.kvHeads() * 4);
            attentionArrivals.fill((byte) 0);
            visits = own(16);
            visits.fill((byte) 0);
            ml = own((long) s.qHeads() * splits * 8);
            po = own((long) s.qHeads() * splits * s.headDim() * 4);
            for (var k : List.of(DecodeKernels.GATE_STEP_BF16, DecodeKernels.SCORES_SELECT,
                    DecodeKernels.KCACHE_APPEND_BF16, DecodeKernels.KCACHE_KEEP_BF16,
                    DecodeKernels.sparseDecodeBf16(s.headDim(), maxGroup(s)))) {
                k.kernel();                                  // loaded now: a graph capture must not load any
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private DeviceBuffer own(long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(bytes);
        owned.add(b);
        return b;
    }

    /**
     * Key splits of the sparse attention: about four CTAs per SM over the KV heads (the kept keys are dealt to them
     * in equal ranges, down to parts of blocks), at most one per 16 keys of the capacity and 256 in all.
     */
    static int splits(DecoderShape s, int capacity, int blockSize) {
        int sms = CudaContext.get().multiprocessors();
        long most = Math.min(256, Math.ceilDiv(capacity, 16));     // the kernel's merge takes up to 340 splits
        return (int) Math.max(1, Math.min(Math.ceilDiv(4L * sms, s.kvHeads()), most));
    }

    /** The sparse attention kernel's head-group bound: g rounded up to a power of two (fewer registers than 8). */
    static int maxGroup(DecoderShape s) {
        return Integer.highestOneBit(Math.max(1, s.qHeads() / s.kvHeads() * 2 - 1));
    }

    /** Device bytes of the state for a shape, capacity and gates (the gate weights included). */
    static long bytes(DecoderShape s, int capacity, SparseDecode config) {
        int b = config.blockSize();
        long blocks = Math.ceilDiv(capacity, b);
        int dg = config.gates().get(0).hiddenSize();
        long perLayer = blocks * s.kvHeads() * dg * 4 + (long) b * s.kvDim() * 4;
        long weights = 0;
        for (DecodeGateWeights g : config.gates()) {
            weights += 4L * ((g.wq() == null ? 0 : g.wq().length) + g.wk().length
                    + (g.qNorm() == null ? 0 : 2L * g.qNorm().length)) + 8L * dg / 2;
        }
        int splits = splits(s, capacity, b);
        long step = 2L * s.qDim() + 2L * s.kvDim() + 4L * s.kvHeads() * dg * DecodeKernels.querySlices(config.gates().get(0))
                + 8L * s.kvHeads() * blocks
                + 16L * s.kvHeads() + 16 + (long) s.qHeads() * splits * (8 + 4L * s.headDim());
        return s.layers() * perLayer + weights + step;
    }

    /**
     * Appends {@code rows} tokens of a layer at positions {@code p0 …} (bf16 pre-RoPE keys {@code [rows, Hkv, D]} at
     * {@code keys}); {@code continuation}: after earlier tokens (completed blocks rotated as decode-time pushes).
     */
    void append(Stream st, int layer, long keys, int p0, int rows, boolean continuation) {
        DecodeGateDevice g = gates.get(layer);
        DecodeKernels.append(st, g, true, keys, 0, remainder.get(layer).pointer(), compressed.get(layer).pointer(), 0,
                p0, rows, 1, continuation ? g.decodeKeyPosition() : 0);
    }

    /**
     * Enqueues the sparse attention of the decode step's token for a layer: {@code q} bf16 {@code [Hq, D]} post-RoPE
     * (the pre-RoPE q and k already in {@link #qPre}, {@link #kPre}), the layer's KV cache, the position at
     * {@code pos}; {@code out} bf16 {@code [Hq, D]} (may be q).
     */
    void enqueueStep(Stream st, int layer, long q, long kCache, long vCache, long pos, long out, double scale) {
        DecodeGateDevice g = gates.get(layer);
        DecodeGateWeights w = g.weights();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int dg = w.hiddenSize();
        DecodeKernels.GATE_STEP_BF16.kernel().launch(st, hkv, 1 + slices, 1, 256, 1, 1, gateShared, qPre, kPre, qPart,
                remainder.get(layer), compressed.get(layer), g.wq(), g.wk(), g.kNorm(), g.invFreq(), pos, 0,
                shape.qHeads(), hkv, d, dg, blockSize, g.pooling(), g.kPools(), g.decodeKeyPosition(), slices);
        DecodeKernels.SCORES_SELECT.kernel().launch(st, Math.ceilDiv(maxBlocks, 64), hkv, 1, 1024, 1, 1,
                DecodeKernels.scoresSelectShared(maxBlocks), qPart,
                slices, g.qNorm(), g.invFreq(), compressed.get(layer), scores, list, count, arrivals, visits, pos, 0,
                hkv, dg, blockSize, maxBlocks, (float) w.config().scale(), budget, threshold);
        DecodeKernels.sparseDecodeBf16(d, maxGroup(shape)).kernel().launch(st, splits, hkv, 1, 128, 1, 1, 0,
                q, kCache, vCache, pos, 0, list, count, maxBlocks, blockSize, ml, po, out, attentionArrivals,
                shape.qHeads(), hkv, splits, (float) (scale * SeerKernels.LOG2E));
    }

    /** Blocks attended ÷ blocks cached over the decode steps since the last reset (NaN before the first). */
    double density() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG, 2);
            visits.copyTo(v);
            long attended = v.getAtIndex(ValueLayout.JAVA_LONG, 0);
            long cached = v.getAtIndex(ValueLayout.JAVA_LONG, 1);
            return cached == 0 ? Double.NaN : (double) attended / cached;
        }
    }

    /** The first {@code blocks} entries of a layer's compressed keys, {@code [blocks, Hkv, Dg]} (for tests). */
    float[] compressedKeys(int layer, int blocks) {
        int n = blocks * shape.kvHeads() * gates.get(layer).weights().hiddenSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_FLOAT, n);
            compressed.get(layer).copyTo(seg);
            return seg.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Forgets the counts (the caches are rewritten by the next prefill). */
    void reset(Stream st) {
        visits.fill((byte) 0, st);
    }

    /** The rule and gates. */
    SparseDecode config() {
        return config;
    }

    @Override
    public void close() {
        for (DecodeGateDevice g : gates) {
            g.close();
        }
        for (DeviceBuffer b : owned) {
            b.close();
        }
    }
}
