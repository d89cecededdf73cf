package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.SelectionRule;

/**
 * The argument checks of every {@link Engine} operation, in one place. Each engine calls the method named after an
 * operation first, before it computes or writes anything, so that bad input fails the same way on every engine: an
 * {@link IllegalArgumentException} whose message names the argument, what was expected and what was found (the
 * messages of {@link Checks}).
 *
 * <p>Checked: nulls (arrays, shape, gate config, mask, rule, pooling functions), array lengths against the shape,
 * sizes and the block size (&gt; 0), the attention scale (finite, &gt; 0), the mask's shape, the gate weights'
 * lengths, and the values: no NaN or ±∞ in q, k, v, x, gate weights and logits, no NaN in scores (−∞ marks masked
 * blocks there), a distillation target finite and ≥ 0.
 *
 * <p>Value scans. The values are checked by a {@link FiniteScan}: {@link #SCALAR} scans element by element; an
 * engine may pass a faster scan (vectorised, parallel) that fails with the same message, e.g. by calling
 * {@link Checks#allFinite} once it has found a bad value. An engine whose attention kernel reads q, k and v in a
 * pass before it writes any output may check them there instead ({@link #SCANNED_BY_KERNEL} for the attention
 * scan) and report a bad value through {@link Checks#allFinite}.
 */
public final class EngineArgs {
    /** Checks that an array holds no NaN or ±∞; throws {@link Checks#allFinite}'s exception otherwise. */
    @FunctionalInterface
    public interface FiniteScan {
        /** Throws an {@link IllegalArgumentException} naming {@code name} when {@code values} holds NaN or ±∞. */
        void requireFinite(String name, float[] values);
    }

    /** The element-by-element scan of {@link Checks#allFinite}. */
    public static final FiniteScan SCALAR_SCAN = Checks::allFinite;

    /**
     * For the attention operations of an engine whose kernel checks q, k and v itself before writing any output,
     * and reports a bad value with {@link Checks#allFinite}'s message.
     */
    public static final FiniteScan SCANNED_BY_KERNEL = (name, values) -> { };

    /** Every check, values scanned element by element. */
    public static final EngineArgs SCALAR = new EngineArgs(SCALAR_SCAN);

    private final FiniteScan scan;
    private final FiniteScan attentionScan;

    /** Checks whose values are scanned by {@code scan}, in the attention operations too. */
    public EngineArgs(FiniteScan scan) {
        this(scan, scan);
    }

    /**
     * Checks whose values are scanned by {@code scan}, except q, k and v of the attention operations, scanned by
     * {@code attentionScan} (e.g. {@link #SCANNED_BY_KERNEL}).
     */
    public EngineArgs(FiniteScan scan, FiniteScan attentionScan) {
        if (scan == null || attentionScan == null) {
            throw new IllegalArgumentException("finite scans must not be null");
        }
        this.scan = scan;
        this.attentionScan = attentionScan;
    }

    /** {@link PoolingOps#pool}: {@code x [batch, seqLen, heads, dim]}, {@code out [batch, nb, heads, dim·pools]}. */
    public void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        long outElements = Pooling.outputElements(batch, seqLen, heads, dim, blockSize, pools);
        Checks.length("x", x, (long) batch * seqLen * heads * dim);
        Checks.length("out", out, outElements);
        scan.requireFinite("x", x);
    }

    /**
     * {@link GateOps#gateScores}: pre-RoPE {@code q}, {@code k}, the weights of the gate's case ({@code W_q} only
     * when it has a Q linear) and {@code out [B, Hq, nb, nb]}.
     */
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config) {
        Checks.shape(shape);
        if (config == null) {
            throw new IllegalArgumentException("gate config must not be null");
        }
        if (config.hasQLinear(shape.headDim())) {
            Checks.length("W_q (mask_linear_q) [Hq, qdup·D, Dg]", wq, config.qWeightElements(shape));
        } else if (wq != null && wq.length != 0) {
            throw new IllegalArgumentException("gate type " + config.type() + " with Dg = D = " + shape.headDim()
                    + " has no Q linear, but W_q (mask_linear_q) was given with " + wq.length + " elements");
        }
        Checks.length("W_k (mask_linear_k) [" + config.kLinearHeads(shape) + ", kdup·D, Dg]", wk,
                config.kWeightElements(shape));
        Checks.length("q", q, shape.qElements());
        Checks.length("k", k, shape.kvElements());
        int nb = shape.blocks(config.blockSize());
        Checks.length("out", out, (long) shape.batch() * shape.qHeads() * nb * nb);
        if (wq != null && wq.length != 0) {
            scan.requireFinite("W_q (mask_linear_q)", wq);
        }
        scan.requireFinite("W_k (mask_linear_k)", wk);
        scan.requireFinite("q", q);
        scan.requireFinite("k", k);
    }

    /** {@link SelectionOps#select}: {@code scores [batch, heads, blocks, blocks]}, no NaN, and a rule. */
    public void select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        long n = Checks.blockMap(batch, heads, blocks);
        if (rule == null) {
            throw new IllegalArgumentException("selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores", scores, n));
    }

    /** {@link AttentionOps#denseCausal}: post-RoPE q, k, v and {@code out [B, N, Hq, D]}, a finite scale &gt; 0. */
    public void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        attention(q, k, v, out, shape, scale);
        attentionValues(q, k, v);
    }

    /** {@link AttentionOps#blockSparse}: as {@link #denseCausal}, plus a block size and a mask {@code [B, Hq, nb, nb]}. */
    public void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                            int blockSize, double scale) {
        attention(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        if (mask == null) {
            throw new IllegalArgumentException("block mask must not be null");
        }
        mask.requireShape(shape.batch(), shape.qHeads(), shape.blocks(blockSize));
        attentionValues(q, k, v);
    }

    /**
     * {@link DistillationOps#attentionWithPooledTarget}: as {@link #denseCausal}, plus a block size and
     * {@code target [B, Hq, nb, nb]}.
     */
    public void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        attention(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        int nb = shape.blocks(blockSize);
        Checks.length("target", target, (long) shape.batch() * shape.qHeads() * nb * nb);
        attentionValues(q, k, v);
    }

    /**
     * {@link DistillationOps#distillationLoss}: finite {@code logits}, a finite {@code target} ≥ 0, both
     * {@code [batch, heads, blocks, blocks]}, and {@code dLogits} of that size when given.
     */
    public void distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads,
                                 int blocks) {
        long n = Checks.blockMap(batch, heads, blocks);
        Checks.length("logits", logits, n);
        Checks.length("target", target, n);
        if (dLogits != null) {
            Checks.length("dLogits", dLogits, n);
        }
        scan.requireFinite("logits", logits);
        scan.requireFinite("target", target);
        Checks.nonNegative("target", target);
    }

    private static void attention(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        Checks.shape(shape);
        Checks.scale(scale);
        Checks.length("q", q, shape.qElements());
        Checks.length("k", k, shape.kvElements());
        Checks.length("v", v, shape.kvElements());
        Checks.length("out", out, shape.qElements());
    }

    private void attentionValues(float[] q, float[] k, float[] v) {
        attentionScan.requireFinite("q", q);
        attentionScan.requireFinite("k", k);
        attentionScan.requireFinite("v", v);
    }
}
