package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenPrefill;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.decode.DecodeSelectionRule;

/**
 * The argument checks of every {@link Engine} operation, in one place. Each engine calls the method named after an
 * operation first, before it computes or writes anything, so that bad input fails the same way on every engine: an
 * {@link IllegalArgumentException} whose message names the argument, what was expected and what was found (the
 * messages of {@link Checks}).
 *
 * <p>Checked: nulls (arrays, shape, gate config, mask, rule, pooling functions), array lengths against the shape,
 * sizes and the block size (&gt; 0), the attention scale (finite, &gt; 0), the mask's shape, the gate weights'
 * lengths, and the values: no NaN or ±∞ in q, k, v, x, gate weights and logits, no NaN in scores (−∞ marks masked
 * blocks there), a distillation target finite and ≥ 0. The varlen operations (docs/SPEC.md §11) check the packed
 * rows against the offsets ({@link Checks#packedRows}: an array whose rows are not {@code cuSeqLens[B]} is named as
 * such), block maps against {@code Σ_b H·nb_b²} and one mask per sequence; their range bounds are the longest
 * sequence's.
 *
 * <p>Range. Finite inputs can still overflow float32 on the way: q·k of two vectors near 10^20 is beyond its
 * largest value (≈ 3.4·10^38), and the float64 reference would return an answer the float32 engines cannot. So every
 * engine refuses, with the same message, inputs for which a bound on a float32 intermediate exceeds
 * {@link #RANGE_LIMIT} = 2^126 ≈ 8.5·10^37 (a quarter of the largest float, a margin for rounding), the bounds being
 * computed from the largest magnitudes of the inputs:
 * <ul>
 *   <li>attention ({@link #attentionRange}): the scaled query {@code max|q| · max(1, scale)}, the scores
 *       {@code D · max|q| · max|k| · max(1, scale)} and the unnormalised softmax-weighted sum of values
 *       {@code N · max|v|} (each weight is at most 1 after the row maximum is subtracted);</li>
 *   <li>the gate ({@link #gateRange}): the block sums of average pooling {@code B · max|q|} and {@code B · max|k|},
 *       the gate query {@code qdup · D · max|q| · max|W_q|} (max|q| without a Q linear), the gate key
 *       {@code kdup · D · max|k| · max|W_k|}, and the logits {@code 2 · Dg · |gate query| · |gate key|} (RoPE can
 *       grow a component by √2);</li>
 *   <li>pooling: {@code B · max|x|}.</li>
 * </ul>
 * Inputs of real models are many orders of magnitude inside these limits.
 *
 * <p>Value scans. The values are checked by a {@link FiniteScan}, which also returns their largest magnitude:
 * {@link #SCALAR} scans element by element; an engine may pass a faster scan (vectorised, parallel) that fails with
 * the same message, e.g. by calling {@link Checks#allFinite} once it has found a bad value. An engine whose attention
 * kernel reads q, k and v in a pass before it writes any output may check them there instead
 * ({@link #SCANNED_BY_KERNEL} for the attention scan), report a bad value through {@link Checks#allFinite} and call
 * {@link #attentionRange} with the magnitudes it found.
 */
public final class EngineArgs {
    /** Checks that an array holds no NaN or ±∞ and returns its largest magnitude. */
    @FunctionalInterface
    public interface FiniteScan {
        /**
         * Throws an {@link IllegalArgumentException} naming {@code name} when {@code values} holds NaN or ±∞.
         *
         * @return max |x| over the values (0 when empty)
         */
        float requireFinite(String name, float[] values);
    }

    /** The largest bound accepted on a float32 intermediate: 2^126 ≈ 8.5·10^37. */
    public static final double RANGE_LIMIT = 0x1p126;

    /** The element-by-element scan of {@link Checks#maxAbsFinite}. */
    public static final FiniteScan SCALAR_SCAN = Checks::maxAbsFinite;

    /**
     * For the attention operations of an engine whose kernel checks q, k and v itself before writing any output,
     * reports a bad value with {@link Checks#allFinite}'s message and calls {@link #attentionRange}.
     */
    public static final FiniteScan SCANNED_BY_KERNEL = (name, values) -> Float.NaN;

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
        float maxX = scan.requireFinite("x", x);
        bound("x", "block sums of average pooling", "B · max|x|", (double) blockSize * maxX);
    }

    /**
     * {@link GateOps#gateScores}: pre-RoPE {@code q}, {@code k}, the weights of the gate's case ({@code W_q} only
     * when it has a Q linear) and {@code out [B, Hq, nb, nb]}.
     */
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config) {
        Checks.shape(shape);
        gateWeights(wq, wk, shape, config);
        Checks.length("q", q, shape.qElements());
        Checks.length("k", k, shape.kvElements());
        int nb = shape.blocks(config.blockSize());
        Checks.length("out", out, (long) shape.batch() * shape.qHeads() * nb * nb);
        gateValues(q, k, wq, wk, shape, config);
    }

    /** The gate's config and the weights of its case ({@code W_q} only when it has a Q linear). */
    private static void gateWeights(float[] wq, float[] wk, AttentionShape shape, GateConfig config) {
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
    }

    /** Scans the weights, q and k (in that order) and applies {@link #gateRange}. */
    private void gateValues(float[] q, float[] k, float[] wq, float[] wk, AttentionShape shape, GateConfig config) {
        float maxWq = wq != null && wq.length != 0 ? scan.requireFinite("W_q (mask_linear_q)", wq) : 0;
        float maxWk = scan.requireFinite("W_k (mask_linear_k)", wk);
        float maxQ = scan.requireFinite("q", q);
        float maxK = scan.requireFinite("k", k);
        gateRange(shape, config, maxQ, maxK, maxWq, maxWk);
    }

    /**
     * Refuses gate inputs whose float32 intermediates could overflow (see the class comment).
     *
     * @param shape  the attention shape
     * @param config the gate
     * @param maxQ   max |q| (pre-RoPE)
     * @param maxK   max |k| (pre-RoPE)
     * @param maxWq  max |W_q| (0 without a Q linear)
     * @param maxWk  max |W_k|
     * @throws IllegalArgumentException naming the tensors, the bound, its value and the limit
     */
    public static void gateRange(AttentionShape shape, GateConfig config, double maxQ, double maxK, double maxWq,
                                 double maxWk) {
        double b = config.blockSize();
        double d = shape.headDim();
        bound("q", "gate block sums of average pooling", "B · max|q|", b * maxQ);
        bound("k", "gate block sums of average pooling", "B · max|k|", b * maxK);
        boolean qLinear = config.hasQLinear(shape.headDim());
        double gq = qLinear ? config.type().qDup() * d * maxQ * maxWq : maxQ;
        double gk = config.type().kDup() * d * maxK * maxWk;
        if (qLinear) {
            bound("q and W_q", "the gate query", "qdup · D · max|q| · max|W_q|", gq);
        }
        bound("k and W_k", "the gate key", "kdup · D · max|k| · max|W_k|", gk);
        bound(qLinear ? "q, k and the gate weights" : "q, k and W_k", "the gate logits",
                "2 · Dg · |gate query| · |gate key|", 2.0 * config.hiddenSize() * gq * gk);
    }

    /**
     * Refuses attention inputs whose float32 intermediates could overflow (see the class comment).
     *
     * @param shape the attention shape
     * @param scale the softmax scale
     * @param maxQ  max |q|
     * @param maxK  max |k|
     * @param maxV  max |v|
     * @throws IllegalArgumentException naming the tensors, the bound, its value and the limit
     */
    public static void attentionRange(AttentionShape shape, double scale, double maxQ, double maxK, double maxV) {
        double s = Math.max(1, scale);
        bound("q", "the scaled query", "max|q| · max(1, scale)", maxQ * s);
        bound("q and k", "the attention scores", "D · max|q| · max|k| · max(1, scale)",
                shape.headDim() * maxQ * maxK * s);
        bound("v", "the softmax-weighted sum of values", "N · max|v|", shape.seqLen() * maxV);
    }

    private static void bound(String tensors, String what, String formula, double value) {
        if (!(value <= RANGE_LIMIT)) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "%s too large for float32: %s could overflow (%s = %.4g exceeds 2^126 = %.4g; every engine "
                            + "refuses such inputs, see EngineArgs)", tensors, what, formula, value, RANGE_LIMIT));
        }
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
        attentionValues(q, k, v, shape, scale);
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
        attentionValues(q, k, v, shape, scale);
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
        attentionValues(q, k, v, shape, scale);
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

    // ---- varlen batches (docs/SPEC.md §11) ----------------------------------------------------------------------

    private static VarlenBatch varlen(VarlenBatch batch) {
        if (batch == null) {
            throw new IllegalArgumentException("varlen batch must not be null");
        }
        return batch;
    }

    private static VarlenShape varlen(VarlenShape shape) {
        if (shape == null) {
            throw new IllegalArgumentException("varlen shape must not be null");
        }
        return shape;
    }

    /**
     * {@link PoolingOps#poolVarlen}: {@code x [total, heads, dim]} with total = {@code cuSeqLens[B]},
     * {@code out [Σ nb_b, heads, dim·pools]}.
     */
    public void poolVarlen(float[] x, float[] out, VarlenBatch batch, int heads, int dim, int blockSize,
                           List<Pool> pools) {
        varlen(batch);
        Pooling.outputElements(1, batch.maxLength(), heads, dim, blockSize, pools);
        Checks.packedRows("x [total, heads, dim]", x, batch, (long) heads * dim);
        Checks.length("out [Σ nb_b, heads, dim·pools]", out,
                (long) batch.totalBlocks(blockSize) * heads * dim * pools.size());
        float maxX = scan.requireFinite("x", x);
        bound("x", "block sums of average pooling", "B · max|x|", (double) blockSize * maxX);
    }

    /**
     * {@link GateOps#gateScoresVarlen}: pre-RoPE {@code q [total, Hq, D]}, {@code k [total, Hkv, D]}, the weights of
     * the gate's case and {@code out Σ_b [Hq, nb_b, nb_b]}; the range of the longest sequence.
     */
    public void gateScoresVarlen(float[] q, float[] k, float[] wq, float[] wk, float[] out, VarlenShape shape,
                                 GateConfig config) {
        varlen(shape);
        AttentionShape longest = shape.longestSequence();
        gateWeights(wq, wk, longest, config);
        VarlenBatch batch = shape.batch();
        Checks.packedRows("q [total, Hq, D]", q, batch, (long) shape.qHeads() * shape.headDim());
        Checks.packedRows("k [total, Hkv, D]", k, batch, (long) shape.kvHeads() * shape.headDim());
        Checks.length("out Σ_b [Hq, nb_b, nb_b]", out, batch.mapElements(shape.qHeads(), config.blockSize()));
        gateValues(q, k, wq, wk, longest, config);
    }

    /** {@link SelectionOps#selectVarlen}: {@code scores Σ_b [heads, nb_b, nb_b]} without NaN, and a rule. */
    public void selectVarlen(float[] scores, VarlenBatch batch, int heads, int blockSize, SelectionRule rule) {
        varlen(batch);
        int n = batch.mapElements(heads, blockSize);
        if (rule == null) {
            throw new IllegalArgumentException("selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores Σ_b [heads, nb_b, nb_b]", scores, n));
    }

    /** {@link AttentionOps#denseCausalVarlen}: post-RoPE q, k, v and {@code out [total, H, D]}, a finite scale &gt; 0. */
    public void denseCausalVarlen(float[] q, float[] k, float[] v, float[] out, VarlenShape shape, double scale) {
        attentionVarlen(q, k, v, out, shape, scale);
        attentionValuesVarlen(q, k, v, shape, scale);
    }

    /**
     * {@link AttentionOps#blockSparseVarlen}: as {@link #denseCausalVarlen}, plus a block size and one mask
     * {@code [1, Hq, nb_b, nb_b]} per sequence.
     */
    public void blockSparseVarlen(float[] q, float[] k, float[] v, List<BlockMask> masks, float[] out,
                                  VarlenShape shape, int blockSize, double scale) {
        attentionVarlen(q, k, v, out, shape, scale);
        VarlenPrefill.requireMasks(masks, shape.batch(), shape.qHeads(), blockSize);
        attentionValuesVarlen(q, k, v, shape, scale);
    }

    /**
     * {@link DistillationOps#attentionWithPooledTargetVarlen}: as {@link #denseCausalVarlen}, plus a block size and
     * {@code target Σ_b [Hq, nb_b, nb_b]}.
     */
    public void attentionWithPooledTargetVarlen(float[] q, float[] k, float[] v, float[] out, float[] target,
                                                VarlenShape shape, int blockSize, double scale) {
        attentionVarlen(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        Checks.length("target Σ_b [Hq, nb_b, nb_b]", target, shape.batch().mapElements(shape.qHeads(), blockSize));
        attentionValuesVarlen(q, k, v, shape, scale);
    }

    /**
     * {@link #attentionRange(AttentionShape, double, double, double, double)} for a varlen call: the bounds of its
     * longest sequence, since no softmax sums over more than one sequence's keys.
     */
    public static void attentionRange(VarlenShape shape, double scale, double maxQ, double maxK, double maxV) {
        attentionRange(shape.longestSequence(), scale, maxQ, maxK, maxV);
    }

    private static void attentionVarlen(float[] q, float[] k, float[] v, float[] out, VarlenShape shape,
                                        double scale) {
        varlen(shape);
        Checks.scale(scale);
        VarlenBatch batch = shape.batch();
        long qRow = (long) shape.qHeads() * shape.headDim();
        long kvRow = (long) shape.kvHeads() * shape.headDim();
        Checks.packedRows("q [total, Hq, D]", q, batch, qRow);
        Checks.packedRows("k [total, Hkv, D]", k, batch, kvRow);
        Checks.packedRows("v [total, Hkv, D]", v, batch, kvRow);
        Checks.packedRows("out [total, Hq, D]", out, batch, qRow);
    }

    private void attentionValuesVarlen(float[] q, float[] k, float[] v, VarlenShape shape, double scale) {
        if (attentionScan == SCANNED_BY_KERNEL) {
            return;                                   // the kernel scans and calls attentionRange itself
        }
        float maxQ = attentionScan.requireFinite("q", q);
        float maxK = attentionScan.requireFinite("k", k);
        float maxV = attentionScan.requireFinite("v", v);
        attentionRange(shape, scale, maxQ, maxK, maxV);
    }

    // ---- SeerAttention-R decoding (DecodeOps) -------------------------------------------------------------------

    private static void gate(DecodeGateWeights gate) {
        if (gate == null) {
            throw new IllegalArgumentException("decode gate weights must not be null");
        }
    }

    /** {@link DecodeOps#decodeGateQuery}: {@code qNope [batch, Hq, D]}, {@code qGate [batch, Hkv, Dg]}, a position ≥ 0. */
    public void decodeGateQuery(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position) {
        gate(gate);
        Checks.positive("batch", batch);
        Checks.nonNegative("position", position);
        Checks.length("qNope [batch, Hq, D]", qNope, (long) batch * gate.qHeads() * gate.headDim());
        Checks.length("qGate [batch, Hkv, Dg]", qGate, (long) batch * gate.kvHeads() * gate.hiddenSize());
        scan.requireFinite("qNope", qNope);
    }

    /**
     * {@link DecodeOps#compressedKeys}: {@code kNope [batch, seqLen, Hkv, D]}, {@code out [batch, nb, Hkv, Dg]}
     * and nb positions ≥ 0.
     */
    public void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                               int[] blockPositions) {
        gate(gate);
        Checks.positive("batch", batch);
        Checks.positive("seqLen", seqLen);
        int nb = Math.ceilDiv(seqLen, gate.blockSize());
        Checks.length("kNope [batch, seqLen, Hkv, D]", kNope, (long) batch * seqLen * gate.kvHeads() * gate.headDim());
        Checks.length("out [batch, nb, Hkv, Dg]", out, (long) batch * nb * gate.kvHeads() * gate.hiddenSize());
        if (blockPositions == null || blockPositions.length != nb) {
            throw new IllegalArgumentException("blockPositions must have nb = ceil(" + seqLen + " / "
                    + gate.blockSize() + ") = " + nb + " entries, got "
                    + (blockPositions == null ? "null" : blockPositions.length));
        }
        for (int n = 0; n < nb; n++) {
            Checks.nonNegative("blockPositions[" + n + "]", blockPositions[n]);
        }
        scan.requireFinite("kNope", kNope);
    }

    /**
     * {@link DecodeOps#decodeGateScores}: {@code qGate [batch, Hkv, Dg]}, {@code kCompressed [batch, blocks, Hkv, Dg]},
     * a block attention mask {@code [batch, blocks]} or null, {@code out [batch, Hkv, blocks]}.
     */
    public void decodeGateScores(DecodeGateWeights gate, float[] qGate, float[] kCompressed,
                                 boolean[] blockAttentionMask, float[] out, int batch, int blocks) {
        gate(gate);
        Checks.positive("batch", batch);
        Checks.positive("blocks", blocks);
        int hkv = gate.kvHeads();
        int dg = gate.hiddenSize();
        Checks.length("qGate [batch, Hkv, Dg]", qGate, (long) batch * hkv * dg);
        Checks.length("kCompressed [batch, nb, Hkv, Dg]", kCompressed, (long) batch * blocks * hkv * dg);
        Checks.length("out [batch, Hkv, nb]", out, (long) batch * hkv * blocks);
        blockMask(blockAttentionMask, batch, blocks);
        scan.requireFinite("qGate", qGate);
        scan.requireFinite("kCompressed", kCompressed);
    }

    private static void blockMask(boolean[] mask, int batch, int blocks) {
        if (mask != null && mask.length != (long) batch * blocks) {
            throw new IllegalArgumentException("blockAttentionMask [batch, nb] has " + mask.length
                    + " elements, expected " + (long) batch * blocks);
        }
    }

    /** {@link DecodeOps#decodeSelect}: {@code scores [batch, Hkv, blocks]} without NaN, a rule, an optional block mask. */
    public void decodeSelect(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                             boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        Checks.positive("batch", batch);
        Checks.positive("kvHeads (Hkv)", kvHeads);
        Checks.positive("blocks", blocks);
        Checks.positive("blockSize", blockSize);
        if (rule == null) {
            throw new IllegalArgumentException("decode selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores [batch, Hkv, nb]", scores, (long) batch * kvHeads * blocks));
        blockMask(blockAttentionMask, batch, blocks);
    }

    /**
     * {@link DecodeOps#sparseDecode}: {@code q, out [batch, Hq, D]}, caches {@code [batch, Lmax, Hkv, D]}, sequence
     * lengths in [1, Lmax], a mask {@code [batch, Hkv, nb]}, a block size and scale.
     */
    public void sparseDecode(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask,
                             float[] out, AttentionShape shape, int blockSize, double scale) {
        Checks.shape(shape);
        Checks.positive("blockSize", blockSize);
        Checks.scale(scale);
        int batch = shape.batch();
        long qElements = (long) batch * shape.qHeads() * shape.headDim();
        Checks.length("q [batch, Hq, D]", q, qElements);
        Checks.length("kCache [batch, Lmax, Hkv, D]", kCache, shape.kvElements());
        Checks.length("vCache [batch, Lmax, Hkv, D]", vCache, shape.kvElements());
        Checks.length("out [batch, Hq, D]", out, qElements);
        if (cacheSeqLens == null || cacheSeqLens.length != batch) {
            throw new IllegalArgumentException("cacheSeqLens must have batch = " + batch + " entries, got "
                    + (cacheSeqLens == null ? "null" : cacheSeqLens.length));
        }
        for (int b = 0; b < batch; b++) {
            if (cacheSeqLens[b] < 1 || cacheSeqLens[b] > shape.seqLen()) {
                throw new IllegalArgumentException("cacheSeqLens[" + b + "] must be in [1, Lmax = " + shape.seqLen()
                        + "], got " + cacheSeqLens[b]);
            }
        }
        long maskElements = (long) batch * shape.kvHeads() * shape.blocks(blockSize);
        if (mask == null || mask.length != maskElements) {
            throw new IllegalArgumentException("mask [batch, Hkv, nb] has " + (mask == null ? "null" : mask.length)
                    + " elements, expected " + maskElements);
        }
        if (attentionScan == SCANNED_BY_KERNEL) {
            return;                                   // the engine scans and calls attentionRange itself
        }
        float maxQ = attentionScan.requireFinite("q", q);
        float maxK = attentionScan.requireFinite("kCache", kCache);
        float maxV = attentionScan.requireFinite("vCache", vCache);
        attentionRange(shape, scale, maxQ, maxK, maxV);
    }

    /**
     * {@link DecodeOps#sparseDecodeRows}: one sequence (batch 1), q, k, v, out as in {@link #denseCausal}, from in
     * [0, N) and a mask {@code [N − from, Hkv, nb]}.
     */
    public void sparseDecodeRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out,
                                 AttentionShape shape, int blockSize, double scale) {
        attention(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        if (shape.batch() != 1) {
            throw new IllegalArgumentException("teacher-forced decoding takes one sequence (batch 1), got batch "
                    + shape.batch());
        }
        int n = shape.seqLen();
        if (from < 0 || from >= n) {
            throw new IllegalArgumentException("from must be in [0, N = " + n + "), got " + from);
        }
        long maskElements = (long) (n - from) * shape.kvHeads() * shape.blocks(blockSize);
        if (mask == null || mask.length != maskElements) {
            throw new IllegalArgumentException("mask [N − from, Hkv, nb] has " + (mask == null ? "null" : mask.length)
                    + " elements, expected " + maskElements);
        }
        attentionValues(q, k, v, shape, scale);
    }

    /**
     * {@link DecodeOps#attentionWithDecodeTarget}: as {@link #denseCausal}, plus a block size and
     * {@code target [B, Hkv, N, nb]}.
     */
    public void attentionWithDecodeTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        attention(q, k, v, out, shape, scale);
        Checks.positive("blockSize", blockSize);
        Checks.length("target [B, Hkv, N, nb]", target,
                (long) shape.batch() * shape.kvHeads() * shape.seqLen() * shape.blocks(blockSize));
        attentionValues(q, k, v, shape, scale);
    }

    private static void attention(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        Checks.shape(shape);
        Checks.scale(scale);
        Checks.length("q", q, shape.qElements());
        Checks.length("k", k, shape.kvElements());
        Checks.length("v", v, shape.kvElements());
        Checks.length("out", out, shape.qElements());
    }

    private void attentionValues(float[] q, float[] k, float[] v, AttentionShape shape, double scale) {
        if (attentionScan == SCANNED_BY_KERNEL) {
            return;                                   // the kernel scans and calls attentionRange itself
        }
        float maxQ = attentionScan.requireFinite("q", q);
        float maxK = attentionScan.requireFinite("k", k);
        float maxV = attentionScan.requireFinite("v", v);
        attentionRange(shape, scale, maxQ, maxK, maxV);
    }
}
