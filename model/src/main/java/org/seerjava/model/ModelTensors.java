package org.seerjava.model;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every weight of a decoder, found by the names of its {@link ModelFamily} and checked against its
 * {@link LlamaConfig} (presence, shape, dtype) before anything large is allocated. The tensors stay in their stored
 * dtype ({@link WeightTensor}); {@link LlamaModel} widens them to float32 on the heap, the runtime sessions read them
 * where they are.
 *
 * @param config    the configuration the tensors were checked against
 * @param embed     {@code embed_tokens [vocab, hidden]}
 * @param layers    the decoder layers, in order
 * @param finalNorm the final RMSNorm weight {@code [hidden]}
 * @param lmHead    {@code lm_head [vocab, hidden]}; the same tensor as {@code embed} when the embeddings are tied
 */
public record ModelTensors(LlamaConfig config, WeightTensor embed, List<LayerTensors> layers, WeightTensor finalNorm,
                           WeightTensor lmHead) {

    /** Copies the layer list. */
    public ModelTensors {
        layers = List.copyOf(layers);
    }

    /**
     * The tensors of one decoder layer. Biases and q/k norms are null where the model has none.
     *
     * @param inputNorm {@code input_layernorm [hidden]}
     * @param q         {@code q_proj [Hq·D, hidden]}
     * @param qBias     {@code [Hq·D]} or null
     * @param k         {@code k_proj [Hkv·D, hidden]}
     * @param kBias     {@code [Hkv·D]} or null
     * @param v         {@code v_proj [Hkv·D, hidden]}
     * @param vBias     {@code [Hkv·D]} or null
     * @param o         {@code o_proj [hidden, Hq·D]}
     * @param oBias     {@code [hidden]} or null
     * @param qNorm     per-head query RMSNorm {@code [D]} (Qwen3) or null
     * @param kNorm     per-head key RMSNorm {@code [D]} (Qwen3) or null
     * @param postNorm  {@code post_attention_layernorm [hidden]}
     * @param gate      {@code gate_proj [intermediate, hidden]}
     * @param up        {@code up_proj [intermediate, hidden]}
     * @param down      {@code down_proj [hidden, intermediate]}
     */
    public record LayerTensors(WeightTensor inputNorm, WeightTensor q, WeightTensor qBias, WeightTensor k,
                               WeightTensor kBias, WeightTensor v, WeightTensor vBias, WeightTensor o,
                               WeightTensor oBias, WeightTensor qNorm, WeightTensor kNorm, WeightTensor postNorm,
                               WeightTensor gate, WeightTensor up, WeightTensor down) {
    }

    /**
     * Finds and checks every tensor of the model. Biases are used when the family and config call for them or
     * when the weights hold them (layer 0 decides); q/k norms when the family has them.
     *
     * @param config  the configuration
     * @param weights the open weights
     * @return the tensors
     * @throws IllegalArgumentException naming the tensor, the file and the expected shape when a tensor is missing,
     *                                  has the wrong shape or an unsupported dtype, or when the weights hold more
     *                                  or fewer layers than {@code num_hidden_layers} (checked first, before anything
     *                                  is sized by the layer count)
     */
    public static ModelTensors bind(LlamaConfig config, ModelWeights weights) {
        ModelFamily family = config.family();
        long h = config.hiddenSize();
        long qd = config.qDim();
        long kvd = config.kvDim();
        long im = config.intermediateSize();
        long vocab = config.vocabSize();
        long d = config.headDim();
        int n = config.numHiddenLayers();
        String extra = family.layer(n).inputNorm();
        if (weights.contains(extra)) {
            throw new IllegalArgumentException(weights.where(extra) + ": the weights hold tensor " + extra
                    + ", but num_hidden_layers = " + n + " in config.json: the config and the weights disagree");
        }
        String last = family.layer(n - 1).inputNorm();
        if (!weights.contains(last)) {          // before anything is sized by n: a config may claim 2^31 − 1 layers
            throw new IllegalArgumentException(weights.where(last) + ": tensor " + last + " is missing, but num_hidden_layers = "
                    + n + " in config.json: the config and the weights disagree");
        }
        WeightTensor embed = weights.require(family.embedTokens(), vocab, h);
        ModelFamily.LayerNames first = family.layer(0);
        boolean qkvBias = config.qkvBias() || weights.contains(first.q() + ".bias");
        boolean oBias = config.oBias() || weights.contains(first.o() + ".bias");
        List<LayerTensors> layers = new ArrayList<>();
        for (int l = 0; l < n; l++) {
            ModelFamily.LayerNames names = family.layer(l);
            layers.add(new LayerTensors(
                    weights.require(names.inputNorm(), h),
                    weights.require(names.q() + ".weight", qd, h),
                    qkvBias ? weights.require(names.q() + ".bias", qd) : null,
                    weights.require(names.k() + ".weight", kvd, h),
                    qkvBias ? weights.require(names.k() + ".bias", kvd) : null,
                    weights.require(names.v() + ".weight", kvd, h),
                    qkvBias ? weights.require(names.v() + ".bias", kvd) : null,
                    weights.require(names.o() + ".weight", h, qd),
                    oBias ? weights.require(names.o() + ".bias", h) : null,
                    family.qkNorm() ? weights.require(names.qNorm(), d) : null,
                    family.qkNorm() ? weights.require(names.kNorm(), d) : null,
                    weights.require(names.postNorm(), h),
                    weights.require(names.gate() + ".weight", im, h),
                    weights.require(names.up() + ".weight", im, h),
                    weights.require(names.down() + ".weight", h, im)));
        }
        WeightTensor norm = weights.require(family.finalNorm(), h);
        WeightTensor head = config.tieWordEmbeddings() ? embed : weights.require(family.lmHead(), vocab, h);
        return new ModelTensors(config, embed, layers, norm, head);
    }

    /**
     * Whether lm_head is the embedding matrix.
     *
     * @return true when tied
     */
    public boolean tied() {
        return lmHead == embed;
    }

    /**
     * Bytes of all the model's weights as stored, each tensor counted once (a tied lm_head once).
     *
     * @return the byte count
     */
    public long byteSize() {
        Map<WeightTensor, Boolean> seen = new IdentityHashMap<>();
        long sum = 0;
        for (WeightTensor t : all()) {
            if (t != null && seen.put(t, Boolean.TRUE) == null) {
                sum = Math.addExact(sum, t.byteSize());
            }
        }
        return sum;
    }

    /**
     * Elements of all the model's weights, each tensor counted once (a tied lm_head once).
     *
     * @return the element count
     */
    public long elementCount() {
        Map<WeightTensor, Boolean> seen = new IdentityHashMap<>();
        long sum = 0;
        for (WeightTensor t : all()) {
            if (t != null && seen.put(t, Boolean.TRUE) == null) {
                sum = Math.addExact(sum, t.elementCount());
            }
        }
        return sum;
    }

    /**
     * Bytes read from the weights to decode one token: every layer's weights, the final norm and lm_head, but
     * only one row of the embedding (when untied).
     *
     * @return the byte count
     */
    public long bytesPerDecodedToken() {
        long sum = byteSize();
        if (!tied()) {
            sum -= embed.byteSize() - embed.byteSize() / config.vocabSize();
        }
        return sum;
    }

    /** Every tensor, lm_head after the layers (the same object as embed when tied), null entries where absent. */
    List<WeightTensor> all() {
        List<WeightTensor> list = new ArrayList<>();
        list.add(embed);
        for (LayerTensors l : layers) {
            list.addAll(java.util.Arrays.asList(l.inputNorm, l.q, l.qBias, l.k, l.kBias, l.v, l.vBias, l.o, l.oBias,
                    l.qNorm, l.kNorm, l.postNorm, l.gate, l.up, l.down));
        }
        list.add(finalNorm);
        list.add(lmHead);
        return list;
    }
}
