package org.seerjava.reference;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Sequence pooling per block of tokens (docs/SPEC.md §2.3): for each block i covering tokens
 * {@code [i·B, min((i+1)·B, N))}, each pooling function f reduces the block's real tokens channel by channel, and
 * the results are concatenated in max, min, avg order:
 * <pre>
 *   out[b, i, h, f·D + d] = f_{t ∈ block i} x[b, t, h, d]
 * </pre>
 * This is PyTorch's {@code max_pool3d / avg_pool3d} with kernel = stride = (B, 1, 1) and {@code ceil_mode=True}:
 * nb = ceil(N/B) blocks, a partial last block averages over its real tokens only. A sequence shorter than one
 * block is one partial block (the decode-gate patch; official prefill {@code avg_pool3d} would raise).
 */
public final class Pooling {
    private Pooling() {
    }

    /**
     * Checks the sizes and pooling functions of a pooling call and returns the element count of its output,
     * {@code batch · nb · heads · dim · pools.size()}.
     *
     * @throws IllegalArgumentException on a size ≤ 0, or pooling functions that are empty, repeated or null
     */
    public static long outputElements(int batch, int seqLen, int heads, int dim, int blockSize, List<Pool> pools) {
        Checks.positive("batch", batch);
        Checks.positive("seqLen", seqLen);
        Checks.positive("heads", heads);
        Checks.positive("dim", dim);
        Checks.positive("blockSize", blockSize);
        if (pools == null || pools.isEmpty()) {
            throw new IllegalArgumentException("pools must name at least one pooling function");
        }
        Set<Pool> distinct = EnumSet.noneOf(Pool.class);
        for (Pool p : pools) {
            if (p == null || !distinct.add(p)) {
                throw new IllegalArgumentException("pools must be distinct and non-null, got " + pools);
            }
        }
        return (long) batch * Math.ceilDiv(seqLen, blockSize) * heads * dim * pools.size();
    }

    /**
     * Pools {@code x [batch, seqLen, heads, dim]} into {@code out [batch, nb, heads, dim·pools.size()]}.
     *
     * @throws IllegalArgumentException on non-positive sizes, wrong array lengths, an empty, repeated or null
     *     pooling function, or NaN input
     */
    public static void pool(double[] x, double[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                            List<Pool> pools) {
        long outElements = outputElements(batch, seqLen, heads, dim, blockSize, pools);
        Checks.allFinite("x", Checks.length("x", x, (long) batch * seqLen * heads * dim));
        Checks.length("out", out, outElements);
        int nb = Math.ceilDiv(seqLen, blockSize);
        int features = dim * pools.size();

        for (int b = 0; b < batch; b++) {
            for (int block = 0; block < nb; block++) {
                int first = block * blockSize;
                int end = Math.min(first + blockSize, seqLen);
                for (int h = 0; h < heads; h++) {
                    int outBase = ((b * nb + block) * heads + h) * features;
                    for (int f = 0; f < pools.size(); f++) {
                        for (int d = 0; d < dim; d++) {
                            out[outBase + f * dim + d] = reduce(pools.get(f), x, b, first, end, h, d, seqLen, heads, dim);
                        }
                    }
                }
            }
        }
    }

    private static double reduce(Pool pool, double[] x, int b, int first, int end, int h, int d,
                                 int seqLen, int heads, int dim) {
        double acc = switch (pool) {
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
            case AVG -> 0.0;
        };
        for (int t = first; t < end; t++) {
            double value = x[((b * seqLen + t) * heads + h) * dim + d];
            acc = switch (pool) {
                case MAX -> Math.max(acc, value);
                case MIN -> Math.min(acc, value);
                case AVG -> acc + value;
            };
        }
        return pool == Pool.AVG ? acc / (end - first) : acc;
    }
}
