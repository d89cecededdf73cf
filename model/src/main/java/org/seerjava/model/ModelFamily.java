package org.seerjava.model;

import java.util.Arrays;
import java.util.List;

/**
 * The Llama-family decoders this project runs, and everything that differs between them: the {@code config.json}
 * defaults, which projections carry biases, whether q and k are normalised per head before RoPE, and how the
 * weights are named. Every loader ({@link LlamaModel}, {@link ModelTensors} and the runtime sessions built on it)
 * asks the family instead of testing architecture names, so a new family is one constant here.
 *
 * <p>The layer all families share (Hugging Face {@code LlamaDecoderLayer} and its copies):
 * <pre>
 *   x += o_proj(attention(RoPE(qNorm(q_proj(RMSNorm(x)))), RoPE(kNorm(k_proj(…))), v_proj(…)))
 *   x += down_proj(silu(gate_proj(RMSNorm(x))) ⊙ up_proj(RMSNorm(x)))
 * </pre>
 * where qNorm/kNorm are the identity except in {@link #QWEN3}.
 */
public enum ModelFamily {
    /** {@code LlamaForCausalLM} (Llama 2, 3, 3.1, 3.2): {@code attention_bias} puts biases on q, k, v and o. */
    LLAMA("LlamaForCausalLM", "llama"),
    /**
     * {@code MistralForCausalLM}: no biases; a {@code sliding_window} shorter than the context is refused (the
     * attention here is full causal).
     */
    MISTRAL("MistralForCausalLM", "mistral"),
    /** {@code Qwen2ForCausalLM} (Qwen2, Qwen2.5): q, k and v always carry biases, o never. */
    QWEN2("Qwen2ForCausalLM", "qwen2"),
    /**
     * {@code Qwen3ForCausalLM}: RMSNorm of every query and key head over {@code head_dim} ({@code q_norm},
     * {@code k_norm}, weights of size head_dim, eps {@code rms_norm_eps}) after the projection and before RoPE;
     * {@code attention_bias} puts biases on q, k, v and o; {@code head_dim} is explicit in its config.
     */
    QWEN3("Qwen3ForCausalLM", "qwen3");

    private final String architecture;
    private final String modelType;

    ModelFamily(String architecture, String modelType) {
        this.architecture = architecture;
        this.modelType = modelType;
    }

    /**
     * The model class named in {@code config.json}'s {@code architectures}.
     *
     * @return e.g. {@code LlamaForCausalLM}
     */
    public String architecture() {
        return architecture;
    }

    /**
     * The {@code model_type} of a {@code config.json} of this family.
     *
     * @return e.g. {@code llama}
     */
    public String modelType() {
        return modelType;
    }

    /**
     * The architecture names of every family.
     *
     * @return sorted class names
     */
    public static List<String> architectures() {
        return Arrays.stream(values()).map(ModelFamily::architecture).sorted().toList();
    }

    /**
     * The family of a model class.
     *
     * @param architecture the first entry of {@code architectures} in {@code config.json}
     * @return the family
     * @throws IllegalArgumentException naming the architecture and the supported ones
     */
    public static ModelFamily forArchitecture(String architecture) {
        for (ModelFamily f : values()) {
            if (f.architecture.equals(architecture)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unsupported architecture " + architecture + ": expected one of "
                + architectures() + " (Llama-family decoders)");
    }

    /**
     * The default of {@code attention_bias} when the config does not set it.
     *
     * @return true for Qwen2, whose q/k/v projections always have biases
     */
    public boolean defaultAttentionBias() {
        return this == QWEN2;
    }

    /**
     * Whether q, k and v carry biases.
     *
     * @param attentionBias the config's {@code attention_bias}
     * @return always for Qwen2, never for Mistral, else as the config says
     */
    public boolean qkvBias(boolean attentionBias) {
        return switch (this) {
            case QWEN2 -> true;
            case MISTRAL -> false;
            case LLAMA, QWEN3 -> attentionBias;
        };
    }

    /**
     * Whether o_proj carries a bias.
     *
     * @param attentionBias the config's {@code attention_bias}
     * @return as the config says for Llama and Qwen3; never for Mistral and Qwen2
     */
    public boolean oBias(boolean attentionBias) {
        return switch (this) {
            case QWEN2, MISTRAL -> false;
            case LLAMA, QWEN3 -> attentionBias;
        };
    }

    /**
     * Whether every query and key head is RMS-normalised (weights {@code q_norm}, {@code k_norm} of size
     * head_dim) between the projection and RoPE.
     *
     * @return true for Qwen3
     */
    public boolean qkNorm() {
        return this == QWEN3;
    }

    /**
     * Whether a {@code sliding_window} in the config is in force when {@code use_sliding_window} is absent.
     *
     * @return true for Mistral (which has no such switch); Qwen2 and Qwen3 default to off
     */
    public boolean slidingWindowByDefault() {
        return this == MISTRAL;
    }

    /**
     * The token embedding {@code [vocab, hidden]}.
     *
     * @return the tensor name
     */
    public String embedTokens() {
        return "model.embed_tokens.weight";
    }

    /**
     * The final RMSNorm weight {@code [hidden]}.
     *
     * @return the tensor name
     */
    public String finalNorm() {
        return "model.norm.weight";
    }

    /**
     * The output projection {@code [vocab, hidden]} (absent when the embeddings are tied).
     *
     * @return the tensor name
     */
    public String lmHead() {
        return "lm_head.weight";
    }

    /**
     * The tensor names of one decoder layer.
     *
     * @param layer the layer index
     * @return its names
     */
    public LayerNames layer(int layer) {
        String p = "model.layers." + layer + ".";
        return new LayerNames(p + "input_layernorm.weight", p + "self_attn.q_proj", p + "self_attn.k_proj",
                p + "self_attn.v_proj", p + "self_attn.o_proj", p + "self_attn.q_norm.weight",
                p + "self_attn.k_norm.weight", p + "post_attention_layernorm.weight", p + "mlp.gate_proj",
                p + "mlp.up_proj", p + "mlp.down_proj");
    }

    /**
     * The names of one layer's tensors. Projections are prefixes: the weight is {@code prefix + ".weight"}, the
     * bias {@code prefix + ".bias"}.
     *
     * @param inputNorm {@code input_layernorm} weight {@code [hidden]}
     * @param q         query projection prefix, weight {@code [Hq·D, hidden]}
     * @param k         key projection prefix, weight {@code [Hkv·D, hidden]}
     * @param v         value projection prefix, weight {@code [Hkv·D, hidden]}
     * @param o         output projection prefix, weight {@code [hidden, Hq·D]}
     * @param qNorm     per-head query RMSNorm weight {@code [D]} (families with {@link #qkNorm()})
     * @param kNorm     per-head key RMSNorm weight {@code [D]}
     * @param postNorm  {@code post_attention_layernorm} weight {@code [hidden]}
     * @param gate      MLP gate projection prefix, weight {@code [intermediate, hidden]}
     * @param up        MLP up projection prefix, weight {@code [intermediate, hidden]}
     * @param down      MLP down projection prefix, weight {@code [hidden, intermediate]}
     */
    public record LayerNames(String inputNorm, String q, String k, String v, String o, String qNorm, String kNorm,
                             String postNorm, String gate, String up, String down) {
    }
}
