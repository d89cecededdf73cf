package org.seerjava.runtime;

import org.seerjava.gate.GateSet;
import org.seerjava.gate.GateSpec;
import org.seerjava.model.LlamaConfig;
import org.seerjava.reference.SelectionRule;

/**
 * How a session's prefill computes attention in every layer: dense causal attention, or SeerAttention — the gate
 * scores (pooled pre-RoPE q and k of every 64-token block), a selection rule that keeps key blocks per query block,
 * and block-sparse attention over the kept blocks.
 */
public sealed interface PrefillAttention {

    /** Dense causal attention. */
    record Dense() implements PrefillAttention {
        @Override
        public String toString() {
            return "dense";
        }
    }

    /**
     * SeerAttention with a gate per layer.
     *
     * @param gates the gates (official safetensors naming, e.g. from {@code seer distill})
     * @param rule  how gate scores become a block mask
     */
    record Seer(GateSet gates, SelectionRule rule) implements PrefillAttention {
        /** Checks that both are given. */
        public Seer {
            if (gates == null || rule == null) {
                throw new IllegalArgumentException("SeerAttention needs gates and a selection rule");
            }
        }

        /**
         * Checks that the gates were made for the model.
         *
         * @param config the model's configuration
         * @throws IllegalArgumentException naming both shapes when layers, heads or head_dim differ
         */
        public void requireFits(LlamaConfig config) {
            GateSpec s = gates.spec();
            if (s.layers() != config.numHiddenLayers() || s.qHeads() != config.numAttentionHeads()
                    || s.kvHeads() != config.numKeyValueHeads() || s.headDim() != config.headDim()) {
                throw new IllegalArgumentException("the gates were made for " + s.layers() + " layers, heads "
                        + s.qHeads() + "/" + s.kvHeads() + ", head_dim " + s.headDim() + ", but the model has "
                        + config.numHiddenLayers() + " layers, heads " + config.numAttentionHeads() + "/"
                        + config.numKeyValueHeads() + ", head_dim " + config.headDim());
            }
        }

        @Override
        public String toString() {
            return switch (rule) {
                case SelectionRule.TopK t -> "seer top-k " + t.nzRatio();
                case SelectionRule.Threshold t -> "seer threshold " + t.threshold();
            };
        }
    }

    /**
     * Dense causal attention.
     *
     * @return the choice
     */
    static PrefillAttention dense() {
        return new Dense();
    }

    /**
     * SeerAttention keeping, per query-block row, the top-k key blocks with
     * {@code k = max(1, int((1 − √(1 − density)) · blocks))}, plus the diagonal block (the rule of
     * {@code seer eval}: {@code TopK(density, lastBlockDense = false, keepDiagonal = true)}).
     *
     * @param gates   the gates
     * @param density target fraction of the causal blocks, in (0, 1]
     * @return the choice
     */
    static PrefillAttention topK(GateSet gates, double density) {
        return new Seer(gates, new SelectionRule.TopK(density, false, true));
    }

    /**
     * SeerAttention keeping the key blocks whose gate probability exceeds a threshold, plus the diagonal block
     * ({@code Threshold(τ, lastBlockDense = false, keepDiagonal = true)}).
     *
     * @param gates     the gates
     * @param threshold τ in [0, 1]
     * @return the choice
     */
    static PrefillAttention threshold(GateSet gates, double threshold) {
        return new Seer(gates, new SelectionRule.Threshold(threshold, false, true));
    }
}
