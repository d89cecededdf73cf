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

    /**
     * Gate distillation's capture pass: dense attention fused with the pooled attention target (the model's output
     * is that of dense attention), and the pre-RoPE q and k pooled as the gate type asks; one
     * {@link GateTraining.LayerCapture} per layer is appended to {@code sink} (the caller closes them).
     *
     * @param gate the gate configuration (block size 64)
     * @param sink receives the captures, in layer order
     */
    record Capture(org.seerjava.reference.GateConfig gate, List<GateTraining.LayerCapture> sink)
            implements DecoderAttention {
        public Capture {
            if (gate == null || sink == null) {
                throw new IllegalArgumentException("capture needs the gate configuration and a list to fill");
            }
        }
    }

    static DecoderAttention dense() {
        return new Dense();
    }
}
