package org.seerjava.gpu.llm;

import java.util.List;
import org.seerjava.reference.SelectionRule;

/** How a {@link Decoder}'s prefill computes attention in every layer. */
public sealed interface DecoderAttention {
    /** Dense causal attention (the warpgroup-MMA kernel on Hopper). */
    record Dense() implements DecoderAttention {
    }

    /**
     * SeerAttention: per layer, the gate pools the pre-RoPE q and k per block, scores block pairs, the rule keeps
     * blocks, and the block-sparse kernel computes only those.
     *
     * @param gates one gate per layer
     * @param rule  threshold or top-k
     */
    record Seer(List<LayerGate> gates, SelectionRule rule) implements DecoderAttention {
        public Seer {
            gates = List.copyOf(gates);
            if (rule == null) {
                throw new IllegalArgumentException("SeerAttention needs a selection rule");
            }
        }
    }

    static DecoderAttention dense() {
        return new Dense();
    }
}
