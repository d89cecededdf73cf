package org.seerjava.tornado.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Sequence pooling per block, the kernel form of {@link org.seerjava.reference.Pooling#pool}: for block i covering
 * tokens {@code [i·B, min((i+1)·B, N))} and each pooling function f of {@code pools} (max, min, avg in that order),
 * <pre>
 *   out[b, i, h, f·D + d] = f_{t ∈ block i} x[b, t, h, d]
 * </pre>
 * One work-item per output channel (b, i, h, d); a partial last block reduces, and averages over, its real tokens.
 * CUDA form: {@code pool_f32} in {@code gpu/.../kernels/ops_fp32.cu}.
 */
public final class Pooling {
    /** Bit of {@code pools} for max pooling. */
    public static final int MAX = 1;
    /** Bit of {@code pools} for min pooling. */
    public static final int MIN = 2;
    /** Bit of {@code pools} for average pooling. */
    public static final int AVG = 4;

    private Pooling() {
    }

    /**
     * Pools {@code x [batch, seqLen, heads, dim]} into {@code out [batch, nb, heads, dim·npools]}.
     *
     * @param pools  bit set of {@link #MAX}, {@link #MIN}, {@link #AVG}
     * @param npools number of bits set in {@code pools}
     */
    public static void pool(FloatArray x, FloatArray out, int batch, int seqLen, int heads, int dim, int blockSize,
                            int pools, int npools) {
        int nb = (seqLen + blockSize - 1) / blockSize;
        for (@Parallel int i = 0; i < batch * nb * heads * dim; i++) {
            int d = i % dim;
            int h = (i / dim) % heads;
            int block = (i / (dim * heads)) % nb;
            int b = i / (dim * heads * nb);
            int first = block * blockSize;
            int end = TornadoMath.min(first + blockSize, seqLen);
            float max = Float.NEGATIVE_INFINITY;
            float min = Float.POSITIVE_INFINITY;
            float sum = 0f;
            for (int t = first; t < end; t++) {
                float value = x.get(((b * seqLen + t) * heads + h) * dim + d);
                max = TornadoMath.max(max, value);
                min = TornadoMath.min(min, value);
                sum += value;
            }
            int base = ((b * nb + block) * heads + h) * dim * npools + d;
            int f = 0;
            if ((pools & MAX) != 0) {
                out.set(base, max);
                f++;
            }
            if ((pools & MIN) != 0) {
                out.set(base + f * dim, min);
                f++;
            }
            if ((pools & AVG) != 0) {
                out.set(base + f * dim, sum / (end - first));
            }
        }
    }
}
