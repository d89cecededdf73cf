package org.seerjava.tornado;

import java.util.ArrayList;
import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.tornado.kernels.AttnGate;
import org.seerjava.tornado.kernels.BlockSelection;
import org.seerjava.tornado.kernels.BlockSparseAttention;
import org.seerjava.tornado.kernels.PooledAttentionTarget;
import org.seerjava.tornado.kernels.Pooling;
import org.seerjava.tornado.kernels.Rope;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The tasks of every operation: which kernel, on which buffers, with which sizes and grid. The engine, the prefill
 * graph and the kernel tests all build their tasks here, so the tests run exactly what the GPU runs.
 */
public final class SeerTasks {
    private SeerTasks() {
    }

    /** The {@link Pooling} bit set of a pool list. */
    public static int poolBits(List<Pool> pools) {
        int bits = 0;
        for (Pool p : pools) {
            bits |= switch (p) {
                case MAX -> Pooling.MAX;
                case MIN -> Pooling.MIN;
                case AVG -> Pooling.AVG;
            };
        }
        return bits;
    }

    /** {@link Pooling#pool}: {@code x [batch, seqLen, heads, dim]} into {@code out [batch, nb, heads, dim·pools]}. */
    public static KernelTask pool(String name, FloatArray x, FloatArray out, int batch, int seqLen, int heads,
                                  int dim, int blockSize, List<Pool> pools) {
        return KernelTask.parallel(name, Pooling::pool, x, out, batch, seqLen, heads, dim, blockSize,
                poolBits(pools), pools.size());
    }

    /** The gate's buffers: inputs (weights and the RoPE table) and intermediates; {@code logits} is the output. */
    public record GateBuffers(FloatArray wq, FloatArray wk, FloatArray ropeTable, FloatArray qPooled,
                              FloatArray kPooled, FloatArray qGate, FloatArray kGate, FloatArray logits) {
    }

    /**
     * Allocates the gate's buffers; {@code wq} is null when the gate has no Q linear (then {@code qGate} is
     * {@code qPooled}). The RoPE table is filled here (float64 angles rounded to float32).
     */
    public static GateBuffers gateBuffers(AttentionShape shape, GateConfig cfg) {
        int B = shape.batch();
        int D = shape.headDim();
        int Dg = cfg.hiddenSize();
        int nb = shape.blocks(cfg.blockSize());
        boolean qLinear = cfg.hasQLinear(D);
        if (!qLinear && Dg != D) {
            throw new IllegalArgumentException("a gate without Q linear needs Dg (" + Dg + ") == D (" + D + ")");
        }
        int keyHeads = cfg.kLinearHeads(shape);
        FloatArray qPooled = floats("gate qPooled", (long) B * nb * shape.qHeads() * cfg.type().qDup() * D);
        FloatArray kPooled = floats("gate kPooled", (long) B * nb * shape.kvHeads() * cfg.type().kDup() * D);
        FloatArray qGate = qLinear ? floats("gate qGate", (long) B * nb * shape.qHeads() * Dg) : qPooled;
        FloatArray kGate = floats("gate kGate", (long) B * nb * keyHeads * Dg);
        FloatArray logits = floats("gate logits", (long) B * shape.qHeads() * nb * nb);
        FloatArray wq = qLinear ? floats("W_q", cfg.qWeightElements(shape)) : null;
        FloatArray wk = floats("W_k", cfg.kWeightElements(shape));
        return new GateBuffers(wq, wk, ropeTable(nb, cfg), qPooled, kPooled, qGate, kGate, logits);
    }

    /** (cos, sin) of position {@code block · blockSize} for every block and frequency: {@code [nb, Dg/2, 2]}. */
    static FloatArray ropeTable(int nb, GateConfig cfg) {
        double[] inv = org.seerjava.reference.Rope.inverseFrequencies(cfg.rope());
        int half = inv.length;
        FloatArray table = floats("gate RoPE table", (long) nb * half * 2);
        for (int block = 0; block < nb; block++) {
            for (int k = 0; k < half; k++) {
                double angle = (double) block * cfg.blockSize() * inv[k];
                table.set((block * half + k) * 2, (float) Math.cos(angle));
                table.set((block * half + k) * 2 + 1, (float) Math.sin(angle));
            }
        }
        return table;
    }

    /**
     * The AttnGate forward pass of {@link org.seerjava.reference.AttnGate#forward} on pre-RoPE {@code q, k}: pool,
     * linears, block RoPE, block-causal logits into {@code g.logits()}; their row softmax when {@code softmax}.
     */
    public static List<KernelTask> gate(FloatArray q, FloatArray k, GateBuffers g, AttentionShape shape,
                                        GateConfig cfg, boolean softmax) {
        int B = shape.batch();
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int Dg = cfg.hiddenSize();
        int bs = cfg.blockSize();
        int nb = shape.blocks(bs);
        int keyHeads = cfg.kLinearHeads(shape);
        int fq = cfg.type().qDup() * D;
        int fk = cfg.type().kDup() * D;
        List<KernelTask> tasks = new ArrayList<>();
        tasks.add(pool("poolQ", q, g.qPooled(), B, N, Hq, D, bs, cfg.type().qPools()));
        tasks.add(pool("poolK", k, g.kPooled(), B, N, Hkv, D, bs, cfg.type().kPools()));
        if (g.wq() != null) {
            tasks.add(KernelTask.parallel("linearQ", AttnGate::multiHeadLinear, g.qPooled(), g.wq(), g.qGate(),
                    B * nb, Hq, Hq, fq, Dg, 1));
        }
        tasks.add(KernelTask.parallel("linearK", AttnGate::multiHeadLinear, g.kPooled(), g.wk(), g.kGate(),
                B * nb, Hkv, keyHeads, fk, Dg, keyHeads / Hkv));
        int half = g.ropeTable().getSize() / (2 * nb);
        tasks.add(KernelTask.parallel("ropeQ", Rope::rotateBlocks, g.qGate(), g.ropeTable(), B * nb, nb, Hq, Dg,
                half));
        tasks.add(KernelTask.parallel("ropeK", Rope::rotateBlocks, g.kGate(), g.ropeTable(), B * nb, nb, keyHeads,
                Dg, half));
        int tiles = Math.ceilDiv(nb, AttnGate.LOGIT_TILE);
        tasks.add(KernelTask.kernel("logits", Grid.groups3D(tiles * tiles, Hq, B,
                        AttnGate.LOGIT_TILE * AttnGate.LOGIT_TILE), AttnGate::logits, new KernelContext(), g.qGate(),
                g.kGate(), g.logits(), nb, Hq, keyHeads, Dg, (float) cfg.scale()));
        if (softmax) {
            tasks.add(KernelTask.parallel("softmax", AttnGate::softmaxRows, g.logits(), B * Hq * nb, nb));
        }
        return tasks;
    }

    /** {@link BlockSelection}: {@code scores [rows = batch·heads·blocks, blocks]} to {@code mask}. */
    public static KernelTask select(String name, FloatArray scores, ByteArray mask, int batch, int heads,
                                    int blocks, SelectionRule rule) {
        return select(name, scores, mask, batch, heads, blocks, rule, false);
    }

    /**
     * As {@link #select(String, FloatArray, ByteArray, int, int, int, SelectionRule)}; {@code causalLogits} says the
     * scores are the gate's block-causal logits, which lets top-k rank only the blocks j ≤ i (same mask).
     */
    public static KernelTask select(String name, FloatArray scores, ByteArray mask, int batch, int heads,
                                    int blocks, SelectionRule rule, boolean causalLogits) {
        long rows = (long) batch * heads * blocks;
        Checks.arraySize("block map [B, H, nb, nb]", rows * blocks);
        int dense = rule.lastBlockDense() ? 1 : 0;
        int diagonal = rule.keepDiagonal() ? 1 : 0;
        return switch (rule) {
            case SelectionRule.Threshold t -> KernelTask.parallel(name, BlockSelection::threshold, scores, mask,
                    (int) rows, blocks, t.threshold(), dense, diagonal);
            case SelectionRule.TopK t -> {
                if (blocks > BlockSelection.TOPK_MAX_BLOCKS) {
                    throw new IllegalArgumentException("top-k selection on the tornado engine holds rows of at most "
                            + BlockSelection.TOPK_MAX_BLOCKS + " blocks in local memory, got nb = " + blocks);
                }
                yield KernelTask.kernel(name, Grid.groups1D(rows, BlockSelection.TOPK_THREADS),
                        BlockSelection::topK, new KernelContext(), scores, mask, blocks, t.k(blocks), dense, diagonal,
                        causalLogits ? 1 : 0);
            }
        };
    }

    /**
     * {@link BlockSparseAttention#forward} in {@code mode} over {@code q [B, N, Hq, D]}, {@code k, v [B, N, Hkv, D]}
     * into {@code out}; {@code mask} is read in {@link BlockSparseAttention#SPARSE} mode, and may otherwise be a
     * one-element placeholder.
     */
    public static KernelTask attention(String name, FloatArray q, FloatArray k, FloatArray v, ByteArray mask,
                                       FloatArray out, AttentionShape shape, int blockSize, double scale, int mode) {
        if (mode == BlockSparseAttention.TARGET) {
            throw new IllegalArgumentException("the fused target needs its scratch buffers: use attentionWithTarget");
        }
        return attentionTask(name, q, k, v, mask, out, new FloatArray(1), new FloatArray(1), shape, blockSize, scale,
                mode);
    }

    /**
     * The fused distillation pass: dense causal attention recording the row maxima per key block and the rows'
     * softmax state ({@link BlockSparseAttention#TARGET}), then {@link PooledAttentionTarget#fromRowMaxima}.
     */
    public static List<KernelTask> attentionWithTarget(FloatArray q, FloatArray k, FloatArray v, FloatArray out,
                                                       FloatArray target, AttentionShape shape, int blockSize,
                                                       double scale) {
        FloatArray rowMax = floats("the fused target's row maxima [B, Hq, nb, 64, nb]", rowMaxElements(shape,
                blockSize));
        int nb = shape.blocks(blockSize);
        FloatArray rowStats = floats("the fused target's row statistics [B, Hq, nb, 64, 2]",
                (long) shape.batch() * shape.qHeads() * nb * BlockSparseAttention.TILE * 2);
        return List.of(attentionTask("attention", q, k, v, new ByteArray(1), out, rowMax, rowStats, shape, blockSize,
                        scale, BlockSparseAttention.TARGET),
                KernelTask.parallel("target", PooledAttentionTarget::fromRowMaxima, rowMax, rowStats, target,
                        shape.batch(), shape.qHeads(), shape.seqLen(), blockSize));
    }

    private static KernelTask attentionTask(String name, FloatArray q, FloatArray k, FloatArray v, ByteArray mask,
                                            FloatArray out, FloatArray rowMax, FloatArray rowStats,
                                            AttentionShape shape, int blockSize, double scale, int mode) {
        requireAttention(shape, blockSize);
        int nb = shape.blocks(blockSize);
        return KernelTask.kernel(name, Grid.groups3D(2 * nb, shape.qHeads(), shape.batch(),
                        BlockSparseAttention.THREADS), BlockSparseAttention::forward, new KernelContext(), q, k, v,
                mask, out, rowMax, rowStats, shape.seqLen(), shape.qHeads(), shape.kvHeads(), shape.headDim(),
                blockSize, (float) scale, mode);
    }

    /** Elements of the fused target's row-maximum scratch {@code [B, Hq, nb, 64, nb]}, checked. */
    public static int rowMaxElements(AttentionShape shape, int blockSize) {
        long nb = shape.blocks(blockSize);
        return Checks.arraySize("the fused target's row-maximum scratch [B, Hq, nb, 64, nb]",
                shape.batch() * (long) shape.qHeads() * nb * BlockSparseAttention.TILE * nb);
    }

    /** The shapes the attention kernel takes, or an error naming the limit. */
    public static void requireAttention(AttentionShape shape, int blockSize) {
        int D = shape.headDim();
        if (D > BlockSparseAttention.MAX_HEAD_DIM || D % BlockSparseAttention.CHANNEL_CHUNK != 0) {
            throw new IllegalArgumentException("the tornado attention kernel takes head dims that are multiples of "
                    + BlockSparseAttention.CHANNEL_CHUNK + " up to " + BlockSparseAttention.MAX_HEAD_DIM
                    + " (32, 64, 96, 128), got D = " + D);
        }
        Checks.positive("blockSize", blockSize);
        if (blockSize > BlockSparseAttention.TILE) {
            throw new IllegalArgumentException("the tornado attention kernel takes block sizes up to "
                    + BlockSparseAttention.TILE + " (its tile), got " + blockSize);
        }
    }

    /** A float buffer of {@code n} elements, after checking n fits (sizes are computed in long). */
    public static FloatArray floats(String what, long n) {
        return new FloatArray(Checks.arraySize(what, n));
    }
}
