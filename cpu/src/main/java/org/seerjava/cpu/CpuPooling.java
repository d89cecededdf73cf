package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.util.List;
import jdk.incubator.vector.FloatVector;
import org.seerjava.reference.Pool;

/**
 * Sequence pooling per block ({@link org.seerjava.reference.Pooling}), vectorised over channels: one pass over a
 * block's tokens updates the max, min and sum vectors together; parallel over the blocks of every sequence.
 */
final class CpuPooling {
    private CpuPooling() {
    }

    /** Pools validated {@code x [batch, seqLen, heads, dim]} into {@code out [batch, nb, heads, dim·pools]}. */
    static void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        pool(x, out, Sequences.uniform(batch, seqLen, blockSize), heads, dim, pools);
    }

    /**
     * Pools the validated packed rows {@code x [total, heads, dim]} of the sequences {@code seqs} into
     * {@code out [Σ nb_s, heads, dim·pools]}, each sequence's blocks cut from its first token.
     */
    static void pool(float[] x, float[] out, Sequences seqs, int heads, int dim, List<Pool> pools) {
        int blockSize = seqs.blockSize();
        int features = dim * pools.size();
        int fMax = pools.indexOf(Pool.MAX);
        int fMin = pools.indexOf(Pool.MIN);
        int fAvg = pools.indexOf(Pool.AVG);
        Parallel.forEach(seqs.totalBlocks(), block -> {
            int s = seqs.sequenceOfBlock(block);
            int first = seqs.start(s) + (block - seqs.blockStart(s)) * blockSize;   // its first token row
            int end = Math.min(first + blockSize, seqs.start(s) + seqs.length(s));
            float invCount = 1f / (end - first);
            int stride = heads * dim;
            int bound = F.loopBound(dim);
            for (int h = 0; h < heads; h++) {
                int in0 = (first * heads + h) * dim;
                int outBase = (block * heads + h) * features;
                int d = 0;
                for (; d < bound; d += L) {
                    FloatVector v = FloatVector.fromArray(F, x, in0 + d);
                    FloatVector mx = v;
                    FloatVector mn = v;
                    FloatVector sum = v;
                    for (int t = first + 1, at = in0 + stride + d; t < end; t++, at += stride) {
                        FloatVector w = FloatVector.fromArray(F, x, at);
                        mx = mx.max(w);
                        mn = mn.min(w);
                        sum = sum.add(w);
                    }
                    if (fMax >= 0) {
                        mx.intoArray(out, outBase + fMax * dim + d);
                    }
                    if (fMin >= 0) {
                        mn.intoArray(out, outBase + fMin * dim + d);
                    }
                    if (fAvg >= 0) {
                        sum.mul(invCount).intoArray(out, outBase + fAvg * dim + d);
                    }
                }
                for (; d < dim; d++) {
                    float mx = Float.NEGATIVE_INFINITY;
                    float mn = Float.POSITIVE_INFINITY;
                    float sum = 0f;
                    for (int t = first, at = in0 + d; t < end; t++, at += stride) {
                        float w = x[at];
                        mx = Math.max(mx, w);
                        mn = Math.min(mn, w);
                        sum += w;
                    }
                    if (fMax >= 0) {
                        out[outBase + fMax * dim + d] = mx;
                    }
                    if (fMin >= 0) {
                        out[outBase + fMin * dim + d] = mn;
                    }
                    if (fAvg >= 0) {
                        out[outBase + fAvg * dim + d] = sum * invCount;
                    }
                }
            }
        });
    }
}
