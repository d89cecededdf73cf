package org.seerjava.gpu.llm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.seerjava.gpu.AttentionKernel;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.CudaGraph;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Matmul;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;
import org.seerjava.gpu.llm.DecoderWeights.Part;
import org.seerjava.reference.GateConfig;

/**
 * A Llama-family decoder running on the GPU with a KV cache: bf16 weights and activations, fp32 accumulation and an
 * fp32 residual stream. It computes what {@code LlamaModel.forward} (module {@code model}) computes in float32:
 * <pre>
 *   x = embed_tokens[tokens]                                        (fp32 rows)
 *   per layer:  h = RMSNorm(x)·w_in                                 rms_norm_bf16
 *               q|k|v = h·W_qkvᵀ                                    cuBLASLt (prefill) / gemv (decode)
 *               q, k = RoPE(q + b_q, k + b_k); cache ← k, v         rope_qkv_bf16
 *               a = attention(q, cache)                             dense wgmma / SeerAttention / decode kernel
 *               x += a·W_oᵀ (+ b_o)                                 fp32 output accumulated
 *               g|u = RMSNorm(x)·w_post·W_gate|upᵀ; x += (silu(g) ⊙ u)·W_downᵀ
 *   logits = RMSNorm(x)·w_norm·W_lm_headᵀ
 * </pre>
 *
 * <p><b>Prefill</b> ({@link #prefill}) takes the prompt at positions {@link #position()} onwards. Projections, norms
 * and the MLP run over token chunks of {@code chunkTokens} rows (activations stay at chunk size); q of the whole
 * prompt stays on the device so that one attention call covers it. From position 0 the attention is the dense
 * warpgroup-MMA kernel or SeerAttention (pool → gate → select → block-sparse, as module gpu's {@code Prefill} graph) and writes its output
 * over q; after earlier tokens (a second prefill) it is the decode kernel with the chunk's tokens as queries.
 * <b>Decode</b> ({@link #decode}, {@link #decodeGreedy}) runs one token through matrix-vector products and the
 * split-key decode attention; the whole step, including the argmax and the position's advance, is captured once as
 * a CUDA graph and replayed. With {@link SparseDecode} (SeerAttention-R) the decode attention of each layer is the
 * decode gate's selection and the block-sparse decode kernel ({@link SparseDecoding}), inside the same graph, and
 * every prefill also fills the layers' K-compression caches; without it, decoding is the dense path, unchanged.
 *
 * <p>Memory: the weights ({@link DecoderWeights}), the KV cache for {@code capacity} positions and the RoPE table are
 * held for the decoder's life; a prefill of N tokens adds N·H fp32 + N·Hq·D bf16 and chunk-sized buffers, checked
 * against the free memory first ({@link DeviceMemoryException} names both figures). Not thread-safe.
 */
public final class Decoder implements AutoCloseable {
    /** Default rows of a prefill chunk. */
    public static final int DEFAULT_CHUNK = 8192;

    private final DecoderWeights w;
    private final DecoderShape s;
    private final int capacity;
    private final int chunkTokens;
    private final CudaContext context;
    private final Stream stream;
    private final Matmul matmul;
    private final List<DeviceBuffer> kCache = new ArrayList<>();
    private final List<DeviceBuffer> vCache = new ArrayList<>();
    private final DeviceBuffer ropeTable;
    private final DeviceBuffer pos;
    private final DeviceBuffer ids1;
    private final DeviceBuffer x1;
    private final DeviceBuffer h1;
    private final DeviceBuffer qkv1;
    private final DeviceBuffer q1;
    private final DeviceBuffer gu1;
    private final DeviceBuffer a1;
    private final DeviceBuffer logits1;
    private final DeviceBuffer ml1;
    private final DeviceBuffer po1;
    private final int decodeSplits;
    private final double scale;
    private final float eps;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final SparseDecoding sparse;
    private long decodeSteps;
    private CudaGraph decodeGraph;
    private boolean useGraph = Boolean.parseBoolean(System.getProperty("seer.cuda.decodeGraph", "true"));
    private boolean profile;
    private double attentionMillis;
    private double density = Double.NaN;
    private int position;
    private boolean closed;

    /**
     * A decoder over uploaded weights with a KV cache for {@code capacity} positions.
     *
     * @param invFreq     the RoPE inverse frequencies, {@code D/2} floats (the model's own, scaling included)
     * @param chunkTokens rows of a prefill chunk, rounded down to a multiple of 64 (at least 64) so that chunks
     *                    start on gate blocks
     * @throws DeviceMemoryException when the cache does not fit in the free GPU memory
     */
    public Decoder(DecoderWeights weights, float[] invFreq, int capacity, int chunkTokens) {
        this(weights, invFreq, capacity, chunkTokens, null);
    }

    /**
     * A decoder whose decode steps attend with SeerAttention-R ({@code sparse}; null: densely), with a
     * K-compression cache per layer on the device beside the KV cache.
     *
     * @throws IllegalArgumentException when the decode gates do not fit the model
     * @throws DeviceMemoryException    when the caches do not fit in the free GPU memory
     */
    public Decoder(DecoderWeights weights, float[] invFreq, int capacity, int chunkTokens, SparseDecode sparse) {
        this.w = weights;
        this.s = weights.shape();
        if (capacity <= 0) {
            throw new IllegalArgumentException("the KV cache capacity must be > 0 positions, got " + capacity);
        }
        if (chunkTokens <= 0) {
            throw new IllegalArgumentException("prefill chunk must be > 0 tokens, got " + chunkTokens);
        }
        if (invFreq == null || invFreq.length != s.headDim() / 2) {
            throw new IllegalArgumentException("RoPE needs " + s.headDim() / 2 + " inverse frequencies, got "
                    + (invFreq == null ? "null" : invFreq.length));
        }
        if (s.qHeads() / s.kvHeads() > ModelKernels.MAX_GROUP) {
            throw new IllegalArgumentException("the GPU decode attention supports at most " + ModelKernels.MAX_GROUP
                    + " query heads per key/value head, got " + s.qHeads() + "/" + s.kvHeads());
        }
        ModelKernels.checkDecodeHeadDim(s.headDim());
        this.capacity = capacity;
        this.chunkTokens = Math.max(SeerKernels.TC_BLOCK, chunkTokens / SeerKernels.TC_BLOCK * SeerKernels.TC_BLOCK);
        this.context = CudaContext.get();
        this.scale = 1.0 / Math.sqrt(s.headDim());
        this.eps = (float) s.rmsNormEps();
        this.decodeSplits = ModelKernels.decodeSplits(1, s.kvHeads(), capacity);
        if (sparse != null) {
            sparse.requireFits(s);
        }
        long need = residentBytes(s, capacity, decodeSplits) + (sparse == null ? 0
                : SparseDecoding.bytes(s, capacity, sparse));
        checkFree(need, "the KV cache for " + capacity + " positions and the decode buffers"
                + (sparse == null ? "" : ", with the K-compression caches of sparse decoding"));
        SparseDecoding sd = null;
        Stream st = null;
        Matmul mm = null;
        try {
            st = new Stream();
            mm = new Matmul();
            long kvBytes = (long) capacity * s.kvDim() * 2;
            for (int l = 0; l < s.layers(); l++) {
                kCache.add(own(kvBytes));
                vCache.add(own(kvBytes));
            }
            int half = s.headDim() / 2;
            ropeTable = own((long) capacity * half * 8);
            pos = own(4);
            ids1 = own(4);
            x1 = own((long) s.hidden() * 4);
            h1 = own((long) Math.max(s.hidden(), s.qDim()) * 2);
            qkv1 = own((long) s.qkvDim() * 2);
            q1 = own((long) s.qDim() * 2);
            gu1 = own(2L * s.intermediate() * 2);
            a1 = own((long) s.intermediate() * 2);
            logits1 = own((long) s.vocab() * 4);
            ml1 = own((long) s.qHeads() * decodeSplits * 8);
            po1 = own((long) s.qHeads() * decodeSplits * s.headDim() * 4);
            ModelKernels.preload(s.headDim());
            try (DeviceBuffer inv = DeviceBuffer.of(invFreq)) {
                ModelKernels.ropeTable(st, inv.pointer(), ropeTable.pointer(), capacity, half);
                st.synchronize();
            }
            sd = sparse == null ? null : new SparseDecoding(sparse, s, capacity);
        } catch (RuntimeException e) {
            for (DeviceBuffer b : owned) {
                b.close();
            }
            if (mm != null) {
                mm.close();
            }
            if (st != null) {
                st.close();
            }
            throw e;
        }
        this.stream = st;
        this.matmul = mm;
        this.sparse = sd;
    }

    private DeviceBuffer own(long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(bytes);
        owned.add(b);
        return b;
    }

    /** Device bytes the decoder holds besides the weights: KV cache, RoPE table, decode buffers, GEMM workspace. */
    public static long residentBytes(DecoderShape s, int capacity, int splits) {
        long kv = s.kvCacheBytes(capacity);
        long table = (long) capacity * (s.headDim() / 2) * 8;
        long decode = (long) s.hidden() * 4 + 2L * Math.max(s.hidden(), s.qDim()) + 2L * s.qkvDim() + 2L * s.qDim()
                + 6L * s.intermediate() + 4L * s.vocab() + (long) s.qHeads() * splits * (8 + 4L * s.headDim());
        return kv + table + decode + Matmul.DEFAULT_WORKSPACE;
    }

    /**
     * Device bytes a dense prefill of {@code tokens} tokens allocates for its duration (activations and chunk
     * buffers); SeerAttention and the capture add their pooled features (the gate's scratch lives in the chunk
     * buffer).
     */
    public static long prefillBytes(DecoderShape s, int tokens, int chunkTokens, boolean afterCache, int splits) {
        long n = tokens;
        long c = Math.min(tokens, chunkTokens);
        long bytes = n * s.hidden() * 4 + n * s.qDim() * 2 + n * 4;
        bytes += c * s.hidden() * 2 + c * Math.max(s.qkvDim(), 3L * s.intermediate()) * 2;
        if (afterCache) {
            bytes += c * s.qHeads() * splits * (8 + 4L * s.headDim());
        }
        return bytes;
    }

    private void checkFree(long need, String what) {
        long free = context.memoryInfo()[0];
        if (need > free) {
            throw new DeviceMemoryException(what + " need " + DeviceMemoryException.human(need) + " of GPU memory ("
                    + need + " bytes); the GPU has " + DeviceMemoryException.human(free) + " free (" + free + " bytes)",
                    need, free);
        }
    }

    public DecoderShape shape() {
        return s;
    }

    /** Positions in the KV cache. */
    public int position() {
        return position;
    }

    /** Positions the KV cache can hold. */
    public int capacity() {
        return capacity;
    }

    /** Forgets the cached tokens (the next prefill starts at position 0) and the decode density's counts. */
    public void reset() {
        position = 0;
        decodeSteps = 0;
        if (sparse != null) {
            sparse.reset(stream);
            stream.synchronize();
        }
    }

    /** Device bytes of the SeerAttention-R state (K-compression caches, gate weights, step buffers); 0 without. */
    public long sparseDecodeBytes() {
        return sparse == null ? 0 : SparseDecoding.bytes(s, capacity, sparse.config());
    }

    /** The SeerAttention-R configuration of the decode steps, or null when they attend densely. */
    public SparseDecode sparseDecode() {
        return sparse == null ? null : sparse.config();
    }

    /**
     * The fraction of key blocks the decode steps since the last {@link #reset()} attended to, over every layer and
     * KV head (the selection with block 0 and the current block ÷ the blocks in the cache); 1 for dense decoding;
     * NaN before the first decode step.
     */
    public double decodeDensity() {
        if (sparse == null) {
            return decodeSteps > 0 ? 1.0 : Double.NaN;
        }
        stream.synchronize();
        return sparse.density();
    }

    /**
     * Times every layer's attention with events during prefills (it synchronises once per layer); the sum since
     * the last call is {@link #takeAttentionMillis()}.
     */
    public void profileAttention(boolean on) {
        profile = on;
    }

    /** Milliseconds of attention timed since the last call (with {@link #profileAttention}). */
    public double takeAttentionMillis() {
        double t = attentionMillis;
        attentionMillis = 0;
        return t;
    }

    /** Replays decode steps from a CUDA graph (default) or launches their kernels one by one. */
    public void useCudaGraph(boolean on) {
        useGraph = on;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("decoder is closed");
        }
    }

    private void setPosition(int p) {
        try (Arena a = Arena.ofConfined()) {
            pos.copyFrom(a.allocateFrom(ValueLayout.JAVA_INT, p));
        }
    }

    private void checkTokens(int[] tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("tokens must hold at least one token id");
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= s.vocab()) {
                throw new IllegalArgumentException("token " + i + " = " + tokens[i] + " is outside the vocabulary [0, "
                        + s.vocab() + ")");
            }
        }
        if ((long) position + tokens.length > capacity) {
            throw new IllegalArgumentException(tokens.length + " tokens after " + position + " cached exceed the KV"
                    + " cache capacity of " + capacity + " positions");
        }
    }

    /** As {@link #prefill(int[], DecoderAttention, int)} with the logits of the last token only. */
    public float[] prefill(int[] tokens, DecoderAttention attention) {
        return prefill(tokens, attention, tokens.length - 1);
    }

    /**
     * Runs the tokens through the model at positions {@link #position()} onwards, appending their keys and values to
     * the cache, and returns the logits {@code [N − logitsFrom, V]} of tokens {@code logitsFrom … N−1} (fp32).
     */
    public float[] prefill(int[] tokens, DecoderAttention attention, int logitsFrom) {
        ensureOpen();
        checkTokens(tokens);
        int n = tokens.length;
        if (logitsFrom < 0 || logitsFrom >= n) {
            throw new IllegalArgumentException("logitsFrom must be in [0, " + n + "), got " + logitsFrom);
        }
        boolean capture = attention instanceof DecoderAttention.Capture;
        boolean seer = attention instanceof DecoderAttention.Seer;
        if (seer && ((DecoderAttention.Seer) attention).gates().size() != s.layers()) {
            throw new IllegalArgumentException("SeerAttention needs one gate per layer: " + s.layers() + ", got "
                    + ((DecoderAttention.Seer) attention).gates().size());
        }
        int p0 = position;
        boolean afterCache = p0 > 0;
        if ((seer || capture) && afterCache) {
            throw new IllegalArgumentException((seer ? "SeerAttention" : "a capture") + " prefill starts at position 0; "
                    + p0 + " tokens are cached (reset the decoder, or prefill the continuation densely)");
        }
        if (capture && ((DecoderAttention.Capture) attention).gate().blockSize() != SeerKernels.TC_BLOCK) {
            throw new IllegalArgumentException("the GPU capture needs gate block size " + SeerKernels.TC_BLOCK + ", got "
                    + ((DecoderAttention.Capture) attention).gate().blockSize());
        }
        int c = Math.min(n, chunkTokens);
        int splits = afterCache ? ModelKernels.decodeSplits(c, s.kvHeads(), (long) p0 + n) : 0;
        GatePlan gp = seer ? new GatePlan(((DecoderAttention.Seer) attention).gates().get(0).config(), n)
                : capture ? new GatePlan(((DecoderAttention.Capture) attention).gate(), n) : null;
        long bigBytes = (long) c * Math.max(s.qkvDim(), 3L * s.intermediate()) * 2;
        if (gp != null || sparse != null) {                  // pre-RoPE q, k of a chunk after its q|k|v
            bigBytes = Math.max(bigBytes, (long) c * (s.qkvDim() + s.qDim() + s.kvDim()) * 2);
        }
        if (gp != null) {
            if (seer) {
                bigBytes = Math.max(bigBytes, gp.gateBytes());
            }
        }
        // the capture's fused pass keeps its block maxima in one slot per CTA resident at once
        int targetSlots = capture ? AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, s.headDim())
                .targetScratchSlots() : 0;
        long targetScratchBytes = capture ? SeerKernels.targetScratchBytes(targetSlots, gp.nb) : 0;
        checkFree(prefillBytes(s, n, chunkTokens, afterCache, splits) - (long) c * Math.max(s.qkvDim(),
                3L * s.intermediate()) * 2 + bigBytes + (gp == null ? 0 : gp.pooledBytes()) + targetScratchBytes,
                "a prefill of " + n + " tokens");
        List<DeviceBuffer> tmp = new ArrayList<>();
        Arena gateArena = Arena.ofConfined();
        try {
            DeviceBuffer x = alloc(tmp, (long) n * s.hidden() * 4);
            DeviceBuffer q = alloc(tmp, (long) n * s.qDim() * 2);
            DeviceBuffer ids = alloc(tmp, (long) n * 4);
            DeviceBuffer hn = alloc(tmp, (long) c * s.hidden() * 2);
            DeviceBuffer big = alloc(tmp, bigBytes);
            long qPreChunk = big.pointer() + (long) c * s.qkvDim() * 2;          // pre-RoPE q, k of a chunk
            long kPreChunk = qPreChunk + (long) c * s.qDim() * 2;
            keptBlocks = seer ? alloc(tmp, 8) : null;
            if (keptBlocks != null) {
                keptBlocks.fill((byte) 0);
            }
            SeerBuffers sb = seer ? new SeerBuffers(gp, (DecoderAttention.Seer) attention, tmp, gateArena) : null;
            DeviceBuffer scratch = capture ? alloc(tmp, targetScratchBytes) : null;
            if (scratch != null) {
                SeerKernels.clearTargetScratchLocks(scratch, targetSlots, gp.nb, stream);
            }
            DeviceBuffer ml = afterCache ? alloc(tmp, (long) c * s.qHeads() * splits * 8) : null;
            DeviceBuffer po = afterCache ? alloc(tmp, (long) c * s.qHeads() * splits * s.headDim() * 4) : null;
            try (Arena a = Arena.ofConfined()) {
                ids.copyFrom(a.allocateFrom(ValueLayout.JAVA_INT, tokens));
            }
            setPosition(p0);
            ModelKernels.embed(stream, ids.pointer(), w.pointer(Part.EMBED, 0), x.pointer(), n, s.hidden());
            int H = s.hidden();
            int I = s.intermediate();
            for (int l = 0; l < s.layers(); l++) {
                GateTraining.LayerCapture cap = capture ? gp.newCapture() : null;
                if (cap != null) {
                    ((DecoderAttention.Capture) attention).sink().add(cap);
                }
                DeviceBuffer qPoolDst = cap != null ? cap.qPooled() : sb != null ? sb.qPooled : null;
                DeviceBuffer kPoolDst = cap != null ? cap.kPooled() : sb != null ? sb.kPooled : null;
                for (int c0 = 0; c0 < n; c0 += c) {
                    int rows = Math.min(c, n - c0);
                    ModelKernels.rmsNorm(stream, x.pointer() + (long) c0 * H * 4, w.pointer(Part.INPUT_NORM, l),
                            hn.pointer(), rows, H, eps);
                    matmul.linear(stream, hn.pointer(), w.pointer(Part.QKV, l), big.pointer(), rows, s.qkvDim(), H,
                            Matmul.Out.BF16);
                    ModelKernels.ropeQkv(stream, big.pointer(), opt(Part.QKV_BIAS, l), opt(Part.Q_NORM, l),
                            opt(Part.K_NORM, l), eps, ropeTable.pointer(), pos.pointer(), c0, rows, s.qHeads(),
                            s.kvHeads(), s.headDim(), q.pointer() + (long) c0 * s.qDim() * 2,
                            kCache.get(l).pointer(), vCache.get(l).pointer(),
                            gp == null ? 0 : qPreChunk, gp == null && sparse == null ? 0 : kPreChunk);
                    if (sparse != null) {                    // the chunk's keys into the K-compression cache
                        sparse.append(stream, l, kPreChunk, p0 + c0, rows, afterCache);
                    }
                    if (gp != null) {                        // pool this chunk's blocks (c0 is a multiple of 64)
                        int blk = c0 / SeerKernels.TC_BLOCK;
                        pool(qPreChunk, qPoolDst.pointer() + (long) blk * s.qHeads() * gp.fq * 4, rows, s.qHeads(),
                                gp.qBits);
                        pool(kPreChunk, kPoolDst.pointer() + (long) blk * s.kvHeads() * gp.fk * 4, rows, s.kvHeads(),
                                gp.kBits);
                    }
                }
                org.seerjava.gpu.Event before = profile ? new org.seerjava.gpu.Event() : null;
                if (before != null) {
                    before.record(stream);
                }
                if (afterCache) {
                    for (int c0 = 0; c0 < n; c0 += c) {
                        int rows = Math.min(c, n - c0);
                        long qc = q.pointer() + (long) c0 * s.qDim() * 2;
                        ModelKernels.decodeAttention(stream, qc, kCache.get(l).pointer(), vCache.get(l).pointer(),
                                pos.pointer(), c0, ml.pointer(), po.pointer(), qc, rows, s.qHeads(), s.kvHeads(),
                                s.headDim(), splits, scale);
                    }
                } else if (seer) {
                    seerAttention(l, sb, q, big, n);
                } else if (capture) {
                    captureAttention(l, cap, q, scratch, targetSlots, n);
                } else {
                    denseAttention(l, q, n);
                }
                if (before != null) {
                    try (org.seerjava.gpu.Event after = new org.seerjava.gpu.Event()) {
                        after.record(stream);
                        attentionMillis += after.elapsedSince(before);
                    } finally {
                        before.close();
                    }
                }
                for (int c0 = 0; c0 < n; c0 += c) {
                    int rows = Math.min(c, n - c0);
                    long xc = x.pointer() + (long) c0 * H * 4;
                    matmul.linear(stream, q.pointer() + (long) c0 * s.qDim() * 2, w.pointer(Part.O, l), xc, rows, H,
                            s.qDim(), Matmul.Out.F32_ACCUMULATE);
                    if (s.oBias()) {
                        ModelKernels.addBias(stream, xc, w.pointer(Part.O_BIAS, l), rows, H);
                    }
                    ModelKernels.rmsNorm(stream, xc, w.pointer(Part.POST_NORM, l), hn.pointer(), rows, H, eps);
                    long gu = big.pointer();
                    long act = big.pointer() + (long) rows * 2 * I * 2;
                    matmul.linear(stream, hn.pointer(), w.pointer(Part.GATE_UP, l), gu, rows, 2 * I, H,
                            Matmul.Out.BF16);
                    ModelKernels.swiglu(stream, gu, act, rows, I);
                    matmul.linear(stream, act, w.pointer(Part.DOWN, l), xc, rows, H, I, Matmul.Out.F32_ACCUMULATE);
                }
            }
            float[] logits = logits(x, hn, big, logitsFrom, n, tmp);
            if (afterCache || capture) {
                density = 1.0;
            } else if (seer) {
                long nb = Math.ceilDiv(n, SeerKernels.TC_BLOCK);
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment kept = a.allocate(ValueLayout.JAVA_LONG);
                    keptBlocks.copyTo(kept);
                    density = kept.get(ValueLayout.JAVA_LONG, 0) / (double) (s.layers() * s.qHeads() * nb * (nb + 1) / 2);
                }
            } else {
                density = 1.0;
            }
            position = p0 + n;
            return logits;
        } finally {
            try {
                stream.synchronize();
            } finally {
                for (DeviceBuffer b : tmp) {
                    b.close();
                }
                gateArena.close();
            }
        }
    }

    private DeviceBuffer keptBlocks;

    /**
     * The fraction of causal 64×64 blocks the last prefill computed over every layer and head: 1 for dense attention
     * (and a prefill after cached tokens), the realised density of SeerAttention; NaN before the first prefill.
     */
    public double prefillDensity() {
        return density;
    }

    private static DeviceBuffer alloc(List<DeviceBuffer> list, long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(bytes);
        list.add(b);
        return b;
    }

    private long opt(Part part, int layer) {
        return part.present(s) ? w.pointer(part, layer) : 0L;
    }

    /** Dense causal attention of the whole prompt from position 0, written over q. */
    private void denseAttention(int l, DeviceBuffer q, int n) {
        int nb = Math.ceilDiv(n, SeerKernels.TC_BLOCK);
        AttentionKernel kernel = AttentionKernel.forDevice(AttentionKernel.Op.DENSE, s.headDim());
        var spec = kernel.spec(s.headDim());
        var launch = kernel.launch(nb, s.qHeads(), 1, s.headDim());
        spec.kernel().launch(stream, launch.gx(), launch.gy(), launch.gz(), launch.bx(), launch.by(), launch.bz(),
                launch.sharedBytes(), q.pointer(), kCache.get(l).pointer(), vCache.get(l).pointer(), q.pointer(), n,
                s.qHeads(), s.kvHeads(), nb, (float) (scale * SeerKernels.LOG2E));
    }

    /** The sizes of a gate's work on a prompt of n tokens (pooled features, gate scratch, head groups). */
    private final class GatePlan {
        final GateConfig cfg;
        final int nb;
        final int fq;
        final int fk;
        final int dg;
        final boolean hasQ;
        final int keyHeads;
        final int qBits;
        final int kBits;
        final int group;

        GatePlan(GateConfig cfg, int n) {
            if (cfg.blockSize() != SeerKernels.TC_BLOCK) {
                throw new IllegalArgumentException("the GPU gate needs block size " + SeerKernels.TC_BLOCK + ", got "
                        + cfg.blockSize());
            }
            this.cfg = cfg;
            this.nb = Math.ceilDiv(n, SeerKernels.TC_BLOCK);
            this.fq = cfg.type().qDup() * s.headDim();
            this.fk = cfg.type().kDup() * s.headDim();
            this.dg = cfg.hiddenSize();
            this.hasQ = cfg.hasQLinear(s.headDim());
            this.keyHeads = hasQ ? s.kvHeads() : s.qHeads();
            this.qBits = SeerKernels.poolBits(cfg.type().qPools());
            this.kBits = SeerKernels.poolBits(cfg.type().kPools());
            int rep = s.qHeads() / keyHeads;
            long per = (long) nb * nb * 4;
            int g = rep;                                      // the largest head group whose logits fit in 64 MiB
            for (int c = s.qHeads(); c >= rep; c--) {
                if (s.qHeads() % c == 0 && c % rep == 0 && c * per <= (64L << 20)) {
                    g = c;
                    break;
                }
            }
            this.group = g;
        }

        long qGateBytes() {
            return hasQ ? align((long) nb * s.qHeads() * dg * 4) : 0;
        }

        long kGateBytes() {
            return align((long) nb * keyHeads * dg * 4);
        }

        long maskBytes() {
            return align((long) s.qHeads() * nb * nb);
        }

        /** Scratch of the gate phase, inside the chunk buffer: Q_g, K_g, the mask, one head group's logits. */
        long gateBytes() {
            return qGateBytes() + kGateBytes() + maskBytes() + (long) group * nb * nb * 4;
        }

        long pooledBytes() {
            return (long) nb * (s.qHeads() * fq + s.kvHeads() * fk) * 4;
        }

        GateTraining.LayerCapture newCapture() {
            DeviceBuffer qp = DeviceBuffer.allocate((long) nb * s.qHeads() * fq * 4);
            DeviceBuffer kp = null;
            try {
                kp = DeviceBuffer.allocate((long) nb * s.kvHeads() * fk * 4);
                DeviceBuffer t = DeviceBuffer.allocate((long) s.qHeads() * nb * nb * 4);
                return new GateTraining.LayerCapture(qp, kp, t, nb);
            } catch (RuntimeException e) {
                qp.close();
                if (kp != null) {
                    kp.close();
                }
                throw e;
            }
        }
    }

    private static long align(long bytes) {
        return (bytes + 255) & ~255L;
    }

    /** What SeerAttention holds during one prefill: pooled features, gate weights (device and host), the RoPE table. */
    private final class SeerBuffers {
        final GatePlan gp;
        final DecoderAttention.Seer seer;
        final DeviceBuffer qPooled;
        final DeviceBuffer kPooled;
        final DeviceBuffer wq;
        final DeviceBuffer wk;
        final DeviceBuffer table;
        final MemorySegment[] wqHost;
        final MemorySegment[] wkHost;

        SeerBuffers(GatePlan gp, DecoderAttention.Seer seer, List<DeviceBuffer> tmp, Arena arena) {
            this.gp = gp;
            this.seer = seer;
            int layers = s.layers();
            wqHost = new MemorySegment[layers];
            wkHost = new MemorySegment[layers];
            long wqElems = gp.hasQ ? (long) s.qHeads() * gp.fq * gp.dg : 0;
            long wkElems = (long) gp.keyHeads * gp.fk * gp.dg;
            for (int l = 0; l < layers; l++) {
                LayerGate g = seer.gates().get(l);
                if (!g.config().equals(gp.cfg)) {
                    throw new IllegalArgumentException("gate " + l + " has another configuration than gate 0");
                }
                if (g.wk().length != wkElems || (gp.hasQ && (g.wq() == null || g.wq().length != wqElems))) {
                    throw new IllegalArgumentException("gate " + l + ": W_k needs " + wkElems + " elements" + (gp.hasQ
                            ? " and W_q " + wqElems : "") + " for this model; got " + g.wk().length
                            + (g.wq() == null ? "" : " and " + g.wq().length));
                }
                wkHost[l] = arena.allocateFrom(ValueLayout.JAVA_FLOAT, g.wk());
                wqHost[l] = gp.hasQ ? arena.allocateFrom(ValueLayout.JAVA_FLOAT, g.wq()) : null;
            }
            qPooled = alloc(tmp, (long) gp.nb * s.qHeads() * gp.fq * 4);
            kPooled = alloc(tmp, (long) gp.nb * s.kvHeads() * gp.fk * 4);
            wk = alloc(tmp, wkElems * 4);
            wq = gp.hasQ ? alloc(tmp, wqElems * 4) : null;
            double[] inv = org.seerjava.reference.Rope.inverseFrequencies(gp.cfg.rope());
            int half = gp.cfg.rope().rotaryDim() / 2;
            float[] cs = new float[gp.nb * half * 2];          // (cos, sin) at position block·64, computed in fp64
            for (int blk = 0; blk < gp.nb; blk++) {
                for (int k = 0; k < half; k++) {
                    double angle = (double) blk * gp.cfg.blockSize() * inv[k];
                    cs[(blk * half + k) * 2] = (float) Math.cos(angle);
                    cs[(blk * half + k) * 2 + 1] = (float) Math.sin(angle);
                }
            }
            table = alloc(tmp, (long) cs.length * 4);
            table.copyFrom(cs);
        }
    }

    private void gemm(long a, long b, long c, int m, int n, int k, int heads, int repA, int repB, float alpha,
                      boolean causal, long[] strides) {
        var l = SeerKernels.gemmLaunch(m, n, heads);
        SeerKernels.GEMM.kernel().launch(stream, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), a, b,
                c, m, n, k, heads, repA, repB, alpha, causal ? 1 : 0, strides);
    }

    private void gateRope(long x, long table, int nb, int heads, int dg, int half) {
        SeerKernels.ROPE_TABLE.kernel().launch(stream, (int) Math.max(1, Math.min(Math.ceilDiv((long) nb * heads * half,
                256), 1L << 20)), 1, 1, 256, 1, 1, 0, x, table, nb, nb, heads, dg, half);
    }

    /**
     * SeerAttention of the whole prompt from position 0, on this decoder's stream, written over q: the gate from the
     * pooled features (Q and K linears, block RoPE, causal logits one head group at a time, selection into the block
     * mask), then the block-sparse kernel — the steps of the prefill task graph of module gpu ({@code Prefill},
     * {@code GateTasks}), with their intermediates in the chunk buffer instead of fresh allocations.
     */
    private void seerAttention(int l, SeerBuffers sb, DeviceBuffer q, DeviceBuffer big, int n) {
        GatePlan gp = sb.gp;
        int nb = gp.nb;
        int hq = s.qHeads();
        int hkv = s.kvHeads();
        int dg = gp.dg;
        int kh = gp.keyHeads;
        int half = gp.cfg.rope().rotaryDim() / 2;
        var drv = context.driver();
        drv.memcpyHtoDAsync(sb.wk.pointer(), sb.wkHost[l], sb.wkHost[l].byteSize(), stream.handle());
        long qGate = big.pointer();
        long kGate = qGate + gp.qGateBytes();
        long mask = kGate + gp.kGateBytes();
        long logits = mask + gp.maskBytes();
        if (gp.hasQ) {
            drv.memcpyHtoDAsync(sb.wq.pointer(), sb.wqHost[l], sb.wqHost[l].byteSize(), stream.handle());
            gemm(sb.qPooled.pointer(), sb.wq.pointer(), qGate, nb, dg, gp.fq, hq, 1, 1, 1f, false, SeerKernels.strides(
                    (long) nb * hq * gp.fq, gp.fq, (long) hq * gp.fq, 1, 0, (long) gp.fq * dg, dg, 1,
                    (long) nb * hq * dg, dg, (long) hq * dg, 1));
        } else {
            qGate = sb.qPooled.pointer();                     // no Q linear: the pooled q is the gate's q (Dg = D)
        }
        gemm(sb.kPooled.pointer(), sb.wk.pointer(), kGate, nb, dg, gp.fk, kh, kh / hkv, 1, 1f, false,
                SeerKernels.strides((long) nb * hkv * gp.fk, gp.fk, (long) hkv * gp.fk, 1, 0, (long) gp.fk * dg, dg, 1,
                        (long) nb * kh * dg, dg, (long) kh * dg, 1));
        gateRope(qGate, sb.table.pointer(), nb, hq, dg, half);
        gateRope(kGate, sb.table.pointer(), nb, kh, dg, half);
        int rep = hq / kh;
        for (int h0 = 0; h0 < hq; h0 += gp.group) {
            int g = gp.group;
            gemm(qGate + (long) h0 * dg * 4, kGate + (long) (h0 / rep) * dg * 4, logits, nb, nb, dg, g, 1, rep,
                    (float) gp.cfg.scale(), true, SeerKernels.strides((long) nb * hq * dg, dg, (long) hq * dg, 1,
                            (long) nb * kh * dg, dg, 1, (long) kh * dg, (long) g * nb * nb, (long) nb * nb, nb, 1));
            long rows = (long) g * nb;
            long maskGroup = mask + (long) h0 * nb * nb;
            switch (sb.seer.rule()) {
                case org.seerjava.reference.SelectionRule.Threshold t -> {
                    var launch = SeerKernels.warpPerRow(rows);
                    SeerKernels.SELECT_THRESHOLD.kernel().launch(stream, launch.gx(), launch.gy(), launch.gz(),
                            launch.bx(), launch.by(), launch.bz(), launch.sharedBytes(), logits, maskGroup, rows, nb,
                            t.threshold(), 1, t.lastBlockDense() ? 1 : 0, t.keepDiagonal() ? 1 : 0);
                }
                case org.seerjava.reference.SelectionRule.TopK t -> {
                    var launch = SeerKernels.topKLaunch(rows, nb);
                    SeerKernels.topK(nb).kernel().launch(stream, launch.gx(), launch.gy(), launch.gz(), launch.bx(),
                            launch.by(), launch.bz(), launch.sharedBytes(), SeerKernels.topKArgs(logits, maskGroup, rows,
                                    nb, t.k(nb), t.lastBlockDense(), t.keepDiagonal(), true));
                }
            }
        }
        AttentionKernel kernel = AttentionKernel.forDevice(AttentionKernel.Op.SPARSE, s.headDim());
        var launch = kernel.launch(nb, hq, 1, s.headDim());
        kernel.spec(s.headDim()).kernel().launch(stream, launch.gx(), launch.gy(), launch.gz(), launch.bx(), launch.by(),
                launch.bz(), launch.sharedBytes(), q.pointer(), kCache.get(l).pointer(), vCache.get(l).pointer(), mask,
                q.pointer(), n, hq, hkv, nb, (float) (scale * SeerKernels.LOG2E));
        long cells = (long) hq * nb * nb;
        SeerKernels.COUNT_NONZERO.kernel().launch(stream, (int) Math.min(Math.ceilDiv(cells, 256), 4096), 1, 1, 256, 1,
                1, 0, mask, cells, keptBlocks);
    }

    /**
     * Dense attention fused with the pooled target, written over q; the target goes to the layer's capture. The
     * scratch has {@code slots} slots ({@link SeerKernels#targetScratchElements}).
     */
    private void captureAttention(int l, GateTraining.LayerCapture cap, DeviceBuffer q, DeviceBuffer scratch,
                                  int slots, int n) {
        int nb = cap.blocks();
        int d = s.headDim();
        AttentionKernel kernel = AttentionKernel.forDevice(AttentionKernel.Op.DENSE_TARGET, d);
        var launch = kernel.launch(nb, s.qHeads(), 1, d);
        kernel.spec(d).kernel().launch(stream, launch.gx(), launch.gy(), launch.gz(), launch.bx(), launch.by(),
                launch.bz(), launch.sharedBytes(), q.pointer(), kCache.get(l).pointer(), vCache.get(l).pointer(),
                q.pointer(), scratch.pointer(), cap.target().pointer(), n, s.qHeads(), s.kvHeads(), nb,
                (float) (scale * SeerKernels.LOG2E), slots);
    }

    /** Pools the pre-RoPE rows of one chunk ({@code rows} tokens of {@code heads} heads) into its blocks. */
    private void pool(long x, long out, int rows, int heads, int bits) {
        int d = s.headDim();
        int nb = Math.ceilDiv(rows, SeerKernels.TC_BLOCK);
        boolean v8 = d % 8 == 0;
        var spec = v8 ? SeerKernels.POOL_BF16_V8 : SeerKernels.POOL_BF16;
        var l = org.seerjava.gpu.graph.KernelSpec.Launch.linear((long) nb * heads * d / (v8 ? 8 : 1), 256);
        spec.kernel().launch(stream, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), 0, x, out, 1, rows, heads, d,
                SeerKernels.TC_BLOCK, bits);
    }

    /** Final norm and lm_head for rows [from, n) of x, in row blocks of at most 256 MiB of logits. */
    private float[] logits(DeviceBuffer x, DeviceBuffer hn, DeviceBuffer big, int from, int n, List<DeviceBuffer> tmp) {
        int H = s.hidden();
        int V = s.vocab();
        int m = n - from;
        float[] out = new float[Math.multiplyExact(m, V)];
        if (m == 1 || V % 8 != 0) {
            for (int r = from; r < n; r++) {
                ModelKernels.rmsNorm(stream, x.pointer() + (long) r * H * 4, w.pointer(Part.FINAL_NORM, 0),
                        h1.pointer(), 1, H, eps);
                ModelKernels.gemv(stream, w.pointer(Part.LM_HEAD, 0), h1.pointer(), logits1.pointer(), V, H,
                        ModelKernels.GemvOut.F32);
                readLogits(logits1, out, (long) (r - from) * V, V);
            }
            return out;
        }
        int block = (int) Math.max(1, Math.min(Math.min(m, chunkTokens), (256L << 20) / ((long) V * 4)));
        DeviceBuffer lg = alloc(tmp, (long) block * V * 4);
        for (int r0 = from; r0 < n; r0 += block) {
            int rows = Math.min(block, n - r0);
            ModelKernels.rmsNorm(stream, x.pointer() + (long) r0 * H * 4, w.pointer(Part.FINAL_NORM, 0), hn.pointer(),
                    rows, H, eps);
            matmul.linear(stream, hn.pointer(), w.pointer(Part.LM_HEAD, 0), lg.pointer(), rows, V, H, Matmul.Out.F32);
            readLogits(lg, out, (long) (r0 - from) * V, (long) rows * V);
        }
        return out;
    }

    private void readLogits(DeviceBuffer src, float[] out, long offset, long count) {
        stream.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_FLOAT, count);
            context.driver().memcpyDtoH(seg, src.pointer(), count * 4);
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, out, (int) offset, (int) count);
        }
    }

    /**
     * The logits of the last position processed by {@link #decode}, {@link #decodeGreedy} or a prefill that asked
     * for the last position only (they stay on the device until asked for).
     */
    public float[] lastLogits() {
        ensureOpen();
        float[] out = new float[s.vocab()];
        readLogits(logits1, out, 0, s.vocab());
        return out;
    }

    /** One decode step for {@code token} at {@link #position()}; returns its logits {@code [V]}. */
    public float[] decode(int token) {
        step(token);
        float[] out = new float[s.vocab()];
        readLogits(logits1, out, 0, s.vocab());
        return out;
    }

    /**
     * One decode step for {@code token}; returns the most likely next token (argmax on the device, the lowest index
     * among equal logits).
     *
     * @throws IllegalStateException when a logit is NaN or +∞ (or every logit is −∞)
     */
    public int decodeGreedy(int token) {
        step(token);
        stream.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_INT);
            ids1.copyTo(seg);
            int next = seg.get(ValueLayout.JAVA_INT, 0);
            if (next < 0) {
                throw new IllegalStateException("the model produced a non-finite logit at position " + (position - 1)
                        + ": no token can be chosen");
            }
            return next;
        }
    }

    private void step(int token) {
        ensureOpen();
        checkTokens(new int[] {token});
        stream.synchronize();
        setPosition(position);
        try (Arena a = Arena.ofConfined()) {
            ids1.copyFrom(a.allocateFrom(ValueLayout.JAVA_INT, token));
        }
        if (useGraph) {
            if (decodeGraph == null) {
                decodeGraph = stream.capture(this::enqueueDecode);
            }
            decodeGraph.launch(stream);
        } else {
            enqueueDecode();
        }
        position++;
        decodeSteps++;
    }

    /** The kernels of one decode step (token in ids1, position in pos): logits, argmax into ids1, pos + 1. */
    private void enqueueDecode() {
        int H = s.hidden();
        int I = s.intermediate();
        ModelKernels.embed(stream, ids1.pointer(), w.pointer(Part.EMBED, 0), x1.pointer(), 1, H);
        for (int l = 0; l < s.layers(); l++) {
            ModelKernels.rmsNorm(stream, x1.pointer(), w.pointer(Part.INPUT_NORM, l), h1.pointer(), 1, H, eps);
            ModelKernels.gemv(stream, w.pointer(Part.QKV, l), h1.pointer(), qkv1.pointer(), s.qkvDim(), H,
                    ModelKernels.GemvOut.BF16);
            ModelKernels.ropeQkv(stream, qkv1.pointer(), opt(Part.QKV_BIAS, l), opt(Part.Q_NORM, l),
                    opt(Part.K_NORM, l), eps, ropeTable.pointer(), pos.pointer(), 0, 1, s.qHeads(), s.kvHeads(),
                    s.headDim(), q1.pointer(), kCache.get(l).pointer(), vCache.get(l).pointer(),
                    sparse == null ? 0 : sparse.qPre.pointer(), sparse == null ? 0 : sparse.kPre.pointer());
            if (sparse == null) {
                ModelKernels.decodeAttention(stream, q1.pointer(), kCache.get(l).pointer(), vCache.get(l).pointer(),
                        pos.pointer(), 0, ml1.pointer(), po1.pointer(), q1.pointer(), 1, s.qHeads(), s.kvHeads(),
                        s.headDim(), decodeSplits, scale);
            } else {
                sparse.enqueueStep(stream, l, q1.pointer(), kCache.get(l).pointer(), vCache.get(l).pointer(),
                        pos.pointer(), q1.pointer(), scale);
            }
            ModelKernels.gemv(stream, w.pointer(Part.O, l), q1.pointer(), x1.pointer(), H, s.qDim(),
                    ModelKernels.GemvOut.F32_ACCUMULATE);
            if (s.oBias()) {
                ModelKernels.addBias(stream, x1.pointer(), w.pointer(Part.O_BIAS, l), 1, H);
            }
            ModelKernels.rmsNorm(stream, x1.pointer(), w.pointer(Part.POST_NORM, l), h1.pointer(), 1, H, eps);
            ModelKernels.gemv(stream, w.pointer(Part.GATE_UP, l), h1.pointer(), gu1.pointer(), 2 * I, H,
                    ModelKernels.GemvOut.BF16);
            ModelKernels.swiglu(stream, gu1.pointer(), a1.pointer(), 1, I);
            ModelKernels.gemv(stream, w.pointer(Part.DOWN, l), a1.pointer(), x1.pointer(), H, I,
                    ModelKernels.GemvOut.F32_ACCUMULATE);
        }
        ModelKernels.rmsNorm(stream, x1.pointer(), w.pointer(Part.FINAL_NORM, 0), h1.pointer(), 1, H, eps);
        ModelKernels.gemv(stream, w.pointer(Part.LM_HEAD, 0), h1.pointer(), logits1.pointer(), s.vocab(), H,
                ModelKernels.GemvOut.F32);
        ModelKernels.argmax(stream, logits1.pointer(), s.vocab(), ids1.pointer());
        ModelKernels.advance(stream, pos.pointer(), 1);
    }

    /** The stream the decoder's work runs on (for timing with events). */
    public Stream stream() {
        return stream;
    }

    /** The GEMM object (its plans and workspace), for the benchmark. */
    public Matmul matmul() {
        return matmul;
    }

    /** Frees the KV cache and the buffers (not the weights). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.makeCurrent();
        try {
            stream.synchronize();
        } finally {
            if (decodeGraph != null) {
                decodeGraph.close();
            }
            if (sparse != null) {
                sparse.close();
            }
            for (DeviceBuffer b : owned) {
                b.close();
            }
            matmul.close();
            stream.close();
        }
    }
}
