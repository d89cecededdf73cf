package org.seerjava.gpu.llm;

import java.util.List;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * SeerAttention-R for a {@link Decoder}'s decode steps (docs/SPEC.md §7): a decode gate per layer and the rule that
 * turns its scores into a block selection (a token budget or a threshold). Each step, per layer, the token's
 * pre-RoPE key enters the K-compression cache, its pre-RoPE query becomes the gate query, the gate scores the
 * cache's blocks and the rule keeps some, and the token's query heads attend to the kept blocks of their KV head
 * (block 0 and the current block always).
 *
 * @param gates one decode gate per layer, float32 (checked on construction of their {@link DecodeGateWeights})
 * @param rule  token budget or threshold
 */
public record SparseDecode(List<DecodeGateWeights> gates, DecodeSelectionRule rule) {
    public SparseDecode {
        if (gates == null || gates.isEmpty() || rule == null) {
            throw new IllegalArgumentException("sparse decoding needs a decode gate per layer and a selection rule");
        }
        gates = List.copyOf(gates);
    }

    /**
     * Checks that the gates fit a decoder's shape.
     *
     * @throws IllegalArgumentException naming both when the layer count, head counts or head dim differ
     */
    void requireFits(DecoderShape s) {
        if (gates.size() != s.layers()) {
            throw new IllegalArgumentException("sparse decoding needs one decode gate per layer: " + s.layers()
                    + ", got " + gates.size());
        }
        for (int l = 0; l < gates.size(); l++) {
            DecodeGateWeights g = gates.get(l);
            if (g.qHeads() != s.qHeads() || g.kvHeads() != s.kvHeads() || g.headDim() != s.headDim()) {
                throw new IllegalArgumentException("the decode gate of layer " + l + " has heads " + g.qHeads() + "/"
                        + g.kvHeads() + ", head_dim " + g.headDim() + ", but the model has heads " + s.qHeads() + "/"
                        + s.kvHeads() + ", head_dim " + s.headDim());
            }
            if (g.hiddenSize() > 256) {
                throw new IllegalArgumentException("the GPU decode gate takes a hidden size (head_dim) of at most 256,"
                        + " got " + g.hiddenSize());
            }
            if (g.blockSize() != gates.get(0).blockSize()) {
                throw new IllegalArgumentException("the decode gates must share one block size: layer 0 has "
                        + gates.get(0).blockSize() + ", layer " + l + " has " + g.blockSize());
            }
        }
    }

    /** B, the gates' block size. */
    public int blockSize() {
        return gates.get(0).blockSize();
    }
}
