package org.seerjava.model;

import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/**
 * How one layer of the model computes causal self-attention: dense through an {@link Engine}, or SeerAttention
 * (gate scores, block selection, block-sparse attention), or a recording wrapper used by gate distillation.
 *
 * <p>{@link LlamaModel#forward(int[], AttentionPolicy)} calls {@link #attend} once per layer, in layer order, on the
 * thread that called {@code forward}. Batch is 1: every tensor is laid out {@code [1, N, H, D]}.
 */
@FunctionalInterface
public interface AttentionPolicy {

    /**
     * Computes the attention output of one layer.
     *
     * @param layer the layer index, 0 ≤ layer &lt; {@code num_hidden_layers}
     * @param in    the layer's projections (pre- and post-RoPE q and k, v) and the scale; must not be modified
     * @param out   receives the attention output {@code [1, N, Hq, D]} (before {@code o_proj}); its previous
     *              content is unspecified
     */
    void attend(int layer, LayerAttention in, float[] out);

    /**
     * Dense causal attention: {@code engine.denseCausal(q, k, v, out, shape, scale)} on the post-RoPE q, k.
     *
     * @param engine the engine that computes it
     * @return the policy
     */
    static AttentionPolicy dense(Engine engine) {
        if (engine == null) {
            throw new IllegalArgumentException("engine must not be null");
        }
        return new AttentionPolicy() {
            @Override
            public void attend(int layer, LayerAttention in, float[] out) {
                engine.denseCausal(in.q(), in.k(), in.v(), out, in.shape(), in.scale());
            }

            @Override
            public String toString() {
                return "dense(" + engine.name() + ")";
            }
        };
    }

    /**
     * Dense causal attention on the engine chosen by {@code -Dseer.backend} (default: the fastest available).
     *
     * @return the policy
     */
    static AttentionPolicy dense() {
        return dense(Engines.fromSystemProperty());
    }
}
