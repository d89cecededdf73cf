package org.seerjava.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.SmallFiles;

/**
 * The settings of a Hugging Face Llama-family decoder, read from its {@code config.json}.
 *
 * <p>Accepted architectures: those of {@link ModelFamily}: {@code LlamaForCausalLM}, {@code MistralForCausalLM}
 * (without a sliding window shorter than the context), {@code Qwen2ForCausalLM} (q/k/v biases) and
 * {@code Qwen3ForCausalLM} (per-head q/k RMSNorm); what differs between them is asked of {@link #family()}. The
 * file is read with a size cap of {@value #MAX_CONFIG_BYTES} bytes. RoPE settings are read from
 * {@code rope_parameters} (transformers 5) or from {@code rope_theta} + {@code rope_scaling} (transformers 4); the
 * types {@code default} and {@code llama3} are supported, and the rotary dimension is {@code head_dim}.
 *
 * @param architecture          the first entry of {@code architectures}
 * @param hiddenSize            {@code hidden_size}, the residual width
 * @param intermediateSize      {@code intermediate_size}, the SwiGLU MLP width
 * @param numHiddenLayers       {@code num_hidden_layers}
 * @param numAttentionHeads     {@code num_attention_heads} (Hq)
 * @param numKeyValueHeads      {@code num_key_value_heads} (Hkv; default Hq); divides Hq
 * @param headDim               {@code head_dim} (D; default hidden_size / num_attention_heads)
 * @param rmsNormEps            {@code rms_norm_eps}
 * @param vocabSize             {@code vocab_size}
 * @param tieWordEmbeddings     {@code tie_word_embeddings}: lm_head reuses {@code embed_tokens} (default false)
 * @param attentionBias         {@code attention_bias} (default {@link ModelFamily#defaultAttentionBias()}); which
 *                              projections it puts biases on is the family's ({@link ModelFamily#qkvBias},
 *                              {@link ModelFamily#oBias}); the loaders also detect bias tensors in the weights
 * @param maxPositionEmbeddings {@code max_position_embeddings}: the heap forward allows longer inputs; the runtime
 *                              sessions refuse a capacity beyond it unless asked to allow it
 * @param rope                  the RoPE settings, rotary dim = head_dim
 */
public record LlamaConfig(String architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
                          int numAttentionHeads, int numKeyValueHeads, int headDim, double rmsNormEps,
                          int vocabSize, boolean tieWordEmbeddings, boolean attentionBias,
                          int maxPositionEmbeddings, RopeConfig rope) {

    /** Architectures whose forward pass this module computes: those of {@link ModelFamily}. */
    public static final Set<String> SUPPORTED_ARCHITECTURES = Set.copyOf(ModelFamily.architectures());

    /** The largest {@code config.json} read, in bytes (real ones are a few KiB). */
    public static final long MAX_CONFIG_BYTES = 1L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Validates the sizes. */
    public LlamaConfig {
        if (architecture == null || architecture.isBlank()) {
            throw new IllegalArgumentException("architectures must name the model class, got " + architecture);
        }
        ModelFamily.forArchitecture(architecture);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        product("num_attention_heads", numAttentionHeads, "head_dim", headDim);
        product("num_key_value_heads", numKeyValueHeads, "head_dim", headDim);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads = " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads = " + numKeyValueHeads);
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim must be even for rotate-half RoPE, got " + headDim);
        }
        if (!(rmsNormEps > 0) || Double.isInfinite(rmsNormEps)) {
            throw new IllegalArgumentException("rms_norm_eps must be finite and > 0, got " + rmsNormEps);
        }
        if (rope == null) {
            throw new IllegalArgumentException("rope must not be null");
        }
        if (rope.rotaryDim() != headDim) {
            throw new IllegalArgumentException("rope rotary dim " + rope.rotaryDim() + " must equal head_dim " + headDim);
        }
    }

    /** Requires a product of two sizes (a projection width) to fit an int. */
    private static void product(String a, int x, String b, int y) {
        long p = (long) x * y;
        if (p > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(a + " · " + b + " = " + x + " · " + y + " = " + p
                    + " is more than the " + Integer.MAX_VALUE + " a projection width may be");
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, got " + value);
        }
    }

    /**
     * Reads and validates a {@code config.json}.
     *
     * @param configJson the file
     * @return the configuration
     * @throws IllegalArgumentException when the file cannot be read, is not JSON, names an unsupported
     *                                  architecture, or a field is missing or wrong; the message names the field and
     *                                  the file
     */
    public static LlamaConfig load(Path configJson) {
        return parse(readCapped(configJson, MAX_CONFIG_BYTES, "the model config"), configJson.toString());
    }

    /**
     * Reads a small text file (a config or an index) with a size cap ({@link SmallFiles#readString}: regular files
     * only, at most maxBytes read whatever size the file claims).
     *
     * @param file     the file
     * @param maxBytes the largest size accepted
     * @param what     what the file is, for messages
     * @return its UTF-8 text
     * @throws IllegalArgumentException naming the file when it is missing, not a regular file, unreadable, not UTF-8
     *                                  or larger than maxBytes
     */
    public static String readCapped(Path file, long maxBytes, String what) {
        return SmallFiles.readString(file, maxBytes, what);
    }

    /**
     * Parses the text of a {@code config.json}.
     *
     * @param json   the JSON text
     * @param source where it came from, used in error messages (e.g. the file path)
     * @return the configuration
     * @throws IllegalArgumentException as {@link #load(Path)}
     */
    public static LlamaConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object at the top level");
        }
        try {
            return fromJson(root, source);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(source)) {
                throw e;
            }
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static LlamaConfig fromJson(JsonNode root, String source) {
        JsonNode arch = root.get("architectures");
        if (arch == null || !arch.isArray() || arch.isEmpty() || !arch.get(0).isTextual()) {
            throw new IllegalArgumentException(source + ": field 'architectures' must be a non-empty list of class names, found "
                    + arch);
        }
        String architecture = arch.get(0).asText();
        if (!SUPPORTED_ARCHITECTURES.contains(architecture)) {
            throw new IllegalArgumentException(source + ": field 'architectures' names " + architecture
                    + ", expected one of " + ModelFamily.architectures() + " (Llama-family decoders)");
        }
        ModelFamily family = ModelFamily.forArchitecture(architecture);
        JsonNode act = root.get("hidden_act");
        if (act != null && !act.isNull() && !act.asText().equals("silu")) {
            throw new IllegalArgumentException(source + ": field 'hidden_act' is '" + act.asText()
                    + "', expected 'silu' (SwiGLU MLP)");
        }
        JsonNode mlpBias = root.get("mlp_bias");
        if (mlpBias != null && mlpBias.asBoolean(false)) {
            throw new IllegalArgumentException(source + ": field 'mlp_bias' = true is not supported (expected false)");
        }
        int hidden = requiredInt(root, "hidden_size", source);
        int intermediate = requiredInt(root, "intermediate_size", source);
        int layers = requiredInt(root, "num_hidden_layers", source);
        int heads = requiredInt(root, "num_attention_heads", source);
        int kvHeads = optionalInt(root, "num_key_value_heads", heads, source);
        if (heads <= 0) {
            throw new IllegalArgumentException(source + ": field 'num_attention_heads' must be > 0, found " + heads);
        }
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException(source + ": field 'num_key_value_heads' = " + kvHeads
                    + " must be > 0 and divide num_attention_heads = " + heads);
        }
        int headDim;
        if (root.hasNonNull("head_dim")) {
            headDim = requiredInt(root, "head_dim", source);
        } else {
            if (hidden % heads != 0) {
                throw new IllegalArgumentException(source + ": field 'num_attention_heads' = " + heads
                        + " does not divide hidden_size = " + hidden + " and there is no 'head_dim'");
            }
            headDim = hidden / heads;
        }
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException(source + ": field 'head_dim' must be even and > 0, found " + headDim);
        }
        double eps = optionalDouble(root, "rms_norm_eps", 1e-6, source);
        int vocab = requiredInt(root, "vocab_size", source);
        boolean tied = optionalBoolean(root, "tie_word_embeddings", false, source);
        boolean bias = optionalBoolean(root, "attention_bias", family.defaultAttentionBias(), source);
        int maxPos = optionalInt(root, "max_position_embeddings", 2048, source);
        if (family != ModelFamily.LLAMA) {
            JsonNode window = root.get("sliding_window");
            boolean useWindow = optionalBoolean(root, "use_sliding_window", family.slidingWindowByDefault(), source);
            if (useWindow && window != null && !window.isNull() && window.asLong() < maxPos) {
                throw new IllegalArgumentException(source + ": field 'sliding_window' = " + window.asLong()
                        + " (sliding-window attention) is not supported; expected null or >= max_position_embeddings = "
                        + maxPos);
            }
        }
        RopeConfig rope = parseRope(root, headDim, source);
        try {
            return new LlamaConfig(architecture, hidden, intermediate, layers, heads, kvHeads, headDim, eps, vocab,
                    tied, bias, maxPos, rope);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * RoPE from {@code rope_parameters} (transformers 5) or {@code rope_theta} + {@code rope_scaling}
     * (transformers 4).
     */
    private static RopeConfig parseRope(JsonNode root, int headDim, String source) {
        JsonNode params = root.get("rope_parameters");
        String where;
        JsonNode scaling;
        double theta;
        if (params != null && !params.isNull()) {
            if (!params.isObject()) {
                throw new IllegalArgumentException(source + ": field 'rope_parameters' must be an object, found " + params);
            }
            where = "rope_parameters";
            scaling = params;
            if (params.has("rope_theta")) {
                theta = number(params, "rope_theta", "rope_parameters.rope_theta", source);
            } else {
                theta = optionalDouble(root, "rope_theta", 10000.0, source);
            }
        } else {
            where = "rope_scaling";
            theta = optionalDouble(root, "rope_theta", 10000.0, source);
            scaling = root.get("rope_scaling");
            if (scaling != null && !scaling.isNull() && !scaling.isObject()) {
                throw new IllegalArgumentException(source + ": field 'rope_scaling' must be an object or null, found "
                        + scaling);
            }
        }
        if (!(theta > 1) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException(source + ": field 'rope_theta' must be finite and > 1, found " + theta);
        }
        for (JsonNode holder : new JsonNode[] {root, params}) {
            JsonNode partial = holder == null ? null : holder.get("partial_rotary_factor");
            if (partial != null && !partial.isNull() && partial.asDouble() != 1.0) {
                throw new IllegalArgumentException(source + ": field 'partial_rotary_factor' = " + partial
                        + " is not supported; expected 1.0 (RoPE over the whole head_dim)");
            }
        }
        String type = "default";
        if (scaling != null && !scaling.isNull()) {
            JsonNode t = scaling.has("rope_type") ? scaling.get("rope_type") : scaling.get("type");
            if (t != null && !t.isNull()) {
                type = t.asText();
            }
        }
        RopeConfig.Scaling s;
        switch (type) {
            case "default" -> s = new RopeConfig.Scaling.None();
            case "llama3" -> {
                double factor = number(scaling, "factor", where + ".factor", source);
                double low = number(scaling, "low_freq_factor", where + ".low_freq_factor", source);
                double high = number(scaling, "high_freq_factor", where + ".high_freq_factor", source);
                double orig = number(scaling, "original_max_position_embeddings",
                        where + ".original_max_position_embeddings", source);
                if (orig != Math.rint(orig) || orig <= 0 || orig > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(source + ": field '" + where
                            + ".original_max_position_embeddings' must be a positive integer, found " + orig);
                }
                try {
                    s = new RopeConfig.Scaling.Llama3(factor, low, high, (int) orig);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(source + ": field '" + where + "': " + e.getMessage(), e);
                }
            }
            default -> throw new IllegalArgumentException(source + ": field '" + where + ".rope_type' is '" + type
                    + "', expected 'default' or 'llama3'");
        }
        return new RopeConfig(theta, headDim, s);
    }

    private static double number(JsonNode obj, String key, String field, String source) {
        JsonNode n = obj == null ? null : obj.get(key);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' is missing");
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a number, found " + n);
        }
        return n.asDouble();
    }

    private static int requiredInt(JsonNode root, String field, String source) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' is missing");
        }
        return asInt(n, field, source);
    }

    private static int optionalInt(JsonNode root, String field, int dflt, String source) {
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? dflt : asInt(n, field, source);
    }

    private static int asInt(JsonNode n, String field, String source) {
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a positive integer, found " + n);
        }
        return n.asInt();
    }

    private static double optionalDouble(JsonNode root, String field, double dflt, String source) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a number, found " + n);
        }
        return n.asDouble();
    }

    private static boolean optionalBoolean(JsonNode root, String field, boolean dflt, String source) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be true or false, found " + n);
        }
        return n.asBoolean();
    }

    /**
     * The model family: what differs between Llama, Mistral, Qwen2 and Qwen3.
     *
     * @return the family of {@link #architecture()}
     */
    public ModelFamily family() {
        return ModelFamily.forArchitecture(architecture);
    }

    /**
     * Whether q, k and v carry biases according to the config (the loaders also accept bias tensors the config
     * does not announce).
     *
     * @return {@code family().qkvBias(attentionBias)}
     */
    public boolean qkvBias() {
        return family().qkvBias(attentionBias);
    }

    /**
     * Whether o_proj carries a bias according to the config.
     *
     * @return {@code family().oBias(attentionBias)}
     */
    public boolean oBias() {
        return family().oBias(attentionBias);
    }

    /**
     * Query heads per key/value head.
     *
     * @return Hq / Hkv
     */
    public int groupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /**
     * Width of the query projection.
     *
     * @return Hq · D
     */
    public int qDim() {
        return numAttentionHeads * headDim;
    }

    /**
     * Width of the key and value projections.
     *
     * @return Hkv · D
     */
    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /**
     * The attention shape of a prefill (batch 1).
     *
     * @param seqLen N, the number of tokens
     * @return {@code (1, N, Hq, Hkv, D)}
     */
    public AttentionShape attentionShape(int seqLen) {
        return new AttentionShape(1, seqLen, numAttentionHeads, numKeyValueHeads, headDim);
    }

    /**
     * The attention scale.
     *
     * @return {@code head_dim^-0.5}
     */
    public double attentionScale() {
        return 1.0 / Math.sqrt(headDim);
    }
}
