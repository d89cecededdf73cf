package org.seerjava.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.seerjava.model.LlamaConfig;
import org.seerjava.reference.RopeConfig;

/**
 * A named model configuration, for opening a model with random weights ({@link ModelSource.RandomWeights}) when
 * only the speed matters. The registry holds the shapes of public checkpoints, copied from their
 * {@code config.json}:
 *
 * <table>
 *   <caption>registered shapes</caption>
 *   <tr><th>name</th><th>hidden</th><th>layers</th><th>heads (q/kv)</th><th>head dim</th><th>MLP</th><th>vocab</th><th>RoPE</th></tr>
 *   <tr><td>{@code llama-3.1-8b}</td><td>4096</td><td>32</td><td>32/8</td><td>128</td><td>14336</td><td>128256</td><td>θ 500000, llama3 ×8</td></tr>
 *   <tr><td>{@code llama-3.2-1b}</td><td>2048</td><td>16</td><td>32/8</td><td>64</td><td>8192</td><td>128256 (tied)</td><td>θ 500000, llama3 ×32</td></tr>
 *   <tr><td>{@code tiny-llama-bytes}</td><td>384</td><td>4</td><td>6/2</td><td>64</td><td>1024</td><td>256</td><td>θ 100000</td></tr>
 * </table>
 *
 * @param name   the registry name
 * @param config the configuration
 */
public record ModelShape(String name, LlamaConfig config) {
    private static final Map<String, ModelShape> REGISTRY = new LinkedHashMap<>();

    static {
        register(new ModelShape("llama-3.1-8b", new LlamaConfig("LlamaForCausalLM", 4096, 14336, 32, 32, 8, 128, 1e-5,
                128256, false, false, 131072,
                new RopeConfig(500000.0, 128, new RopeConfig.Scaling.Llama3(8.0, 1.0, 4.0, 8192)))));
        register(new ModelShape("llama-3.2-1b", new LlamaConfig("LlamaForCausalLM", 2048, 8192, 16, 32, 8, 64, 1e-5,
                128256, true, false, 131072,
                new RopeConfig(500000.0, 64, new RopeConfig.Scaling.Llama3(32.0, 1.0, 4.0, 8192)))));
        register(new ModelShape("tiny-llama-bytes", new LlamaConfig("LlamaForCausalLM", 384, 1024, 4, 6, 2, 64, 1e-5,
                256, false, false, 16384, RopeConfig.of(100000.0, 64))));
    }

    /** Checks the components. */
    public ModelShape {
        if (name == null || name.isBlank() || config == null) {
            throw new IllegalArgumentException("a model shape needs a name and a config");
        }
    }

    private static void register(ModelShape shape) {
        REGISTRY.put(shape.name(), shape);
    }

    /**
     * A registered shape.
     *
     * @param name e.g. {@code llama-3.1-8b}
     * @return the shape
     * @throws IllegalArgumentException naming the registered shapes when there is none of that name
     */
    public static ModelShape named(String name) {
        ModelShape s = REGISTRY.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown model shape '" + name + "': expected one of " + names());
        }
        return s;
    }

    /**
     * The registered names.
     *
     * @return names in registration order
     */
    public static List<String> names() {
        return List.copyOf(REGISTRY.keySet());
    }

    /**
     * Parameters of the model (lm_head counted once when tied, no biases).
     *
     * @return the element count of the weights
     */
    public long parameterCount() {
        LlamaConfig c = config;
        long h = c.hiddenSize();
        long perLayer = 2 * h + 2 * h * c.qDim() + 2 * h * c.kvDim() + 3 * h * c.intermediateSize();
        if (c.family().qkNorm()) {
            perLayer += 2L * c.headDim();
        }
        return (long) c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2) + perLayer * c.numHiddenLayers() + h;
    }

    /**
     * The config as a Hugging Face {@code config.json} (transformers 4 style: {@code rope_theta} and
     * {@code rope_scaling}), which {@link LlamaConfig#parse} reads back to an equal config.
     *
     * @return JSON text
     */
    public String configJson() {
        LlamaConfig c = config;
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.putArray("architectures").add(c.architecture());
        root.put("model_type", c.family().modelType());
        root.put("hidden_size", c.hiddenSize());
        root.put("intermediate_size", c.intermediateSize());
        root.put("num_hidden_layers", c.numHiddenLayers());
        root.put("num_attention_heads", c.numAttentionHeads());
        root.put("num_key_value_heads", c.numKeyValueHeads());
        root.put("head_dim", c.headDim());
        root.put("rms_norm_eps", c.rmsNormEps());
        root.put("vocab_size", c.vocabSize());
        root.put("tie_word_embeddings", c.tieWordEmbeddings());
        root.put("attention_bias", c.attentionBias());
        root.put("max_position_embeddings", c.maxPositionEmbeddings());
        root.put("hidden_act", "silu");
        root.put("torch_dtype", "bfloat16");
        root.put("rope_theta", c.rope().theta());
        if (c.rope().scaling() instanceof RopeConfig.Scaling.Llama3 l3) {
            ObjectNode s = root.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", l3.factor());
            s.put("low_freq_factor", l3.lowFreqFactor());
            s.put("high_freq_factor", l3.highFreqFactor());
            s.put("original_max_position_embeddings", l3.originalMaxPositions());
        } else {
            root.putNull("rope_scaling");
        }
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
