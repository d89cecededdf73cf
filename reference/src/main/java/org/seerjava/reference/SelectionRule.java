package org.seerjava.reference;

/**
 * How gate scores become a block mask (docs/SPEC.md §3). Both rules then apply {@code lastBlockDense} (the last two
 * query-block rows kept whole), the causal lower triangle (j ≤ i) and, optionally, the diagonal block.
 */
public sealed interface SelectionRule {

    /** Keep the last two query-block rows dense (official default {@code seerattn_last_block_dense = True}). */
    boolean lastBlockDense();

    /**
     * Add the diagonal block to every row. Off in the official code (a threshold row may then be empty, and its
     * output is zero here); on in the tiny model's evaluation rule.
     */
    boolean keepDiagonal();

    /**
     * {@code mask = score > threshold} on softmax scores.
     *
     * @param threshold strict lower bound on a block's gate probability, in [0, 1]
     */
    record Threshold(double threshold, boolean lastBlockDense, boolean keepDiagonal) implements SelectionRule {
        public Threshold {
            Checks.finite("threshold", threshold);
            if (threshold < 0 || threshold > 1) {
                throw new IllegalArgumentException("threshold must be in [0, 1], got " + threshold);
            }
        }
    }

    /**
     * Top-k per row of the raw (or softmax) scores with {@code k = max(1, int((1 − √(1 − nzRatio)) · nb))}: the k
     * that makes the kept fraction of the causal triangle ≈ nzRatio.
     *
     * @param nzRatio target density over the causal triangle, in (0, 1]
     */
    record TopK(double nzRatio, boolean lastBlockDense, boolean keepDiagonal) implements SelectionRule {
        public TopK {
            Checks.finite("nzRatio", nzRatio);
            if (nzRatio <= 0 || nzRatio > 1) {
                throw new IllegalArgumentException("nzRatio must be in (0, 1], got " + nzRatio);
            }
        }

        /** k for a row of {@code blocks} blocks. */
        public int k(int blocks) {
            return BlockSelection.topKCount(nzRatio, blocks);
        }
    }
}
