package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.decode.SparseDecodeAttention;

/**
 * Block-sparse decode attention ({@link SparseDecodeAttention}) in float32 over keys and values held in a
 * {@link MemorySegment}: a native KV cache (the runtime's) or Java arrays wrapped with {@link MemorySegment#ofArray}.
 *
 * <p>For one query token and one KV head, the g query heads of its group walk the visited blocks together — the
 * selected ones and the first block holding a real token — so each cached key and value is read once for the group:
 * <pre>
 *   s[a, c] = scale · q[a] · K[c]                  c in the visited blocks, first ≤ c &lt; end
 *   w[a, c] = e^(s[a, c] − max_c s[a, ·]) / Σ_c e^(s[a, c] − max s[a, ·])
 *   out[a]  = Σ_c w[a, c] · V[c]
 * </pre>
 * (the two-pass form of the reference's block-by-block online softmax: the same value up to rounding). Dot products
 * and the value update are vectorised over D; exponentials are {@link VectorMath#exp(float)}, sums in a fixed order,
 * so results do not depend on the thread count. Work is split over (sequence or row, KV head).
 */
public final class CpuSparseDecodeAttention {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private CpuSparseDecodeAttention() {
    }

    /** Per-thread score scratch, grown on demand. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    /**
     * Where a sequence's cached keys and values are: key c of KV head kh at float index
     * {@code kBase + c·stride + kh·D} of {@code k}, its value likewise in {@code v}.
     *
     * @param k      the keys
     * @param kBase  float index of key 0, head 0
     * @param v      the values
     * @param vBase  float index of value 0, head 0
     * @param stride floats from one position to the next (Hkv·D for a packed cache)
     */
    public record Cache(MemorySegment k, long kBase, MemorySegment v, long vBase, long stride) {
    }

    /**
     * One query token over one sequence's cache: keys {@code [first, end)} are real; block n (positions
     * {@code [n·B, (n+1)·B)}) is visited when {@code mask[maskBase + kh·maskStride + n]} is set or it is the first
     * real block {@code first / B}. Query head h reads KV head {@code h / (Hq / Hkv)}; {@code q[qBase + h·D …]} and
     * {@code out[outBase + h·D …]}. Parallel over the KV heads. Arguments are not checked here (the engine checks
     * them with {@link org.seerjava.reference.engine.EngineArgs}; the runtime passes its own cache).
     */
    public static void attend(float[] q, int qBase, Cache cache, int first, int end, boolean[] mask, int maskBase,
                              int maskStride, int qHeads, int kvHeads, int d, int blockSize, float scale, float[] out,
                              int outBase) {
        Parallel.forEach(kvHeads, kh -> attendGroup(q, qBase, cache, first, end, mask, maskBase + kh * maskStride,
                qHeads, kvHeads, kh, d, blockSize, scale, out, outBase));
    }

    /** {@link org.seerjava.reference.engine.DecodeOps#sparseDecode} on validated arrays. */
    static void forward(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask, float[] out,
                        AttentionShape shape, int blockSize, double scale) {
        int lmax = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int nb = shape.blocks(blockSize);
        MemorySegment k = MemorySegment.ofArray(kCache);
        MemorySegment v = MemorySegment.ofArray(vCache);
        Parallel.forEach(shape.batch() * hkv, task -> {
            int b = task / hkv;
            int kh = task % hkv;
            long base = (long) b * lmax * hkv * d;
            attendGroup(q, b * hq * d, new Cache(k, base, v, base, (long) hkv * d), lmax - cacheSeqLens[b], lmax,
                    mask, (b * hkv + kh) * nb, hq, hkv, kh, d, blockSize, (float) scale, out, b * hq * d);
        });
    }

    /** {@link org.seerjava.reference.engine.DecodeOps#sparseDecodeRows} on validated arrays: parallel over (row, KV head). */
    static void forwardRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out,
                            AttentionShape shape, int blockSize, double scale) {
        int n = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int nb = shape.blocks(blockSize);
        Cache cache = new Cache(MemorySegment.ofArray(k), 0, MemorySegment.ofArray(v), 0, (long) hkv * d);
        int rows = n - from;
        // the longest rows first, so that the short ones even out the finish
        Parallel.forEach(rows * hkv, task -> {
            int t = n - 1 - task / hkv;
            int kh = task % hkv;
            attendGroup(q, t * hq * d, cache, 0, t + 1, mask, ((t - from) * hkv + kh) * nb, hq, hkv, kh, d,
                    blockSize, (float) scale, out, t * hq * d);
        });
    }

    /** The g query heads of KV head kh for one token (see {@link #attend}); mask row at {@code maskRow}. */
    static void attendGroup(float[] q, int qBase, Cache cache, int first, int end, boolean[] mask, int maskRow,
                            int qHeads, int kvHeads, int kh, int d, int blockSize, float scale, float[] out,
                            int outBase) {
        int g = qHeads / kvHeads;
        int firstBlock = first / blockSize;
        int lastBlock = (end - 1) / blockSize;
        int visited = 0;
        for (int n = firstBlock; n <= lastBlock; n++) {
            if (n == firstBlock || mask[maskRow + n]) {
                visited += Math.min((n + 1) * blockSize, end) - Math.max(n * blockSize, first);
            }
        }
        float[][] holder = SCRATCH.get();
        if (holder[0].length < g * visited + g * d) {
            holder[0] = new float[g * visited + g * d];
        }
        float[] s = holder[0];
        int accBase = g * visited;
        MemorySegment ks = cache.k();
        MemorySegment vs = cache.v();
        long kHead = cache.kBase() + (long) kh * d;
        long vHead = cache.vBase() + (long) kh * d;
        int qHead = qBase + kh * g * d;

        int at = 0;
        for (int n = firstBlock; n <= lastBlock; n++) {
            if (n != firstBlock && !mask[maskRow + n]) {
                continue;
            }
            int to = Math.min((n + 1) * blockSize, end);
            for (int c = Math.max(n * blockSize, first); c < to; c++, at++) {
                long byteOff = (kHead + c * cache.stride()) * 4;
                for (int a = 0; a < g; a++) {
                    s[a * visited + at] = scale * dot(q, qHead + a * d, ks, byteOff, d);
                }
            }
        }
        float[] sums = new float[g];
        for (int a = 0; a < g; a++) {
            int row = a * visited;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < visited; i++) {
                max = Math.max(max, s[row + i]);
            }
            float z = 0f;
            for (int i = 0; i < visited; i++) {
                float e = VectorMath.exp(s[row + i] - max);
                s[row + i] = e;
                z += e;
            }
            sums[a] = z;
            java.util.Arrays.fill(s, accBase + a * d, accBase + (a + 1) * d, 0f);
        }
        at = 0;
        for (int n = firstBlock; n <= lastBlock; n++) {
            if (n != firstBlock && !mask[maskRow + n]) {
                continue;
            }
            int to = Math.min((n + 1) * blockSize, end);
            for (int c = Math.max(n * blockSize, first); c < to; c++, at++) {
                long byteOff = (vHead + c * cache.stride()) * 4;
                for (int a = 0; a < g; a++) {
                    axpy(s[a * visited + at], vs, byteOff, s, accBase + a * d, d);
                }
            }
        }
        for (int a = 0; a < g; a++) {
            float inv = 1f / sums[a];
            int o = outBase + (kh * g + a) * d;
            for (int c = 0; c < d; c++) {
                out[o + c] = s[accBase + a * d + c] * inv;
            }
        }
    }

    private static float dot(float[] q, int qOff, MemorySegment k, long byteOff, int d) {
        int vec = d - d % L;
        float s = 0f;
        if (vec > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < vec; c += L) {
                acc = FloatVector.fromArray(F, q, qOff + c)
                        .fma(FloatVector.fromMemorySegment(F, k, byteOff + 4L * c, ByteOrder.nativeOrder()), acc);
            }
            s = VectorMath.sum(acc);
        }
        for (int c = vec; c < d; c++) {
            s = Math.fma(q[qOff + c], k.get(FLOAT, byteOff + 4L * c), s);
        }
        return s;
    }

    /** acc[off …] += w · V (d floats at byteOff). */
    private static void axpy(float w, MemorySegment v, long byteOff, float[] acc, int off, int d) {
        int vec = d - d % L;
        if (vec > 0) {
            FloatVector wv = FloatVector.broadcast(F, w);
            for (int c = 0; c < vec; c += L) {
                FloatVector.fromMemorySegment(F, v, byteOff + 4L * c, ByteOrder.nativeOrder())
                        .fma(wv, FloatVector.fromArray(F, acc, off + c)).intoArray(acc, off + c);
            }
        }
        for (int c = vec; c < d; c++) {
            acc[off + c] = Math.fma(v.get(FLOAT, byteOff + 4L * c), w, acc[off + c]);
        }
    }
}
