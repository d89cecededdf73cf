package org.seerjava;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.seerjava.cpu.Parallel;
import org.seerjava.gate.GateParameters;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.GateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.model.Rotary;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.Floats;

/**
 * SeerAttention for one attention layer, as a library: give it pre-RoPE q, k and v, get the block-sparse
 * attention output and what the gate selected.
 *
 * <pre>{@code
 * SeerAttention seer = SeerAttention.builder()
 *         .heads(6, 2).headDim(64)
 *         .rope(RopeConfig.of(100_000, 64))
 *         .gates(Path.of("/models/my-model/gates.safetensors"), 0)  // layer 0 of an official-format gate file
 *         .density(0.3)                                             // or .threshold(5e-4), or .selection(rule)
 *         .backend("auto")                                          // cuda, else cpu, else the reference
 *         .build();
 * SeerAttention.Result r = seer.prefill(q, k, v, 1, n);             // q, k before RoPE, [1, n, H, 64]
 * }</pre>
 *
 * <p>It is the model's SeerAttention layer without the model around it: the model's float32 RoPE
 * ({@link Rotary}) rotates q and k, and the model's SeerAttention policy ({@link SeerAttentionPolicy}
 * with a gate selection) pools the pre-RoPE q and k per block, scores the block pairs with the gate, applies the
 * selection rule and runs block-sparse attention on the kept blocks. So a facade and a model prefill with the same
 * gates, rule and engine compute the same thing.
 *
 * <p>An instance is immutable and may be used from several threads. It holds no native memory (the engines
 * allocate and free their device buffers within each call), so there is nothing to close.
 *
 * <p>The first call is slow: the JIT compiles the engine's kernels while it runs (seconds, where a warm call takes a
 * fraction of one; the README has measured figures). Time a call only after a few warm-up calls.
 */
public final class SeerAttention {
    private final int qHeads;
    private final int kvHeads;
    private final int headDim;
    private final GateConfig gate;
    private final Rotary rope;
    private final Engine engine;
    private final SeerAttentionPolicy policy;
    private final double scale;

    private SeerAttention(int qHeads, int kvHeads, int headDim, GateSet gates, Rotary rope,
                          SelectionRule rule, Engine engine) {
        this.qHeads = qHeads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.gate = gates.config();
        this.rope = rope;
        this.engine = engine;
        this.policy = SeerAttentionPolicy.gate(engine, gates, rule);
        this.scale = 1.0 / Math.sqrt(headDim);
    }

    /**
     * A new builder.
     *
     * @return a builder with nothing set
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The engine doing the work.
     *
     * @return the engine chosen by {@link Builder#backend} or {@link Builder#engine}
     */
    public Engine engine() {
        return engine;
    }

    /**
     * The gate's configuration.
     *
     * @return gate type, block size, gate hidden size and RoPE
     */
    public GateConfig gateConfig() {
        return gate;
    }

    /**
     * What a prefill produced.
     *
     * @param output         attention output {@code [batch, n, Hq, D]}
     * @param mask           the blocks attended, {@code [batch, Hq, nb, nb]}
     * @param density        kept blocks / causal blocks
     * @param densityPerHead the same per (batch, head), laid out {@code [batch · Hq]}
     * @param gateTime       pooling, gate scores and selection
     * @param attentionTime  RoPE and block-sparse attention
     */
    public record Result(float[] output, BlockMask mask, double density, double[] densityPerHead,
                         Duration gateTime, Duration attentionTime) {
    }

    /**
     * Sparse prefill of pre-RoPE {@code q [batch, n, Hq, D]}, {@code k [batch, n, Hkv, D]} and
     * {@code v [batch, n, Hkv, D]}; every sequence of the batch is at positions 0 … n−1.
     *
     * @param q     queries before RoPE
     * @param k     keys before RoPE
     * @param v     values
     * @param batch sequences, ≥ 1
     * @param n     tokens per sequence, ≥ 1
     * @return the output, the mask and the time of the two steps
     * @throws IllegalArgumentException on wrong sizes or non-finite input (the message names the tensor), or when the
     *                                  gate scores {@code [batch, Hq, nb, nb]} would not fit a Java array
     * @throws org.seerjava.reference.InsufficientMemoryException when the call's buffers do not fit the heap (checked
     *                                  before any is allocated: bytes needed and available)
     */
    public Result prefill(float[] q, float[] k, float[] v, int batch, int n) {
        AttentionShape shape = new AttentionShape(batch, n, qHeads, kvHeads, headDim);
        requireMemory(shape, true);
        long t0 = System.nanoTime();
        LayerAttention in = rotated(q, k, v, shape);
        long ropeNanos = System.nanoTime() - t0;
        float[] out = new float[shape.qElements()];
        SeerAttentionPolicy.Step step = policy.attendLayer(0, in, out);
        return new Result(out, step.mask(), step.mask().density(), step.densityPerHead(),
                Duration.ofNanos(step.selectionNanos()), Duration.ofNanos(ropeNanos + step.attentionNanos()));
    }

    /**
     * Dense causal attention of the same inputs (after the same RoPE), for comparison.
     *
     * @param q     queries before RoPE {@code [batch, n, Hq, D]}
     * @param k     keys before RoPE {@code [batch, n, Hkv, D]}
     * @param v     values {@code [batch, n, Hkv, D]}
     * @param batch sequences, ≥ 1
     * @param n     tokens per sequence, ≥ 1
     * @return the attention output {@code [batch, n, Hq, D]}
     * @throws IllegalArgumentException on wrong sizes or non-finite input
     */
    public float[] prefillDense(float[] q, float[] k, float[] v, int batch, int n) {
        AttentionShape shape = new AttentionShape(batch, n, qHeads, kvHeads, headDim);
        requireMemory(shape, false);
        float[] out = new float[shape.qElements()];
        AttentionPolicy.dense(engine).attend(0, rotated(q, k, v, shape), out);
        return out;
    }

    /**
     * Sizes every buffer a prefill allocates (the output, the rotated copies of q and k and, for the sparse prefill,
     * the gate scores and the mask {@code [B, Hq, nb, nb]}) in {@code long}, and checks them against the array limit
     * and the heap before the inputs are even read: a length too long fails at once with the sizes, not with a
     * wrapped index or an {@link OutOfMemoryError} after the gate has run.
     */
    private void requireMemory(AttentionShape shape, boolean sparse) {
        long qe = shape.qElements();
        long kve = shape.kvElements();
        long bytes = Math.multiplyExact(2 * qe + kve, (long) Float.BYTES);
        if (sparse) {
            int nb = shape.blocks(gate.blockSize());
            long map = Checks.blockMap(shape.batch(), qHeads, nb);
            Checks.arraySize("gate scores [B, Hq, nb, nb] = [" + shape.batch() + ", " + qHeads + ", " + nb + ", " + nb
                    + "] for N = " + shape.seqLen() + " and block " + gate.blockSize(), map);
            bytes = Math.addExact(bytes, Math.multiplyExact(map, (long) Float.BYTES + 1));   // scores + mask
        }
        HeapBudget.require(bytes, "a prefill of " + shape.batch() + " × " + shape.seqLen() + " tokens");
    }

    /** The layer's inputs as the model hands them to its attention policy: pre-RoPE q, k, rotated copies, v. */
    private LayerAttention rotated(float[] q, float[] k, float[] v, AttentionShape shape) {
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        Checks.allFinite("v", Checks.length("v", v, shape.kvElements()));
        float[][] tables = rope.tables(0, shape.seqLen());
        return new LayerAttention(shape, q, k, rotate(q, shape, qHeads, tables), rotate(k, shape, kvHeads, tables), v,
                scale);
    }

    /** A rotated copy of {@code x [batch, n, heads, D]}: each sequence at positions 0 … n−1, as the model does. */
    private float[] rotate(float[] x, AttentionShape shape, int heads, float[][] tables) {
        int n = shape.seqLen();
        int stride = n * heads * headDim;
        float[] y = x.clone();
        for (int b = 0; b < shape.batch(); b++) {
            float[] seq = shape.batch() == 1 ? y : Arrays.copyOfRange(y, b * stride, (b + 1) * stride);
            Parallel.forEach(Math.ceilDiv(n, 128),
                    t -> rope.apply(seq, heads, tables, t * 128, Math.min(n, (t + 1) * 128)));
            if (seq != y) {
                System.arraycopy(seq, 0, y, b * stride, stride);
            }
        }
        return y;
    }

    /** Builds a {@link SeerAttention}; heads, head dim, gate weights and a selection rule are required. */
    public static final class Builder {
        private int qHeads;
        private int kvHeads;
        private int headDim;
        private RopeConfig rope;
        private SelectionRule rule;
        private Path gateFile;
        private int gateLayer = -1;
        private GateConfig gateConfig;
        private float[] wq;
        private float[] wk;
        private Long initialSeed;
        private String backend;
        private Engine engine;

        private Builder() {
        }

        /**
         * Query and key/value head counts.
         *
         * @param qHeads  Hq, query heads
         * @param kvHeads Hkv, key/value heads (Hq must be a multiple of it)
         * @return this builder
         */
        public Builder heads(int qHeads, int kvHeads) {
            this.qHeads = qHeads;
            this.kvHeads = kvHeads;
            return this;
        }

        /**
         * Channels per head.
         *
         * @param headDim D
         * @return this builder
         */
        public Builder headDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        /**
         * The model's RoPE (default θ = 10000 over the whole head). The gate uses the same θ and scaling.
         *
         * @param rope θ, rotary dim (= head dim) and scaling
         * @return this builder
         */
        public Builder rope(RopeConfig rope) {
            this.rope = rope;
            return this;
        }

        /**
         * Gate weights of one layer from an official-format file
         * ({@code model.layers.{i}.self_attn.attn_gate.mask_linear_{q,k}.weight}, as {@code seer distill} writes
         * them); gate type, hidden size and block size come from its metadata (defaults {@code Qavg_Kmaxminavg},
         * head dim, 64). A relative path is resolved against the working directory, as every {@link Path} is.
         *
         * @param file  the gate file
         * @param layer the layer whose gate to use, from 0
         * @return this builder
         */
        public Builder gates(Path file, int layer) {
            this.gateFile = file;
            this.gateLayer = layer;
            return this;
        }

        /**
         * Gate weights given directly.
         *
         * @param config the gate's configuration
         * @param wq     {@code W_q [Hq, qdup·D, Dg]}, or null when the gate has no Q linear
         * @param wk     {@code W_k [heads, kdup·D, Dg]}
         * @return this builder
         */
        public Builder gates(GateConfig config, float[] wq, float[] wk) {
            this.gateConfig = config;
            this.wq = wq;
            this.wk = wk;
            return this;
        }

        /**
         * Untrained gate weights, as distillation starts from them: gate type {@code Qavg_Kmaxminavg}, block 64,
         * hidden size = head dim, every weight drawn from normal(0, 0.02) for the seed. For trying the API and for
         * tests: their selection is close to arbitrary. Trained gates come from {@code seer distill} and
         * {@link #gates(Path, int)}.
         *
         * @param seed the seed of the weights
         * @return this builder
         */
        public Builder initialGates(long seed) {
            this.initialSeed = seed;
            return this;
        }

        /**
         * Any selection rule.
         *
         * @param rule top-k or threshold, with its options
         * @return this builder
         */
        public Builder selection(SelectionRule rule) {
            this.rule = rule;
            return this;
        }

        /**
         * Top-k per query-block row for the given causal density, plus the diagonal block.
         *
         * @param density the target fraction of causal blocks kept, in (0, 1]
         * @return this builder
         */
        public Builder density(double density) {
            return selection(new SelectionRule.TopK(density, false, true));
        }

        /**
         * Blocks whose gate probability exceeds {@code threshold}, as the official inference path.
         *
         * @param threshold the probability a block must exceed
         * @return this builder
         */
        public Builder threshold(double threshold) {
            return selection(new SelectionRule.Threshold(threshold, true, false));
        }

        /**
         * The engine by name: {@code reference}, {@code cpu}, {@code cuda} or {@code auto} (default:
         * {@code -Dseer.backend}, else auto). Auto takes the CUDA engine when a GPU, its driver and NVRTC are
         * there, else the CPU engine when the JVM runs with {@code --add-modules jdk.incubator.vector}, else the
         * scalar reference (about 8× slower than the CPU engine; a WARNING is logged naming the reason).
         *
         * @param name the engine's name
         * @return this builder
         */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /**
         * A specific engine.
         *
         * @param engine the engine to run on
         * @return this builder
         */
        public Builder engine(Engine engine) {
            this.engine = engine;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the facade
         * @throws IllegalArgumentException naming what is missing or inconsistent
         * @throws org.seerjava.reference.io.SafeTensorsException naming the file on a bad gate file
         */
        public SeerAttention build() {
            new AttentionShape(1, 1, Checks.positive("qHeads", qHeads), Checks.positive("kvHeads", kvHeads),
                    Checks.positive("headDim", headDim));
            if (rule == null) {
                throw new IllegalArgumentException("no selection rule: call density(...), threshold(...) or selection(...)");
            }
            RopeConfig modelRope = rope != null ? rope : RopeConfig.of(10_000, headDim);
            if (modelRope.rotaryDim() != headDim) {
                throw new IllegalArgumentException("rope rotary dim " + modelRope.rotaryDim() + " must equal headDim "
                        + headDim + " (partial rotary embeddings are not supported)");
            }
            Rotary rotary = new Rotary(modelRope);
            int sources = (gateFile != null ? 1 : 0) + (gateConfig != null ? 1 : 0) + (initialSeed != null ? 1 : 0);
            if (sources == 0) {
                throw new IllegalArgumentException("no gate weights: call gates(file, layer), gates(config, wq, wk)"
                        + " or initialGates(seed)");
            }
            if (sources > 1) {
                throw new IllegalArgumentException("give gate weights one way only: gates(file, layer), "
                        + "gates(config, wq, wk) or initialGates(seed)");
            }
            GateSet layerGates;
            if (gateFile != null) {
                ModelDims dims = new ModelDims(GateSet.layersIn(gateFile), qHeads, kvHeads, headDim, modelRope);
                GateSet set = GateSet.load(gateFile, dims);
                if (gateLayer < 0 || gateLayer >= set.size()) {
                    throw new IllegalArgumentException("gate layer " + gateLayer + " is not in " + gateFile
                            + " (layers 0.." + (set.size() - 1) + ")");
                }
                layerGates = new GateSet(oneLayer(set.config()), List.of(set.layer(gateLayer)));
            } else if (gateConfig != null) {
                GateSpec spec = oneLayer(gateConfig);
                Checks.length("W_k (mask_linear_k)", wk, spec.wkElements());
                if (spec.hasQLinear()) {
                    Checks.length("W_q (mask_linear_q)", wq, spec.wqElements());
                } else if (wq != null && wq.length != 0) {
                    throw new IllegalArgumentException("gate type " + gateConfig.type() + " with hidden size "
                            + gateConfig.hiddenSize() + " = head dim has no Q linear, but W_q has " + wq.length
                            + " elements");
                }
                GateParameters p = new GateParameters(spec.hasQLinear() ? Floats.toDouble(wq) : null,
                        Floats.toDouble(wk));
                layerGates = new GateSet(spec, List.of(p));
            } else {
                GateSpec spec = new ModelDims(1, qHeads, kvHeads, headDim, modelRope).spec(GateType.DEFAULT, 64,
                        headDim);
                layerGates = GateSet.init(spec, initialSeed);
            }
            Engine chosen = engine != null ? engine
                    : backend != null ? Engines.byName(backend) : Engines.fromSystemProperty();
            return new SeerAttention(qHeads, kvHeads, headDim, layerGates, rotary, rule, chosen);
        }

        private GateSpec oneLayer(GateConfig config) {
            return new GateSpec(config, 1, qHeads, kvHeads, headDim);
        }
    }
}
