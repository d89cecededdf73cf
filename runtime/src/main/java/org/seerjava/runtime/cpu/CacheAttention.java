package org.seerjava.runtime.cpu;

import org.seerjava.cpu.Parallel;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.seerjava.cpu.VectorMath;

/**
 * Causal attention of new query rows to the KV cache: row i (position p = first + i) of
 * {@code q [n, Hq, D]} attends to cached positions 0 … p of its key/value head (GQA: query head h reads head
 * {@code h / (Hq / Hkv)}), in float32:
 * <pre>
 *   s_t = scale · q · K[t],   w_t = exp(s_t − max s) / Σ exp(s − max s),   out = Σ_t w_t · V[t]
 * </pre>
 * This is decode (n = 1) and a continuation prefill; the first prefill of a session goes through the CPU engine's
 * attention instead. One task per (row, key/value head) reads each cached key and value once for the query heads
 * of its group. Sums run in a fixed order, so results do not depend on threads.
 */
final class CacheAttention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private CacheAttention() {
    }

    static void attend(KvCache cache, int layer, float[] q, int n, int first, int qHeads, int kvHeads, int d,
                       float scale, float[] out) {
        int group = qHeads / kvHeads;
        MemorySegment kv = cache.segment();
        Parallel.forEach(n * kvHeads, t -> {
            int i = t / kvHeads;
            int g = t % kvHeads;
            int len = first + i + 1;
            float[] s = new float[group * len];
            long kBase = cache.keyIndex(layer, 0) + (long) g * d;
            long vBase = cache.valueIndex(layer, 0) + (long) g * d;
            int kvStride = cache.kvDim;
            for (int pos = 0; pos < len; pos++) {
                long off = (kBase + (long) pos * kvStride) * 4;
                for (int a = 0; a < group; a++) {
                    int qOff = (i * qHeads + g * group + a) * d;
                    s[a * len + pos] = scale * dot(q, qOff, kv, off, d);
                }
            }
            float[] acc = new float[group * d];
            float[] sum = new float[group];
            for (int a = 0; a < group; a++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int pos = 0; pos < len; pos++) {
                    max = Math.max(max, s[a * len + pos]);
                }
                float z = 0;
                for (int pos = 0; pos < len; pos++) {
                    float e = VectorMath.exp(s[a * len + pos] - max);
                    s[a * len + pos] = e;
                    z += e;
                }
                sum[a] = z;
            }
            for (int pos = 0; pos < len; pos++) {
                long off = (vBase + (long) pos * kvStride) * 4;
                for (int a = 0; a < group; a++) {
                    axpy(s[a * len + pos], kv, off, acc, a * d, d);
                }
            }
            for (int a = 0; a < group; a++) {
                int o = (i * qHeads + g * group + a) * d;
                float inv = 1f / sum[a];
                for (int c = 0; c < d; c++) {
                    out[o + c] = acc[a * d + c] * inv;
                }
            }
        });
    }

    private static float dot(float[] q, int qOff, MemorySegment kv, long byteOff, int d) {
        int vec = d - d % L;
        float s = 0;
        if (vec > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < vec; c += L) {
                acc = FloatVector.fromArray(F, q, qOff + c)
                        .fma(FloatVector.fromMemorySegment(F, kv, byteOff + 4L * c, ByteOrder.nativeOrder()), acc);
            }
            s = VectorMath.sum(acc);
        }
        for (int c = vec; c < d; c++) {
            s = Math.fma(q[qOff + c], kv.getAtIndex(KvCache.F, byteOff / 4 + c), s);
        }
        return s;
    }

    /** acc[off …] += w · V (d floats at byteOff). */
    private static void axpy(float w, MemorySegment kv, long byteOff, float[] acc, int off, int d) {
        int vec = d - d % L;
        if (vec > 0) {
            FloatVector wv = FloatVector.broadcast(F, w);
            for (int c = 0; c < vec; c += L) {
                FloatVector.fromMemorySegment(F, kv, byteOff + 4L * c, ByteOrder.nativeOrder())
                        .fma(wv, FloatVector.fromArray(F, acc, off + c)).intoArray(acc, off + c);
            }
        }
        for (int c = vec; c < d; c++) {
            acc[off + c] = Math.fma(kv.getAtIndex(KvCache.F, byteOff / 4 + c), w, acc[off + c]);
        }
    }
}
