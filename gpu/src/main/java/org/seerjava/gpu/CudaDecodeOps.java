package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * The computations behind {@link CudaEngine}'s {@link org.seerjava.reference.engine.DecodeOps} on validated float32
 * arrays: each copies its inputs to the device, runs the kernels of {@link DecodeKernels} on a stream of its own,
 * waits and copies the result back. The gate's small weights are copied per call (the K-compression cache,
 * {@link CudaKCompressionCache}, keeps its own on the device).
 */
final class CudaDecodeOps {
    /** Device bytes of (m, l) and o of one slice of the sparse attention's items, at most. */
    private static final long PARTIAL_BYTES = 256L << 20;

    private CudaDecodeOps() {
    }

    /** Buffers freed together, in reverse order of allocation. */
    static final class Scope implements AutoCloseable {
        private final List<AutoCloseable> held = new ArrayList<>();
        final Stream stream = hold(new Stream());

        <T extends AutoCloseable> T hold(T x) {
            held.add(x);
            return x;
        }

        DeviceBuffer floats(float[] x) {
            return hold(DeviceBuffer.of(x));
        }

        DeviceBuffer allocate(long bytes) {
            return hold(DeviceBuffer.allocate(bytes));
        }

        DeviceBuffer ints(int[] x) {
            DeviceBuffer b = allocate((long) x.length * 4);
            try (Arena a = Arena.ofConfined()) {
                b.copyFrom(a.allocateFrom(ValueLayout.JAVA_INT, x));
            }
            return b;
        }

        DeviceBuffer flags(boolean[] x) {
            byte[] bytes = new byte[x.length];
            for (int i = 0; i < x.length; i++) {
                bytes[i] = (byte) (x[i] ? 1 : 0);
            }
            return hold(DeviceBuffer.of(bytes));
        }

        /** Waits for the stream's work. */
        void finish() {
            stream.synchronize();
        }

        @Override
        public void close() {
            RuntimeException first = null;
            for (int i = held.size() - 1; i >= 0; i--) {
                try {
                    held.get(i).close();
                } catch (Exception e) {
                    if (first == null) {
                        first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    /** {@code decode_gate_query_f32}: {@code qNope [batch, Hq, D]} → {@code qGate [batch, Hkv, Dg]} at a position. */
    static void gateQuery(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position) {
        try (Scope s = new Scope()) {
            DecodeGateDevice g = s.hold(DecodeGateDevice.upload(gate));
            DeviceBuffer q = s.floats(qNope);
            DeviceBuffer out = s.allocate((long) qGate.length * 4);
            DecodeKernels.GATE_QUERY_F32.kernel().launch(s.stream, gate.kvHeads(), batch, 1, DecodeKernels.GATE_THREADS,
                    1, 1, DecodeKernels.queryShared(gate.qHeads(), gate.kvHeads(), gate.headDim(), gate.hiddenSize()),
                    q, out, g.wq(), g.qNorm(), g.invFreq(), null, position, gate.qHeads(), gate.kvHeads(),
                    gate.headDim(), gate.hiddenSize(), g.pooling());
            s.finish();
            out.copyTo(qGate);
        }
    }

    /** {@code decode_compressed_keys_f32}: every block of {@code kNope [batch, seqLen, Hkv, D]}, at its position. */
    static void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                               int[] blockPositions) {
        int nb = blockPositions.length;
        try (Scope s = new Scope()) {
            DecodeGateDevice g = s.hold(DecodeGateDevice.upload(gate));
            DeviceBuffer k = s.floats(kNope);
            DeviceBuffer positions = s.ints(blockPositions);
            DeviceBuffer o = s.allocate((long) out.length * 4);
            DecodeKernels.COMPRESSED_KEYS_F32.kernel().launch(s.stream, gate.kvHeads(), nb, batch,
                    DecodeKernels.GATE_THREADS, 1, 1, DecodeKernels.compressShared(g.kDup(), gate.headDim(),
                            gate.hiddenSize()), k, seqLen, positions, o, g.wk(), g.kNorm(), g.invFreq(),
                    gate.kvHeads(), gate.headDim(), gate.hiddenSize(), gate.blockSize(), g.kPools());
            s.finish();
            o.copyTo(out);
        }
    }

    /**
     * {@code decode_gate_logits} (and {@code softmax_rows_f32} with {@code softmax}) into {@code out [batch, Hkv,
     * blocks]}; block j of sequence b at {@code kc + b·kcBatch + (j·Hkv + kh)·Dg}.
     */
    static void scores(DecodeGateWeights gate, long qGate, long kc, long kcBatch, boolean[] blockAttentionMask,
                       float[] out, int batch, int blocks, boolean softmax, Scope s) {
        int hkv = gate.kvHeads();
        DeviceBuffer mask = blockAttentionMask == null ? null : s.flags(blockAttentionMask);
        DeviceBuffer o = s.allocate((long) out.length * 4);
        DecodeKernels.GATE_LOGITS.kernel().launch(s.stream, Math.ceilDiv(blocks, DecodeKernels.GATE_THREADS / 32), hkv,
                batch, DecodeKernels.GATE_THREADS, 1, 1, 0, qGate, kc, kcBatch, mask, o, blocks, hkv,
                gate.hiddenSize(), (float) gate.config().scale());
        if (softmax) {
            long rows = (long) batch * hkv;
            var l = SeerKernels.warpPerRow(rows);
            SeerKernels.SOFTMAX.kernel().launch(s.stream, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(),
                    l.sharedBytes(), o, rows, blocks);
        }
        s.finish();
        o.copyTo(out);
    }

    static void scores(DecodeGateWeights gate, float[] qGate, float[] kCompressed, boolean[] blockAttentionMask,
                       float[] out, int batch, int blocks, boolean softmax) {
        try (Scope s = new Scope()) {
            DeviceBuffer q = s.floats(qGate);
            DeviceBuffer kc = s.floats(kCompressed);
            scores(gate, q.pointer(), kc.pointer(), (long) blocks * gate.kvHeads() * gate.hiddenSize(),
                    blockAttentionMask, out, batch, blocks, softmax, s);
        }
    }

    /** {@code decode_select}: the selection {@code [batch, Hkv, blocks]} of the scores by the rule. */
    static boolean[] select(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                            boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        try (Scope s = new Scope()) {
            DeviceBuffer sc = s.floats(scores);
            DeviceBuffer bm = blockAttentionMask == null ? null : s.flags(blockAttentionMask);
            DeviceBuffer mask = s.allocate(scores.length);
            DecodeKernels.SELECT.kernel().launch(s.stream, kvHeads, batch, 1, DecodeKernels.GATE_THREADS, 1, 1, 0, sc,
                    mask, bm, kvHeads, blocks, DecodeKernels.budgetBlocks(rule, blockSize),
                    DecodeKernels.threshold(rule));
            s.finish();
            byte[] bytes = new byte[scores.length];
            mask.copyTo(bytes);
            boolean[] selected = new boolean[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                selected[i] = bytes[i] != 0;
            }
            return selected;
        }
    }

    /** {@code SparseDecodeAttention.forward}: each sequence is an item over its left-padded cache. */
    static void sparseDecode(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask,
                             float[] out, AttentionShape shape, int blockSize, double scale) {
        int batch = shape.batch();
        int lmax = shape.seqLen();
        int[] first = new int[batch];
        int[] end = new int[batch];
        for (int b = 0; b < batch; b++) {
            first[b] = lmax - cacheSeqLens[b];
            end[b] = lmax;
        }
        long qItem = (long) shape.qHeads() * shape.headDim();
        try (Scope s = new Scope()) {
            DeviceBuffer qd = s.floats(q);
            DeviceBuffer kd = s.floats(kCache);
            DeviceBuffer vd = s.floats(vCache);
            DeviceBuffer od = s.allocate((long) out.length * 4);
            attend(s, qd.pointer(), qItem, kd.pointer(), vd.pointer(), (long) lmax * shape.kvHeads() * shape.headDim(),
                    first, end, s.flags(mask), shape.blocks(blockSize), od.pointer(), qItem, batch, shape, blockSize,
                    scale);
            s.finish();
            od.copyTo(out);
        }
    }

    /** {@code SparseDecodeAttention.forwardRows}: row t ≥ from is an item over the keys 0 … t. */
    static void sparseDecodeRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out,
                                 AttentionShape shape, int blockSize, double scale) {
        int n = shape.seqLen();
        int rows = n - from;
        int[] first = new int[rows];
        int[] end = new int[rows];
        for (int i = 0; i < rows; i++) {
            end[i] = from + i + 1;
        }
        long qItem = (long) shape.qHeads() * shape.headDim();
        try (Scope s = new Scope()) {
            DeviceBuffer qd = s.floats(q);
            DeviceBuffer kd = s.floats(k);
            DeviceBuffer vd = s.floats(v);
            DeviceBuffer od = s.allocate((long) rows * qItem * 4);
            attend(s, qd.pointer() + from * qItem * 4, qItem, kd.pointer(), vd.pointer(), 0, first, end, s.flags(mask),
                    shape.blocks(blockSize), od.pointer(), qItem, rows, shape, blockSize, scale);
            s.finish();
            float[] part = new float[Math.toIntExact(rows * qItem)];
            od.copyTo(part);
            System.arraycopy(part, 0, out, Math.toIntExact(from * qItem), part.length);
        }
    }

    /**
     * The split block-sparse attention of {@code items} query tokens ({@code decode_block_list},
     * {@code sparse_decode_partial_f32}, {@code sparse_decode_combine_f32}), in slices of at most 65,535 items
     * whose partial results fit {@link #PARTIAL_BYTES}.
     */
    private static void attend(Scope s, long q, long qItem, long k, long v, long kvItem, int[] first, int[] end,
                               DeviceBuffer mask, int nbMask, long out, long outItem, int items, AttentionShape shape,
                               int blockSize, double scale) {
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int g = shape.groupSize();
        int chunk = Math.min(g, DecodeKernels.MAX_G);
        int chunks = Math.ceilDiv(g, chunk);
        int splits = Math.clamp(Math.ceilDiv(nbMask, 2), 1, 16);
        long perItem = (long) hq * splits * (8 + 4L * d);
        int slice = (int) Math.clamp(PARTIAL_BYTES / perItem, 1, Math.min(items, 65_535));
        DeviceBuffer firstD = s.ints(first);
        DeviceBuffer endD = s.ints(end);
        DeviceBuffer list = s.allocate((long) slice * hkv * nbMask * 4);
        DeviceBuffer count = s.allocate((long) slice * hkv * 4);
        DeviceBuffer ml = s.allocate(slice * (long) hq * splits * 8);
        DeviceBuffer po = s.allocate(slice * (long) hq * splits * d * 4);
        var partial = DecodeKernels.sparsePartialF32(d).kernel();
        var combine = DecodeKernels.sparseCombineF32(d).kernel();
        for (int i0 = 0; i0 < items; i0 += slice) {
            int m = Math.min(slice, items - i0);
            long f = firstD.pointer() + 4L * i0;
            long e = endD.pointer() + 4L * i0;
            DecodeKernels.BLOCK_LIST.kernel().launch(s.stream, hkv, m, 1, DecodeKernels.GATE_THREADS, 1, 1, 0,
                    mask.pointer() + (long) i0 * hkv * nbMask, f, e, list, count, hkv, nbMask, nbMask, blockSize);
            partial.launch(s.stream, splits, hkv * chunks, m, 128, 1, 1, 0, q + i0 * qItem * 4, qItem,
                    k + i0 * kvItem * 4, v + i0 * kvItem * 4, kvItem, f, e, list, count, nbMask, blockSize, ml, po, hq,
                    hkv, splits, chunk, (float) scale);
            combine.launch(s.stream, hq, m, 1, 128, 1, 1, 0, ml, po, out + i0 * outItem * 4, outItem, hq, splits);
        }
    }

    /** {@code decode_target_f32}: the decode target {@code [batch, Hkv, N, nb]} of post-RoPE q and k. */
    static void decodeTarget(float[] q, float[] k, float[] target, AttentionShape shape, int blockSize, double scale) {
        int nb = shape.blocks(blockSize);
        try (Scope s = new Scope()) {
            DeviceBuffer qd = s.floats(q);
            DeviceBuffer kd = s.floats(k);
            DeviceBuffer td = s.allocate((long) target.length * 4);
            DecodeKernels.targetF32(shape.headDim()).kernel().launch(s.stream, Math.ceilDiv(shape.seqLen(), 64),
                    shape.kvHeads(), shape.batch(), 64, 1, 1, 0, qd, kd, td, shape.seqLen(), shape.qHeads(),
                    shape.kvHeads(), nb, blockSize, (float) scale);
            s.finish();
            td.copyTo(target);
        }
    }
}
