package org.seerjava.reference.decode;

import org.seerjava.reference.Checks;

/**
 * How decode gate scores become a block selection (docs/SPEC.md §7.4, {@code seerattn_sparsity_method}). The official
 * decode path has no {@code nz_ratio} rule.
 */
public sealed interface DecodeSelectionRule {

    /**
     * {@code token_budget}: keep {@code block_budget = tokenBudget / B} blocks per KV head, the top-k of the scores
     * (every allowed block when nb ≤ block_budget). A budget below one block keeps only the forced blocks.
     *
     * @param tokenBudget tokens to attend to (official evaluation default 4096), &gt; 0
     */
    record TokenBudget(int tokenBudget) implements DecodeSelectionRule {
        public TokenBudget {
            Checks.positive("tokenBudget", tokenBudget);
        }

        /** block_budget = tokenBudget / B (integer division, as {@code token_budget // B}). */
        public int blockBudget(int blockSize) {
            Checks.positive("blockSize", blockSize);
            return tokenBudget / blockSize;
        }
    }

    /**
     * {@code threshold}: keep a block when its softmax score is strictly above the threshold.
     *
     * @param threshold in [0, 1] (official default 0.0; the paper's ablation uses 2e-3 … 6e-3)
     */
    record Threshold(double threshold) implements DecodeSelectionRule {
        public Threshold {
            Checks.finite("threshold", threshold);
            if (threshold < 0 || threshold > 1) {
                throw new IllegalArgumentException("threshold must be in [0, 1], got " + threshold);
            }
        }
    }
}
