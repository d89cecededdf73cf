package org.seerjava.cpu;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineProvider;

/**
 * The Vector API engine: every SeerAttention operation, tiled and multi-threaded on the project's thread pool
 * ({@link Parallel}). Same semantics and argument checks as the reference
 * ({@link org.seerjava.reference.engine.ReferenceEngine}); float32 throughout.
 *
 * <p>Settings: {@code -Dseer.cpu.species=128|256|512|preferred} (vector width), {@code -Dseer.threads=N} (the
 * pool's size; default: the available processors). Needs {@code --add-modules jdk.incubator.vector}. Dense attention
 * runs faster with {@code -XX:ObjectAlignmentInBytes=64} (tiles on cache lines; see {@code Vec} and
 * docs/PERFORMANCE.md); results are the same bits either way.
 */
public final class CpuEngine implements Engine {
    private static final System.Logger LOG = System.getLogger("org.seerjava.cpu");

    /** Creates the engine and logs its species and thread count. */
    public CpuEngine() {
        LOG.log(System.Logger.Level.DEBUG, () -> "cpu engine: " + description());
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "Vector API " + Vec.F + " (" + Vec.F.vectorBitSize() + "-bit, " + Vec.L + " floats), "
                + Parallel.threads() + " threads, " + (Vec.TILE_OFFSET > 0
                        ? "tiles aligned (offset " + Vec.TILE_OFFSET + " floats)"
                        : "tiles not aligned (-XX:ObjectAlignmentInBytes=" + Vec.F.vectorByteSize() + " aligns them)");
    }

    /** The vector width in bits. */
    public static int vectorBits() {
        return Vec.F.vectorBitSize();
    }

    /** The worker thread count. */
    public static int threads() {
        return Parallel.threads();
    }

    @Override
    public void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        Checks.positive("batch", batch);
        Checks.positive("seqLen", seqLen);
        Checks.positive("heads", heads);
        Checks.positive("dim", dim);
        Checks.positive("blockSize", blockSize);
        if (pools == null || pools.isEmpty()) {
            throw new IllegalArgumentException("pools must name at least one pooling function");
        }
        for (int i = 1; i < pools.size(); i++) {
            if (pools.get(i) == null || pools.subList(0, i).contains(pools.get(i))) {
                throw new IllegalArgumentException("pools must be distinct and non-null, got " + pools);
            }
        }
        Checks.length("x", x, (long) batch * seqLen * heads * dim);
        Vec.allFinite("x", x);
        int nb = Math.ceilDiv(seqLen, blockSize);
        Checks.length("out", out, (long) batch * nb * heads * dim * pools.size());
        CpuPooling.pool(x, out, batch, seqLen, heads, dim, blockSize, pools);
    }

    @Override
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config, boolean softmax) {
        if (shape == null || config == null) {
            throw new IllegalArgumentException("shape and gate config must not be null");
        }
        if (config.hasQLinear(shape.headDim())) {
            Checks.length("W_q (mask_linear_q) [Hq, qdup·D, Dg]", wq, config.qWeightElements(shape));
            Vec.allFinite("W_q (mask_linear_q)", wq);
        } else if (wq != null && wq.length != 0) {
            throw new IllegalArgumentException("gate type " + config.type() + " with Dg = D = " + shape.headDim()
                    + " has no Q linear, but W_q (mask_linear_q) was given with " + wq.length + " elements");
        }
        Checks.length("W_k (mask_linear_k) [" + config.kLinearHeads(shape) + ", kdup·D, Dg]", wk,
                config.kWeightElements(shape));
        Vec.allFinite("W_k (mask_linear_k)", wk);
        Vec.allFinite("q", Checks.length("q", q, shape.qElements()));
        Vec.allFinite("k", Checks.length("k", k, shape.kvElements()));
        int nb = shape.blocks(config.blockSize());
        Checks.length("out", out, (long) shape.batch() * shape.qHeads() * nb * nb);
        CpuGate.scores(q, k, wq, wk, out, shape, config, softmax);
    }

    @Override
    public BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        long n = Checks.blockMap(batch, heads, blocks);
        if (rule == null) {
            throw new IllegalArgumentException("selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores", scores, n));
        return CpuSelection.select(scores, batch, heads, blocks, rule);
    }

    @Override
    public void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        checkAttention(q, k, v, out, shape, scale);
        FlashAttention.run(q, k, v, out, null, shape, 64, scale, null);
    }

    @Override
    public void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                            int blockSize, double scale) {
        checkAttention(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        if (mask == null) {
            throw new IllegalArgumentException("block mask must not be null");
        }
        mask.requireShape(shape.batch(), shape.qHeads(), shape.blocks(blockSize));
        FlashAttention.run(q, k, v, out, null, shape, blockSize, scale, mask);
    }

    @Override
    public void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        checkAttention(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        int nb = shape.blocks(blockSize);
        Checks.length("target", target, (long) shape.batch() * shape.qHeads() * nb * nb);
        FlashAttention.run(q, k, v, out, target, shape, blockSize, scale, null);
    }

    @Override
    public double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads,
                                   int blocks) {
        long n = Checks.blockMap(batch, heads, blocks);              // the reference's checks, vectorised
        Vec.allFinite("logits", Checks.length("logits", logits, n));
        Checks.nonNegative("target", Vec.allFinite("target", Checks.length("target", target, n)));
        if (dLogits != null) {
            Checks.length("dLogits", dLogits, n);
        }
        return CpuDistillation.klMean(logits, target, dLogits, batch, heads, blocks);
    }

    private static void checkAttention(float[] q, float[] k, float[] v, float[] out, AttentionShape shape,
                                       double scale) {
        if (shape == null) {
            throw new IllegalArgumentException("attention shape must not be null");
        }
        Checks.finite("scale", scale);
        if (scale <= 0) {
            throw new IllegalArgumentException("scale must be > 0, got " + scale);
        }
        Checks.length("q", q, shape.qElements());    // finiteness of q, k and v is checked in the kernel's packing
        Checks.length("k", k, shape.kvElements());   // passes (k and v before any output is written)
        Checks.length("v", v, shape.kvElements());
        Checks.length("out", out, shape.qElements());
    }

    /** Registers the CPU engine with {@link org.seerjava.reference.engine.Engines} (priority 10). */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "cpu";
        }

        @Override
        public int priority() {
            return 10;
        }

        @Override
        public String unavailableReason() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                return "the Vector API module is not loaded; run java with --add-modules jdk.incubator.vector";
            }
            return null;
        }

        @Override
        public Engine create() {
            return new CpuEngine();
        }
    }

    /** Keeps {@link AttnGate} referenced for the Javadoc of the masked logit. */
    static final double MASKED_LOGIT = AttnGate.MASKED_LOGIT;
}
