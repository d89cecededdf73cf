package org.seerjava.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * Gate scores {@code [rows = B·H·nb, nb]} to a block mask, the kernel form of
 * {@link org.seerjava.reference.BlockSelection#select}: the rule ({@link #threshold} or {@link #topK}), then
 * {@code lastBlockDense} (rows nb−2 and nb−1 whole), the causal lower triangle (j ≤ i) and {@code keepDiagonal}.
 * CUDA forms: {@code select_threshold} and {@code select_topk} in {@code ops_fp32.cu}.
 */
public final class BlockSelection {
    /** Work-items per row of {@link #topK}. */
    public static final int TOPK_THREADS = 64;
    /** Largest nb {@link #topK} holds in local memory (16 KB). */
    public static final int TOPK_MAX_BLOCKS = 4096;

    private BlockSelection() {
    }

    /**
     * Keeps (i, j) when {@code score > threshold}, compared in float64 as the reference compares, then the three
     * rules above; one work-item per mask entry.
     */
    public static void threshold(FloatArray scores, ByteArray mask, int rows, int nb, double threshold,
                                 int lastBlockDense, int keepDiagonal) {
        for (@Parallel int i = 0; i < rows * nb; i++) {
            int kBlock = i % nb;
            int qBlock = (i / nb) % nb;
            boolean keep = (double) scores.get(i) > threshold;
            mask.set(i, finish(keep, qBlock, kBlock, nb, lastBlockDense, keepDiagonal));
        }
    }

    /**
     * Keeps the k highest scores of each row, ties to the lower block index (the reference's k rounds of argmax):
     * entry j is kept when fewer than k entries x beat it, {@code s_x > s_j} or {@code s_x = s_j} with x &lt; j.
     * One work-group of {@link #TOPK_THREADS} per row; the row is staged in local memory and every work-item ranks
     * the entries {@code j ≡ localId (mod TOPK_THREADS)} against it. With {@code causal = 1} the scores must be the
     * gate's block-causal logits (−float32 max above the diagonal, finite below): then only j, x ≤ i can matter (a
     * masked entry never beats a real one, and j &gt; i is dropped anyway), and only those are ranked.
     */
    public static void topK(KernelContext context, FloatArray scores, ByteArray mask, int nb, int k,
                            int lastBlockDense, int keepDiagonal, int causal) {
        float[] row = context.allocateFloatLocalArray(TOPK_MAX_BLOCKS);
        int r = context.groupIdx;
        int tid = context.localIdx;
        int qBlock = r % nb;
        int base = r * nb;
        for (int j = tid; j < nb; j += TOPK_THREADS) {
            row[j] = scores.get(base + j);
        }
        context.localBarrier();
        int limit = causal != 0 ? qBlock + 1 : nb;
        for (int j = tid; j < nb; j += TOPK_THREADS) {
            float sj = row[j];
            int rank = 0;                                 // (starting j ≥ limit at rank k instead made a branch
            for (int x = 0; x < limit && rank < k; x++) { // that TornadoVM 5.2.0's PTX backend miscompiled)
                float sx = row[x];
                if (sx > sj || (sx == sj && x < j)) {
                    rank++;
                }
            }
            boolean keep = rank < k && j < limit;
            mask.set(base + j, finish(keep, qBlock, j, nb, lastBlockDense, keepDiagonal));
        }
    }

    /** lastBlockDense, the causal triangle and keepDiagonal applied to the rule's decision for (i, j). */
    private static byte finish(boolean keep, int qBlock, int kBlock, int nb, int lastBlockDense, int keepDiagonal) {
        boolean kept = keep || (lastBlockDense != 0 && qBlock >= nb - 2);
        if (kBlock > qBlock) {
            kept = false;
        }
        if (keepDiagonal != 0 && kBlock == qBlock) {
            kept = true;
        }
        return kept ? (byte) 1 : (byte) 0;
    }
}
