package org.seerjava.gate;

import org.seerjava.reference.RopeConfig;

/**
 * The attention dimensions of a model that its gates depend on.
 *
 * @param layers  decoder layers
 * @param qHeads  query heads
 * @param kvHeads key/value heads
 * @param headDim head dimension
 * @param rope    the model's RoPE (θ and scaling; the gate uses them with rotary dim = gate hidden)
 */
public record ModelDims(int layers, int qHeads, int kvHeads, int headDim, RopeConfig rope) {
    public ModelDims {
        if (layers <= 0 || qHeads <= 0 || kvHeads <= 0 || headDim <= 0 || rope == null) {
            throw new IllegalArgumentException("model dims need positive layers/heads/head_dim and a rope config");
        }
    }

    /** The dimensions of a loaded model's config. */
    public static ModelDims of(org.seerjava.model.LlamaConfig c) {
        return new ModelDims(c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim(), c.rope());
    }

    /** The gate spec of this model for a gate type, block size and gate hidden size. */
    public GateSpec spec(org.seerjava.reference.GateType type, int blockSize, int hiddenSize) {
        return GateSpec.of(type, blockSize, hiddenSize, layers, qHeads, kvHeads, headDim, rope);
    }
}
