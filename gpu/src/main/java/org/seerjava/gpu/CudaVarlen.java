package org.seerjava.gpu;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.in;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.seerjava.gpu.AttentionKernel.Op;
import org.seerjava.gpu.graph.DataTransferMode;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Pool;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.io.DType;

/**
 * The CUDA engine's varlen operations (docs/SPEC.md §11): pooling and the three fp32 attention operations on a packed
 * batch, each one launch of a kernel of {@code ops_fp32.cu} over every sequence, with the batch's offsets in a small
 * device array {@code offsets [rows, B + 1]} of int32:
 * <ul>
 *   <li>row 0, {@code cu}: the token offsets ({@link VarlenBatch#cuSeqLens});</li>
 *   <li>row 1, {@code cuBlocks}: the block offsets ({@link VarlenBatch#cuBlocks}): the grid covers the batch's
 *       Σ nb_b query blocks, and a CTA (a thread, for pooling) finds its sequence by bisection over them;</li>
 *   <li>row 2 (attention only), {@code cuMaps}: where sequence b's mask and pooled target {@code [Hq, nb_b, nb_b]}
 *       start ({@link VarlenBatch#cuMaps}).</li>
 * </ul>
 * Each sequence is computed by the same code as the single-sequence kernel ({@code attn_f32_body}, {@code pool_rows}),
 * so a varlen call gives each sequence the bits of that sequence run alone. Arguments are checked by the caller
 * ({@link CudaEngine}, {@link org.seerjava.reference.engine.EngineArgs}).
 */
final class CudaVarlen {
    private CudaVarlen() {
    }

    /** {@code pool_varlen_f32}: x {@code [total, H, D]} → out {@code [Σ nb_b, H, D·pools]}; offsets {@code [2, B + 1]}. */
    static final KernelSpec POOL = new KernelSpec(SeerKernels.OPS, Map.of(), "pool_varlen_f32",
            List.of(in("x", DType.F32), out("out", DType.F32), in("offsets", DType.I32), i32("B"), i32("H"),
                    i32("D"), i32("blockSize"), i32("pools")));

    /**
     * The varlen fp32 attention kernel of an operation: the defines of {@link AttentionKernel#fp32}'s kernel (whose
     * check of the block size it shares), entry {@code attn_*_varlen_f32}, parameters {@code q, k, v}, the packed masks
     * for {@link Op#SPARSE}, {@code out}, the rowmax scratch and the packed targets for {@link Op#DENSE_TARGET}, then
     * {@code offsets [3, B + 1], B, Hq, Hkv, scale}.
     */
    static KernelSpec attention(Op op, int headDim, int blockSize) {
        KernelSpec single = AttentionKernel.fp32(op).spec(headDim, blockSize, 0);
        List<KernelSpec.Param> p = new ArrayList<>(List.of(in("q", DType.F32), in("k", DType.F32),
                in("v", DType.F32)));
        if (op == Op.SPARSE) {
            p.add(in("masks", DType.U8));
        }
        p.add(out("out", DType.F32));
        if (op == Op.DENSE_TARGET) {
            p.add(out("rowmax", DType.F32));
            p.add(out("target", DType.F32));
        }
        p.addAll(List.of(in("offsets", DType.I32), i32("B"), i32("Hq"), i32("Hkv"), f32("scale")));
        String function = switch (op) {
            case SPARSE -> "attn_sparse_varlen_f32";
            case DENSE -> "attn_dense_varlen_f32";
            case DENSE_TARGET -> "attn_dense_target_varlen_f32";
        };
        return new KernelSpec(single.resource(), single.defines(), function, p);
    }

    /** {@link org.seerjava.reference.engine.PoolingOps#poolVarlen} in one launch. */
    static void pool(float[] x, float[] out, VarlenBatch batch, int heads, int dim, int blockSize, List<Pool> pools) {
        int b = batch.sequences();
        try (Arena a = Arena.ofConfined()) {
            Tensor xt = CudaEngine.input(a, "x", x, batch.totalTokens(), heads, dim);
            Tensor ot = CudaEngine.output(a, "out", batch.totalBlocks(blockSize), heads, (long) dim * pools.size());
            Tensor offsets = offsets(a, batch.cuSeqLens(), batch.cuBlocks(blockSize));
            TaskGraph tg = new TaskGraph("pool.varlen")
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, xt, offsets)
                    .task("pool", POOL, Launch.linear((long) batch.totalBlocks(blockSize) * heads * dim, 256), xt, ot,
                            offsets, b, heads, dim, blockSize, SeerKernels.poolBits(pools))
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, ot);
            CudaEngine.run(tg);
            CudaEngine.copyBack(ot, out);
        }
    }

    /**
     * One of the fp32 attention operations on a varlen batch in one launch: a grid of Σ nb_b · Hq CTAs of
     * {@code block} threads. {@code masks} for {@link Op#SPARSE} (one per sequence), {@code target}
     * {@code Σ_b [Hq, nb_b, nb_b]} for {@link Op#DENSE_TARGET}.
     */
    static void attention(Op op, float[] q, float[] k, float[] v, List<BlockMask> masks, float[] out, float[] target,
                          VarlenShape shape, int block, double scale) {
        VarlenBatch batch = shape.batch();
        int b = batch.sequences();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int[] cuMaps = batch.cuMaps(hq, block);
        int maps = cuMaps[b];
        int queryBlocks = batch.totalBlocks(block);
        KernelSpec spec = attention(op, d, block);
        Launch launch = new Launch(Math.multiplyExact(queryBlocks, hq), 1, 1, block, 1, 1, 0);
        try (Arena a = Arena.ofConfined()) {
            Tensor qt = CudaEngine.input(a, "q", q, batch.totalTokens(), hq, d);
            Tensor kt = CudaEngine.input(a, "k", k, batch.totalTokens(), hkv, d);
            Tensor vt = CudaEngine.input(a, "v", v, batch.totalTokens(), hkv, d);
            Tensor ot = CudaEngine.output(a, "out", batch.totalTokens(), hq, d);
            Tensor offsets = offsets(a, batch.cuSeqLens(), batch.cuBlocks(block), cuMaps);
            TaskGraph tg = new TaskGraph("attention.varlen." + op)
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, qt, kt, vt, offsets);
            float sc = (float) scale;
            Tensor tt = null;
            switch (op) {
                case SPARSE -> {
                    byte[] bits = new byte[maps];
                    for (int s = 0; s < b; s++) {
                        byte[] m = masks.get(s).toBytes();
                        System.arraycopy(m, 0, bits, cuMaps[s], m.length);
                    }
                    Tensor mt = Tensor.of("masks", DType.U8, maps).withHost(a.allocateFrom(ValueLayout.JAVA_BYTE, bits));
                    tg.transferToDevice(DataTransferMode.EVERY_EXECUTION, mt)
                            .task("attention", spec, launch, qt, kt, vt, mt, ot, offsets, b, hq, hkv, sc);
                }
                case DENSE -> tg.task("attention", spec, launch, qt, kt, vt, ot, offsets, b, hq, hkv, sc);
                case DENSE_TARGET -> {
                    Tensor rowmax = Tensor.of("rowmax", DType.F32, maps, block);   // [Hq, nb_b·block, nb_b] each
                    tt = CudaEngine.output(a, "target", maps);
                    tg.task("attention", spec, launch, qt, kt, vt, ot, rowmax, tt, offsets, b, hq, hkv, sc)
                            .transferToHost(DataTransferMode.EVERY_EXECUTION, tt);
                }
            }
            tg.transferToHost(DataTransferMode.EVERY_EXECUTION, ot);
            CudaEngine.run(tg);
            CudaEngine.copyBack(ot, out);
            if (tt != null) {
                CudaEngine.copyBack(tt, target);
            }
        }
    }

    /** The offset rows, each B + 1 ints, as one host-bound int32 tensor {@code [rows, B + 1]}. */
    private static Tensor offsets(Arena a, int[]... rows) {
        int width = rows[0].length;
        int[] all = new int[rows.length * width];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, all, r * width, width);
        }
        return Tensor.of("offsets", DType.I32, rows.length, width).withHost(a.allocateFrom(ValueLayout.JAVA_INT, all));
    }
}
