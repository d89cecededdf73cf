package org.seerjava;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.seerjava.gate.GateParameters;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Rope;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.Floats;
import org.seerjava.reference.io.SafeTensors;

/**
 * SeerAttention for one attention layer, as a library: give it pre-RoPE q, k and v, get the block-sparse
 * attention output and what the gate selected.
 *
 * <pre>{@code
 * SeerAttention seer = SeerAttention.builder()
 *         .heads(6, 2).headDim(64)
 *         .rope(RopeConfig.of(100_000, 64))
 *         .gates(Path.of("attn_gate_weights.safetensors"), 0)   // layer 0 of an official-format gate file
 *         .density(0.3)                                          // or .threshold(5e-4), or .selection(rule)
 *         .backend("cpu")
 *         .build();
 * SeerAttention.Result r = seer.prefill(q, k, v, 1, n);          // q, k before RoPE, [1, n, H, 64]
 * }</pre>
 *
 * The steps are those of the official module: the gate pools pre-RoPE q and k per block and scores the block
 * pairs; the selection rule keeps blocks; the model RoPE rotates q and k; block-sparse attention runs on the
 * kept blocks.
 */
public final class SeerAttention {
    private static final Pattern GATE_TENSOR =
            Pattern.compile("model\\.layers\\.(\\d+)\\.self_attn\\.attn_gate\\.mask_linear_[qk]\\.weight");

    private final int qHeads;
    private final int kvHeads;
    private final int headDim;
    private final GateConfig gate;
    private final float[] wq;
    private final float[] wk;
    private final Rope rope;
    private final SelectionRule rule;
    private final Engine engine;
    private final double scale;

    private SeerAttention(Builder b, GateConfig gate, float[] wq, float[] wk, Engine engine) {
        this.qHeads = b.qHeads;
        this.kvHeads = b.kvHeads;
        this.headDim = b.headDim;
        this.gate = gate;
        this.wq = wq;
        this.wk = wk;
        this.rope = new Rope(b.rope != null ? b.rope : RopeConfig.of(10_000, b.headDim));
        this.rule = b.rule;
        this.engine = engine;
        this.scale = 1.0 / Math.sqrt(headDim);
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The engine doing the work. */
    public Engine engine() {
        return engine;
    }

    /** The gate's configuration. */
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
     * {@code v [batch, n, Hkv, D]}; positions are 0 … n−1.
     *
     * @throws IllegalArgumentException on wrong sizes or non-finite input
     */
    public Result prefill(float[] q, float[] k, float[] v, int batch, int n) {
        AttentionShape shape = new AttentionShape(batch, n, qHeads, kvHeads, headDim);
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        Checks.allFinite("v", Checks.length("v", v, shape.kvElements()));
        int nb = shape.blocks(gate.blockSize());

        long t0 = System.nanoTime();
        float[] scores = new float[batch * qHeads * nb * nb];
        engine.gateScores(q, k, wq, wk, scores, shape, gate, rule instanceof SelectionRule.Threshold);
        BlockMask mask = engine.select(scores, batch, qHeads, nb, rule);
        long t1 = System.nanoTime();
        float[] qRope = rotate(q, batch, n, qHeads);
        float[] kRope = rotate(k, batch, n, kvHeads);
        float[] out = new float[shape.qElements()];
        engine.blockSparse(qRope, kRope, v, mask, out, shape, gate.blockSize(), scale);
        long t2 = System.nanoTime();

        double[] perHead = new double[batch * qHeads];
        double causal = nb * (nb + 1) / 2.0;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < qHeads; h++) {
                long kept = 0;
                for (int i = 0; i < nb; i++) {
                    for (int j = 0; j <= i; j++) {
                        kept += mask.keep(b, h, i, j) ? 1 : 0;
                    }
                }
                perHead[b * qHeads + h] = kept / causal;
            }
        }
        return new Result(out, mask, mask.density(), perHead, Duration.ofNanos(t1 - t0), Duration.ofNanos(t2 - t1));
    }

    /** Dense causal attention of the same inputs (after RoPE), for comparison. */
    public float[] prefillDense(float[] q, float[] k, float[] v, int batch, int n) {
        AttentionShape shape = new AttentionShape(batch, n, qHeads, kvHeads, headDim);
        float[] out = new float[shape.qElements()];
        engine.denseCausal(rotate(q, batch, n, qHeads), rotate(k, batch, n, kvHeads), v, out, shape, scale);
        return out;
    }

    private float[] rotate(float[] x, int batch, int n, int heads) {
        double[] y = Floats.toDouble(x);
        rope.apply(y, batch, n, heads, headDim, Rope.positions(n));
        return Floats.toFloat(y);
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
        private String backend;
        private Engine engine;

        private Builder() {
        }

        /** Query and key/value head counts (Hq, Hkv). */
        public Builder heads(int qHeads, int kvHeads) {
            this.qHeads = qHeads;
            this.kvHeads = kvHeads;
            return this;
        }

        /** Channels per head (D). */
        public Builder headDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        /** The model's RoPE (default θ = 10000 over the whole head). The gate uses the same θ and scaling. */
        public Builder rope(RopeConfig rope) {
            this.rope = rope;
            return this;
        }

        /**
         * Gate weights of one layer from an official-format file
         * ({@code model.layers.{i}.self_attn.attn_gate.mask_linear_{q,k}.weight}); gate type, hidden size and block
         * size come from its metadata (defaults {@code Qavg_Kmaxminavg}, head dim, 64).
         */
        public Builder gates(Path file, int layer) {
            this.gateFile = file;
            this.gateLayer = layer;
            return this;
        }

        /** Gate weights given directly ({@code wq} null when the gate has no Q linear). */
        public Builder gates(GateConfig config, float[] wq, float[] wk) {
            this.gateConfig = config;
            this.wq = wq;
            this.wk = wk;
            return this;
        }

        /** Any selection rule. */
        public Builder selection(SelectionRule rule) {
            this.rule = rule;
            return this;
        }

        /** Top-k per query-block row for the given causal density, plus the diagonal block. */
        public Builder density(double density) {
            return selection(new SelectionRule.TopK(density, false, true));
        }

        /** Blocks whose gate probability exceeds {@code threshold}, as the official inference path. */
        public Builder threshold(double threshold) {
            return selection(new SelectionRule.Threshold(threshold, true, false));
        }

        /** The engine by name: reference, cpu, cuda or auto (default: {@code -Dseer.backend}, else the fastest). */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /** A specific engine. */
        public Builder engine(Engine engine) {
            this.engine = engine;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws IllegalArgumentException naming what is missing or inconsistent
         */
        public SeerAttention build() {
            new AttentionShape(1, 1, Checks.positive("qHeads", qHeads), Checks.positive("kvHeads", kvHeads),
                    Checks.positive("headDim", headDim));
            if (rule == null) {
                throw new IllegalArgumentException("no selection rule: call density(...), threshold(...) or selection(...)");
            }
            RopeConfig modelRope = rope != null ? rope : RopeConfig.of(10_000, headDim);
            GateConfig config = gateConfig;
            float[] q = wq;
            float[] k = wk;
            if (gateFile != null) {
                if (gateConfig != null) {
                    throw new IllegalArgumentException("give gate weights either from a file or directly, not both");
                }
                GateSet set = GateSet.load(gateFile, new ModelDims(layersIn(gateFile), qHeads, kvHeads, headDim, modelRope));
                if (gateLayer < 0 || gateLayer >= set.size()) {
                    throw new IllegalArgumentException("gate layer " + gateLayer + " is not in " + gateFile
                            + " (layers 0.." + (set.size() - 1) + ")");
                }
                GateParameters p = set.layer(gateLayer);
                config = set.config();
                q = p.wq() == null ? null : p.wqFloats();
                k = p.wkFloats();
            }
            if (config == null) {
                throw new IllegalArgumentException("no gate weights: call gates(file, layer) or gates(config, wq, wk)");
            }
            AttentionShape probe = new AttentionShape(1, 1, qHeads, kvHeads, headDim);
            if (config.hasQLinear(headDim)) {
                Checks.length("W_q (mask_linear_q)", q, config.qWeightElements(probe));
            }
            Checks.length("W_k (mask_linear_k)", k, config.kWeightElements(probe));
            Engine chosen = engine != null ? engine
                    : backend != null ? Engines.byName(backend) : Engines.fromSystemProperty();
            return new SeerAttention(this, config, q, k, chosen);
        }

        private static int layersIn(Path file) {
            int layers = 0;
            try (SafeTensors st = SafeTensors.open(file)) {
                for (String name : st.names()) {
                    Matcher m = GATE_TENSOR.matcher(name);
                    if (m.matches()) {
                        layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
                    }
                }
            }
            if (layers == 0) {
                throw new IllegalArgumentException("gate file " + file
                        + " holds no tensor named model.layers.{i}.self_attn.attn_gate.mask_linear_{q,k}.weight");
            }
            return layers;
        }
    }
}
