package org.seerjava.reference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The prefill operations on a varlen batch (docs/SPEC.md §11), written as their definition: each sequence is exactly
 * a single-sequence prefill of its own length. Every operation takes sequence b out of the packed tensors, runs the
 * single-sequence operation on it, and places the result at the sequence's offset ({@link VarlenBatch}):
 * <pre>
 *   out_b = op(x[cu[b] … cu[b+1]))   for b = 0 … B−1,        out = concat_b out_b
 * </pre>
 * So, per sequence b of N_b tokens and nb_b = ⌈N_b / bs⌉ blocks:
 * <ul>
 *   <li>block i covers the packed rows {@code [cu[b] + i·bs, min(cu[b] + (i+1)·bs, cu[b+1]))}: blocks are cut from
 *       the sequence's first token and its last block may be partial ({@link Pooling});</li>
 *   <li>the gate rotates the query and key of block i at position i·bs, counted from the sequence's first token
 *       ({@link AttnGate}); its scores are {@code [Hq, nb_b, nb_b]};</li>
 *   <li>selection sees one sequence's scores: top-k's {@code k = max(1, ⌊(1 − √(1 − nz)) · nb_b⌋)} and
 *       last-block-dense keeps rows nb_b − 2 and nb_b − 1 ({@link BlockSelection}); one {@link BlockMask}
 *       {@code [1, Hq, nb_b, nb_b]} per sequence;</li>
 *   <li>attention row r of sequence b attends keys c of the same sequence only:
 *       {@code out[cu[b] + r] = Σ_{c ≤ r, mask_b[h, r/bs, c/bs]} softmax_c(q[cu[b] + r] · k[cu[b] + c] · scale) · v[cu[b] + c]}
 *       ({@link BlockSparseAttention}, {@link DenseAttention});</li>
 *   <li>the pooled target is each sequence's own {@code [Hq, nb_b, nb_b]} ({@link PooledAttentionTarget}).</li>
 * </ul>
 * Inputs are checked against the packed layout first, so a message's flat index is an index of the packed array.
 */
public final class VarlenPrefill {
    private VarlenPrefill() {
    }

    /**
     * Pools {@code x [total, heads, dim]} into {@code out [Σ nb_b, heads, dim·pools]}: {@link Pooling#pool} per
     * sequence.
     *
     * @throws IllegalArgumentException on bad sizes, offsets that do not match x, or NaN/±∞ input
     */
    public static void pool(double[] x, double[] out, VarlenBatch batch, int heads, int dim, int blockSize,
                            List<Pool> pools) {
        requireBatch(batch);
        Pooling.outputElements(1, batch.maxLength(), heads, dim, blockSize, pools);
        int features = dim * pools.size();
        Checks.allFinite("x", Checks.packedRows("x [total, heads, dim]", x, batch, (long) heads * dim));
        Checks.length("out [Σ nb_b, heads, dim·pools]", out, (long) batch.totalBlocks(blockSize) * heads * features);
        int[] cuBlocks = batch.cuBlocks(blockSize);
        for (int b = 0; b < batch.sequences(); b++) {
            int n = batch.length(b);
            int nb = cuBlocks[b + 1] - cuBlocks[b];
            double[] pooled = new double[nb * heads * features];
            Pooling.pool(rows(x, batch.start(b), n, heads * dim), pooled, 1, n, heads, dim, blockSize, pools);
            System.arraycopy(pooled, 0, out, cuBlocks[b] * heads * features, pooled.length);
        }
    }

    /**
     * Gate scores {@code out = Σ_b [Hq, nb_b, nb_b]} from pre-RoPE {@code q [total, Hq, D]}, {@code k [total, Hkv, D]}:
     * each sequence's {@link AttnGate#forward} logits, or their row softmax when {@code softmax} is true.
     *
     * @param wq {@code W_q [Hq, qdup·D, Dg]}, or null when the gate has no Q linear
     * @param wk {@code W_k [heads, kdup·D, Dg]}
     * @throws IllegalArgumentException on bad sizes or weights, offsets that do not match q, or NaN/±∞ input
     */
    public static void gateScores(double[] q, double[] k, double[] wq, double[] wk, double[] out, VarlenShape shape,
                                  GateConfig config, boolean softmax) {
        requireShape(shape);
        if (config == null) {
            throw new IllegalArgumentException("gate config must not be null");
        }
        VarlenBatch batch = shape.batch();
        int d = shape.headDim();
        Checks.allFinite("q", Checks.packedRows("q [total, Hq, D]", q, batch, (long) shape.qHeads() * d));
        Checks.allFinite("k", Checks.packedRows("k [total, Hkv, D]", k, batch, (long) shape.kvHeads() * d));
        int[] cuMaps = batch.cuMaps(shape.qHeads(), config.blockSize());
        Checks.length("out Σ_b [Hq, nb_b, nb_b]", out, cuMaps[batch.sequences()]);
        for (int b = 0; b < batch.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            AttnGate gate = new AttnGate(s, config, wq, wk);
            AttnGate.Forward f = gate.forward(rows(q, batch.start(b), s.seqLen(), s.qHeads() * d),
                    rows(k, batch.start(b), s.seqLen(), s.kvHeads() * d));
            double[] map = softmax ? AttnGate.softmaxRows(f.logits(), f.blocks()) : f.logits();
            System.arraycopy(map, 0, out, cuMaps[b], map.length);
        }
    }

    /**
     * One block mask {@code [1, heads, nb_b, nb_b]} per sequence from the packed scores {@code Σ_b [heads, nb_b, nb_b]}:
     * {@link BlockSelection#select} per sequence.
     *
     * @throws IllegalArgumentException on bad sizes, a null rule or NaN scores
     */
    public static List<BlockMask> select(double[] scores, VarlenBatch batch, int heads, int blockSize,
                                         SelectionRule rule) {
        requireBatch(batch);
        int[] cuMaps = batch.cuMaps(heads, blockSize);
        if (rule == null) {
            throw new IllegalArgumentException("selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores Σ_b [heads, nb_b, nb_b]", scores, cuMaps[batch.sequences()]));
        List<BlockMask> masks = new ArrayList<>(batch.sequences());
        for (int b = 0; b < batch.sequences(); b++) {
            int nb = batch.blocks(b, blockSize);
            masks.add(BlockSelection.select(Arrays.copyOfRange(scores, cuMaps[b], cuMaps[b + 1]), 1, heads, nb, rule));
        }
        return List.copyOf(masks);
    }

    /**
     * Dense causal attention {@code out [total, Hq, D]} on post-RoPE q, k: {@link DenseAttention#causal} per
     * sequence.
     */
    public static void denseCausal(double[] q, double[] k, double[] v, double[] out, VarlenShape shape,
                                   double scale) {
        checkAttention(q, k, v, out, shape, scale);
        VarlenBatch batch = shape.batch();
        for (int b = 0; b < batch.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            double[] o = new double[s.qElements()];
            DenseAttention.causal(qRows(q, shape, b), kvRows(k, shape, b), kvRows(v, shape, b), o, s, scale);
            System.arraycopy(o, 0, out, batch.start(b) * shape.qHeads() * shape.headDim(), o.length);
        }
    }

    /**
     * Block-sparse attention {@code out [total, Hq, D]} on post-RoPE q, k with mask b ({@code [1, Hq, nb_b, nb_b]})
     * for sequence b: {@link BlockSparseAttention#forward} per sequence; a row that keeps no block is zero.
     */
    public static void blockSparse(double[] q, double[] k, double[] v, List<BlockMask> masks, double[] out,
                                   VarlenShape shape, int blockSize, double scale) {
        checkAttention(q, k, v, out, shape, scale);
        requireMasks(masks, shape.batch(), shape.qHeads(), blockSize);
        VarlenBatch batch = shape.batch();
        for (int b = 0; b < batch.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            double[] o = new double[s.qElements()];
            BlockSparseAttention.forward(qRows(q, shape, b), kvRows(k, shape, b), kvRows(v, shape, b), masks.get(b), o,
                    s, blockSize, scale);
            System.arraycopy(o, 0, out, batch.start(b) * shape.qHeads() * shape.headDim(), o.length);
        }
    }

    /**
     * The pooled distillation target {@code Σ_b [Hq, nb_b, nb_b]} on post-RoPE q, k: {@link PooledAttentionTarget#compute}
     * per sequence.
     */
    public static void pooledTarget(double[] q, double[] k, double[] target, VarlenShape shape, int blockSize,
                                    double scale) {
        requireShape(shape);
        Checks.positive("blockSize", blockSize);
        Checks.scale(scale);
        VarlenBatch batch = shape.batch();
        int d = shape.headDim();
        Checks.allFinite("q", Checks.packedRows("q [total, Hq, D]", q, batch, (long) shape.qHeads() * d));
        Checks.allFinite("k", Checks.packedRows("k [total, Hkv, D]", k, batch, (long) shape.kvHeads() * d));
        int[] cuMaps = batch.cuMaps(shape.qHeads(), blockSize);
        Checks.length("target Σ_b [Hq, nb_b, nb_b]", target, cuMaps[batch.sequences()]);
        for (int b = 0; b < batch.sequences(); b++) {
            AttentionShape s = shape.sequence(b);
            double[] map = new double[cuMaps[b + 1] - cuMaps[b]];
            PooledAttentionTarget.compute(qRows(q, shape, b), kvRows(k, shape, b), map, s, blockSize, scale);
            System.arraycopy(map, 0, target, cuMaps[b], map.length);
        }
    }

    /**
     * The density of a varlen batch's masks (docs/SPEC.md §3.5 over the batch): kept blocks /
     * {@code Σ_b heads · nb_b(nb_b + 1)/2}.
     */
    public static double density(List<BlockMask> masks) {
        if (masks == null || masks.isEmpty()) {
            throw new IllegalArgumentException("block masks must name at least one sequence");
        }
        double kept = 0;
        double causal = 0;
        for (BlockMask m : masks) {
            kept += m.count();
            causal += (double) m.batch() * m.heads() * m.blocks() * (m.blocks() + 1) / 2.0;
        }
        return kept / causal;
    }

    /**
     * Requires one mask {@code [1, heads, nb_b, nb_b]} per sequence.
     *
     * @throws IllegalArgumentException naming the first sequence whose mask is missing or of another shape
     */
    public static void requireMasks(List<BlockMask> masks, VarlenBatch batch, int heads, int blockSize) {
        Checks.positive("blockSize", blockSize);
        if (masks == null) {
            throw new IllegalArgumentException("block masks must not be null (expected one per sequence, B = "
                    + batch.sequences() + ")");
        }
        if (masks.size() != batch.sequences()) {
            throw new IllegalArgumentException("block masks: " + masks.size() + " given, expected one per sequence (B = "
                    + batch.sequences() + ")");
        }
        for (int b = 0; b < masks.size(); b++) {
            BlockMask m = masks.get(b);
            int nb = batch.blocks(b, blockSize);
            if (m == null) {
                throw new IllegalArgumentException("block mask of sequence " + b + " must not be null");
            }
            if (m.batch() != 1 || m.heads() != heads || m.blocks() != nb) {
                throw new IllegalArgumentException("block mask of sequence " + b + " is [" + m.batch() + ", "
                        + m.heads() + ", " + m.blocks() + ", " + m.blocks() + "], expected [1, " + heads + ", " + nb
                        + ", " + nb + "] (N_" + b + " = " + batch.length(b) + ", block " + blockSize + ")");
            }
        }
    }

    private static void checkAttention(double[] q, double[] k, double[] v, double[] out, VarlenShape shape,
                                       double scale) {
        requireShape(shape);
        Checks.scale(scale);
        VarlenBatch batch = shape.batch();
        long qRow = (long) shape.qHeads() * shape.headDim();
        long kvRow = (long) shape.kvHeads() * shape.headDim();
        Checks.allFinite("q", Checks.packedRows("q [total, Hq, D]", q, batch, qRow));
        Checks.allFinite("k", Checks.packedRows("k [total, Hkv, D]", k, batch, kvRow));
        Checks.allFinite("v", Checks.packedRows("v [total, Hkv, D]", v, batch, kvRow));
        Checks.packedRows("out [total, Hq, D]", out, batch, qRow);
    }

    private static void requireBatch(VarlenBatch batch) {
        if (batch == null) {
            throw new IllegalArgumentException("varlen batch must not be null");
        }
    }

    private static void requireShape(VarlenShape shape) {
        if (shape == null) {
            throw new IllegalArgumentException("varlen shape must not be null");
        }
    }

    private static double[] qRows(double[] q, VarlenShape shape, int b) {
        return rows(q, shape.batch().start(b), shape.batch().length(b), shape.qHeads() * shape.headDim());
    }

    private static double[] kvRows(double[] x, VarlenShape shape, int b) {
        return rows(x, shape.batch().start(b), shape.batch().length(b), shape.kvHeads() * shape.headDim());
    }

    /** Rows {@code [start, start + count)} of a packed tensor of {@code width} elements a row (a copy). */
    private static double[] rows(double[] x, int start, int count, int width) {
        return Arrays.copyOfRange(x, start * width, (start + count) * width);
    }
}
