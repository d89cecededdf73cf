package org.seerjava.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.seerjava.cpu.Parallel;
import org.seerjava.cpu.VectorMath;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.RopeConfig;

/**
 * A Hugging Face Llama-family decoder ({@link LlamaConfig}) loaded from safetensors, with a float32 prefill forward
 * pass whose attention is pluggable ({@link AttentionPolicy}).
 *
 * <p>Forward pass, as {@code LlamaForCausalLM} computes it in float32:
 * <pre>
 *   x = embed_tokens[tokens]
 *   for each layer l:
 *     h = RMSNorm(x) · w_in                      RMSNorm(x) = x / sqrt(mean(x²) + eps)
 *     qPre = h·W_qᵀ (+b_q), kPre = h·W_kᵀ (+b_k), v = h·W_vᵀ (+b_v)
 *     qPre, kPre = RMSNorm per head (q_norm, k_norm)  Qwen3 only ({@link ModelFamily#qkNorm()})
 *     q, k = RoPE(qPre), RoPE(kPre)               {@link Rotary}: rotate-half, angle = fl32(inv_freq · position)
 *     x += policy.attend(l, q, k, v, …)·W_oᵀ (+b_o)   causal, GQA, scale head_dim^-0.5
 *     h = RMSNorm(x) · w_post
 *     x += (silu(h·W_gateᵀ) ⊙ h·W_upᵀ)·W_downᵀ
 *   logits = (RMSNorm(x) · w_norm)·W_lm_headᵀ     (W_lm_head = embed_tokens when tied)
 * </pre>
 *
 * <p><b>Batch is 1</b>: {@code forward} takes one sequence of token ids at positions 0 … N−1 (no padding, no KV
 * cache). Weights are converted to float32 at load time (bf16/f16/f32 accepted) and held on the heap, transposed into
 * the layout of {@link Linear}'s Vector API kernel; matrix products run on the project's thread pool ({@link Parallel},
 * sized to the cores or {@code -Dseer.threads}). An instance is immutable after loading and may be used from several
 * threads (each forward allocates its own activations).
 */
public final class LlamaModel implements AutoCloseable {
    /** The file holding the configuration inside a checkpoint directory. */
    public static final String CONFIG = "config.json";

    private final LlamaConfig config;
    private final Path directory;
    private final float[] embed;
    private final Layer[] layers;
    private final float[] finalNorm;
    private final Linear lmHead;
    private final Rotary rotary;
    private volatile boolean closed;

    /** The weights of one decoder layer. */
    private record Layer(float[] inputNorm, Linear q, Linear k, Linear v, Linear o, float[] qNorm, float[] kNorm,
                         float[] postNorm, Linear gate, Linear up, Linear down) {
    }

    private LlamaModel(LlamaConfig config, Path directory, float[] embed, Layer[] layers, float[] finalNorm,
                       Linear lmHead) {
        this.config = config;
        this.directory = directory;
        this.embed = embed;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.rotary = new Rotary(config.rope());
    }

    /**
     * Loads {@code dir/config.json} and the weights of {@code dir/model.safetensors} (or the shards listed by
     * {@code dir/model.safetensors.index.json}), found and checked by {@link ModelTensors#bind} (the family's names,
     * biases where the family and config call for them or the weights hold them, Qwen3's q/k norms), then widened
     * to float32 on the heap.
     *
     * @param dir a Hugging Face checkpoint directory
     * @return the model, weights in float32
     * @throws IllegalArgumentException when the config is invalid (see {@link LlamaConfig#load}), or a tensor is
     *                                  missing, has the wrong shape, a non-float dtype or a NaN/±∞ value (the message
     *                                  names tensor and file)
     * @throws org.seerjava.reference.InsufficientMemoryException when the float32 weights do not fit the heap
     *                                  (checked before they are widened: bytes needed and available)
     * @throws org.seerjava.reference.io.SafeTensorsException when a weights file is corrupt (names the file)
     */
    public static LlamaModel load(Path dir) {
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + dir + " does not exist or is not a directory");
        }
        LlamaConfig c = LlamaConfig.load(dir.resolve(CONFIG));
        try (ModelWeights w = ModelWeights.open(dir)) {
            ModelTensors t = ModelTensors.bind(c, w);
            int h = c.hiddenSize();
            // float32 on the heap: every tensor once, a tied lm_head packed a second time, and one tensor widened
            // before it is packed
            long floats = Math.addExact(t.elementCount(), t.tied() ? t.embed().elementCount() : 0);
            long largest = 0;
            for (WeightTensor x : t.all()) {
                largest = Math.max(largest, x == null ? 0 : x.elementCount());
            }
            HeapBudget.require(HeapBudget.bytesOf(Math.addExact(floats, largest), Float.BYTES),
                    "the float32 weights of model " + dir);
            float[] embed = floats(t.embed());
            Layer[] layers = new Layer[c.numHiddenLayers()];
            for (int l = 0; l < layers.length; l++) {
                ModelTensors.LayerTensors lt = t.layers().get(l);
                layers[l] = new Layer(
                        floats(lt.inputNorm()),
                        linear(lt.q(), lt.qBias()),
                        linear(lt.k(), lt.kBias()),
                        linear(lt.v(), lt.vBias()),
                        linear(lt.o(), lt.oBias()),
                        lt.qNorm() == null ? null : floats(lt.qNorm()),
                        lt.kNorm() == null ? null : floats(lt.kNorm()),
                        floats(lt.postNorm()),
                        linear(lt.gate(), null),
                        linear(lt.up(), null),
                        linear(lt.down(), null));
            }
            float[] norm = floats(t.finalNorm());
            Linear head = t.tied() ? new Linear(embed, null, c.vocabSize(), h) : linear(t.lmHead(), null);
            return new LlamaModel(c, dir, embed, layers, norm, head);
        }
    }

    private static Linear linear(WeightTensor weight, WeightTensor bias) {
        long[] shape = weight.shape();
        return new Linear(floats(weight), bias == null ? null : floats(bias), (int) shape[0], (int) shape[1]);
    }

    /** A tensor widened to float32, after checking every value is finite (a NaN is named here, not in a layer's q). */
    private static float[] floats(WeightTensor t) {
        float[] x = t.toFloats();
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException(t.source() + ": tensor " + t.name() + " holds " + x[i]
                        + " at flat index " + i + " (weights must be finite)");
            }
        }
        return x;
    }

    /**
     * The configuration.
     *
     * @return the parsed config.json
     */
    public LlamaConfig config() {
        return config;
    }

    /**
     * The checkpoint directory it was loaded from.
     *
     * @return the directory given to {@link #load}
     */
    public Path directory() {
        return directory;
    }

    /**
     * Logits {@code [N, vocab]} of every position: row r scores the token after {@code tokens[r]}.
     *
     * @param tokens token ids at positions 0 … N−1, each in [0, vocab_size); N ≥ 1
     * @param policy how each layer computes attention
     * @return float32 logits, row-major
     * @throws IllegalArgumentException on an empty input or a token outside the vocabulary
     */
    public float[] forward(int[] tokens, AttentionPolicy policy) {
        return forward(tokens, policy, 0);
    }

    /**
     * Logits {@code [N − logitsFrom, vocab]} of positions {@code logitsFrom … N−1} (the lm_head is only applied to
     * those rows; the attention still sees the whole sequence).
     *
     * @param tokens     token ids at positions 0 … N−1, each in [0, vocab_size); N ≥ 1
     * @param policy     how each layer computes attention
     * @param logitsFrom first position whose logits are returned, 0 ≤ logitsFrom &lt; N
     * @return float32 logits, row-major
     * @throws IllegalArgumentException on an empty input, a token outside the vocabulary or a bad logitsFrom
     * @throws org.seerjava.reference.InsufficientMemoryException when the activations do not fit the heap (checked
     *                                  before they are allocated)
     */
    public float[] forward(int[] tokens, AttentionPolicy policy, int logitsFrom) {
        if (closed) {
            throw new IllegalStateException("model " + directory + " is closed");
        }
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("tokens must hold at least one token id");
        }
        if (policy == null) {
            throw new IllegalArgumentException("attention policy must not be null");
        }
        int n = tokens.length;
        if (logitsFrom < 0 || logitsFrom >= n) {
            throw new IllegalArgumentException("logitsFrom must be in [0, " + n + "), got " + logitsFrom);
        }
        int vocab = config.vocabSize();
        for (int i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token " + i + " = " + tokens[i] + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
        int h = config.hiddenSize();
        int qd = config.qDim();
        int kvd = config.kvDim();
        int im = config.intermediateSize();
        AttentionShape shape = config.attentionShape(n);
        double scale = config.attentionScale();
        float eps = (float) config.rmsNormEps();
        int m = n - logitsFrom;
        // activations alive at once: x, xn, att, gate, up, one layer's qPre, q, kPre, k, v, and the logits
        long floats = Math.addExact(Math.multiplyExact((long) n, 2L * h + 3L * qd + 3L * kvd + 2L * im),
                Math.multiplyExact((long) m, 2L * h + vocab));
        HeapBudget.require(HeapBudget.bytesOf(floats, Float.BYTES), "the activations of a forward pass of " + n
                + " tokens");

        float[] x = new float[Math.multiplyExact(n, h)];
        for (int i = 0; i < n; i++) {
            System.arraycopy(embed, tokens[i] * h, x, i * h, h);
        }
        float[][] rope = rotary.tables(0, n);
        float[] xn = new float[x.length];
        float[] att = new float[Math.multiplyExact(n, qd)];
        float[] gate = new float[Math.multiplyExact(n, im)];
        float[] up = new float[gate.length];
        for (int l = 0; l < layers.length; l++) {
            Layer layer = layers[l];
            rmsNorm(x, n, layer.inputNorm, eps, xn);
            float[] qPre = new float[att.length];
            float[] kPre = new float[Math.multiplyExact(n, kvd)];
            float[] v = new float[kPre.length];
            layer.q.apply(xn, n, qPre, false);
            layer.k.apply(xn, n, kPre, false);
            layer.v.apply(xn, n, v, false);
            if (layer.qNorm != null) {
                headNorm(qPre, n * config.numAttentionHeads(), layer.qNorm, eps);
                headNorm(kPre, n * config.numKeyValueHeads(), layer.kNorm, eps);
            }
            float[] q = qPre.clone();
            float[] k = kPre.clone();
            applyRope(q, n, config.numAttentionHeads(), rope);
            applyRope(k, n, config.numKeyValueHeads(), rope);
            policy.attend(l, new LayerAttention(shape, qPre, kPre, q, k, v, scale), att);
            layer.o.apply(att, n, x, true);
            rmsNorm(x, n, layer.postNorm, eps, xn);
            layer.gate.apply(xn, n, gate, false);
            layer.up.apply(xn, n, up, false);
            swiglu(gate, up, n, im);
            layer.down.apply(gate, n, x, true);
        }
        float[] last = new float[m * h];
        float[] tail = new float[m * h];
        System.arraycopy(x, logitsFrom * h, tail, 0, m * h);
        rmsNorm(tail, m, finalNorm, eps, last);
        float[] logits = new float[Math.multiplyExact(m, vocab)];
        lmHead.apply(last, m, logits, false);
        return logits;
    }

    /**
     * HF {@code LlamaRMSNorm} in float32: {@code out = w · (x · rsqrt(mean(x²) + eps))}, per row of width hidden.
     */
    private void rmsNorm(float[] x, int rows, float[] weight, float eps, float[] out) {
        int h = config.hiddenSize();
        Parallel.forEach(Math.ceilDiv(rows, 256), t -> {
            int end = Math.min(rows, (t + 1) * 256);
            for (int r = t * 256; r < end; r++) {
                int base = r * h;
                double ss = 0;
                for (int i = 0; i < h; i++) {
                    ss += (double) x[base + i] * x[base + i];
                }
                float var = (float) (ss / h);
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                for (int i = 0; i < h; i++) {
                    out[base + i] = weight[i] * (x[base + i] * inv);
                }
            }
        });
    }

    /**
     * Qwen3's {@code q_norm}/{@code k_norm}: HF RMSNorm of every head vector {@code x [rows, D]} in place, in
     * float32 as {@link #rmsNorm} computes it.
     */
    private void headNorm(float[] x, int rows, float[] weight, float eps) {
        int d = config.headDim();
        for (int r = 0; r < rows; r++) {
            int base = r * d;
            double ss = 0;
            for (int i = 0; i < d; i++) {
                ss += (double) x[base + i] * x[base + i];
            }
            float var = (float) (ss / d);
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            for (int i = 0; i < d; i++) {
                x[base + i] = weight[i] * (x[base + i] * inv);
            }
        }
    }

    /**
     * {@code gate ← silu(gate) ⊙ up}, silu(a) = a / (1 + e^−a), in float32 by {@link VectorMath#siluMul}, whose
     * exponential is deterministic (the Vector API's own {@code EXP} rounds differently before and after C2
     * compiles it).
     */
    private static void swiglu(float[] gate, float[] up, int n, int width) {
        Parallel.forEach(Math.ceilDiv(n, 64), t -> {
            int start = t * 64 * width;
            int end = Math.min(n, (t + 1) * 64) * width;
            VectorMath.siluMul(gate, up, start, end);
        });
    }

    /**
     * inv_freq in float32 (used by {@link Rotary}), as transformers computes it: {@code 1 / θ^(fl32(2k / dim))} in float32, then the llama3
     * rescaling in float32 ({@code _compute_llama3_parameters}).
     */
    public static float[] inverseFrequencies(RopeConfig rope) {
        int dim = rope.rotaryDim();
        int half = dim / 2;
        float base = (float) rope.theta();
        float[] inv = new float[half];
        for (int k = 0; k < half; k++) {
            float exponent = (float) (2 * k) / (float) dim;
            float pow = (float) Math.pow(base, exponent);
            inv[k] = 1.0f / pow;
        }
        if (rope.scaling() instanceof RopeConfig.Scaling.Llama3 l3) {
            double lowWavelen = l3.originalMaxPositions() / l3.lowFreqFactor();
            double highWavelen = l3.originalMaxPositions() / l3.highFreqFactor();
            float factor = (float) l3.factor();
            for (int k = 0; k < half; k++) {
                float wavelen = (float) (2 * Math.PI) / inv[k];
                float llama = wavelen > lowWavelen ? inv[k] / factor : inv[k];
                boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
                if (medium) {
                    float smooth = ((float) l3.originalMaxPositions() / wavelen - (float) l3.lowFreqFactor())
                            / (float) (l3.highFreqFactor() - l3.lowFreqFactor());
                    llama = (1 - smooth) * llama / factor + smooth * llama;
                }
                inv[k] = llama;
            }
        }
        return inv;
    }

    /**
     * The inverse frequencies used for RoPE.
     *
     * @return a float32 copy of inv_freq[k], k &lt; head_dim / 2
     */
    public float[] ropeInverseFrequencies() {
        return rotary.inverseFrequencies();
    }

    /**
     * The number of parameters (lm_head counted once when tied).
     *
     * @return the total element count of the weights
     */
    public long parameterCount() {
        LlamaConfig c = config;
        long h = c.hiddenSize();
        long perLayer = 2 * h + h * c.qDim() + 2 * h * c.kvDim() + (long) c.qDim() * h + 3 * h * c.intermediateSize();
        if (layers.length > 0 && layers[0].q().hasBias()) {
            perLayer += c.qDim() + 2L * c.kvDim();
        }
        if (layers.length > 0 && layers[0].o().hasBias()) {
            perLayer += h;
        }
        if (layers.length > 0 && layers[0].qNorm() != null) {
            perLayer += 2L * c.headDim();
        }
        return (long) c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2) + perLayer * c.numHiddenLayers() + h;
    }


    /** HF {@code apply_rotary_pos_emb} on {@code x [N, heads, D]}: {@link Rotary#apply}, 128 positions a task. */
    private void applyRope(float[] x, int n, int heads, float[][] tables) {
        Parallel.forEach(Math.ceilDiv(n, 128),
                t -> rotary.apply(x, heads, tables, t * 128, Math.min(n, (t + 1) * 128)));
    }

    /** Releases the model; later calls to forward fail. The weights are on the heap, so this only marks it closed. */
    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return "LlamaModel[" + directory + ", " + config.architecture() + ", " + config.numHiddenLayers() + " layers, hidden "
                + config.hiddenSize() + ", heads " + config.numAttentionHeads() + "/" + config.numKeyValueHeads()
                + ", head_dim " + config.headDim() + ", vocab " + config.vocabSize() + "]";
    }
}
