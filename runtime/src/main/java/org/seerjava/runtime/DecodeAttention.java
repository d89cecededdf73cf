package org.seerjava.runtime;

import org.seerjava.gate.DecodeGateSet;
import org.seerjava.gate.DecodeGateSpec;
import org.seerjava.model.LlamaConfig;
import org.seerjava.reference.decode.DecodeSelectionRule;

/**
 * How a session's decode steps attend to the KV cache in every layer: densely, or with SeerAttention-R
 * (docs/SPEC.md §7) — a decode gate per layer scores the K-compressed blocks of the cache for the new token (one gate
 * query per KV head, pooled from its query heads), a rule keeps some of them (a token budget or a threshold), and the
 * token's query heads attend only to the kept blocks of their KV head, the first and the current block always
 * included.
 */
public sealed interface DecodeAttention {

    /** Dense attention to the whole cache. */
    record Dense() implements DecodeAttention {
        @Override
        public String toString() {
            return "dense";
        }
    }

    /**
     * SeerAttention-R with a decode gate per layer.
     *
     * @param gates the decode gates (official naming, e.g. from {@code seer distill-decode})
     * @param rule  a token budget or a threshold
     */
    record Sparse(DecodeGateSet gates, DecodeSelectionRule rule) implements DecodeAttention {
        /** Checks that both are given. */
        public Sparse {
            if (gates == null || rule == null) {
                throw new IllegalArgumentException("sparse decoding needs decode gates and a selection rule");
            }
        }

        /**
         * Checks that the gates were made for the model.
         *
         * @param config the model's configuration
         * @throws IllegalArgumentException naming both shapes when layers, heads or head_dim differ
         */
        public void requireFits(LlamaConfig config) {
            DecodeGateSpec s = gates.spec();
            if (s.layers() != config.numHiddenLayers() || s.qHeads() != config.numAttentionHeads()
                    || s.kvHeads() != config.numKeyValueHeads() || s.headDim() != config.headDim()) {
                throw new IllegalArgumentException("the decode gates were made for " + s.layers() + " layers, heads "
                        + s.qHeads() + "/" + s.kvHeads() + ", head_dim " + s.headDim() + ", but the model has "
                        + config.numHiddenLayers() + " layers, heads " + config.numAttentionHeads() + "/"
                        + config.numKeyValueHeads() + ", head_dim " + config.headDim());
            }
        }

        @Override
        public String toString() {
            return switch (rule) {
                case DecodeSelectionRule.TokenBudget t -> "seer-r token budget " + t.tokenBudget();
                case DecodeSelectionRule.Threshold t -> "seer-r threshold " + t.threshold();
            };
        }
    }

    /**
     * Dense decoding.
     *
     * @return the choice
     */
    static DecodeAttention dense() {
        return new Dense();
    }

    /**
     * Sparse decoding keeping, per KV head, the {@code tokenBudget / B} blocks the gate scores highest (every block
     * while the cache holds no more), plus the first and the current block.
     *
     * @param gates       the decode gates
     * @param tokenBudget tokens to attend to, ≥ 1
     * @return the choice
     */
    static DecodeAttention tokenBudget(DecodeGateSet gates, int tokenBudget) {
        return new Sparse(gates, new DecodeSelectionRule.TokenBudget(tokenBudget));
    }

    /**
     * Sparse decoding keeping the blocks whose gate probability exceeds a threshold, plus the first and the
     * current block.
     *
     * @param gates     the decode gates
     * @param threshold τ in [0, 1]
     * @return the choice
     */
    static DecodeAttention threshold(DecodeGateSet gates, double threshold) {
        return new Sparse(gates, new DecodeSelectionRule.Threshold(threshold));
    }
}
