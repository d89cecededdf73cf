package org.seerjava.gpu;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.f64;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i64;
import static org.seerjava.gpu.graph.KernelSpec.Param.in;
import static org.seerjava.gpu.graph.KernelSpec.Param.inout;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;
import static org.seerjava.gpu.graph.KernelSpec.Param.struct;

import java.util.List;
import java.util.Map;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.reference.Pool;
import org.seerjava.reference.io.DType;

/**
 * The kernels of this module as {@link KernelSpec}s (resource, defines, entry point, parameters) and their launch
 * configurations. {@code ops_fp32.cu}: pooling, GEMM, RoPE, softmax, selection, fp32 attention, helpers;
 * {@code attention_bf16.cu} and {@code attention_wgmma.cu}: tensor-core attention. The attention kernels are chosen
 * by type, {@link AttentionKernel}.
 */
public final class SeerKernels {
    private SeerKernels() {
    }

    /** Block size of the tensor-core attention kernels. */
    public static final int TC_BLOCK = 64;

    static final String OPS = "ops_fp32.cu";
    static final String ATT = "attention_bf16.cu";
    static final String WG = "attention_wgmma.cu";
    static final String WG_SPARSE = "attention_sparse_wgmma.cu";

    /** Stages of the wgmma kernels' key ring and value ring (tiles of {@link #WG_KEYS} keys). */
    static final int WG_STAGES = 2;
    /** Keys per tile of the wgmma kernels (two 64-key blocks). */
    static final int WG_KEYS = 128;

    /**
     * Whether the attention operations run the Hopper warpgroup-MMA kernels ({@link AttentionKernel.Path#SM90},
     * {@code attention_wgmma.cu} and {@code attention_sparse_wgmma.cu}): on an sm_90a device (compute capability 9.0)
     * for head dims 64 and 128; elsewhere the {@code mma.sync} ones. {@code -Dseer.cuda.wgmma=false} turns them off.
     */
    public static boolean usesWgmma(int headDim) {
        if (headDim != 64 && headDim != 128 || !Boolean.parseBoolean(System.getProperty("seer.cuda.wgmma", "true"))) {
            return false;
        }
        try {
            return CudaContext.get().architecture().equals("sm_90a");
        } catch (CudaUnavailableException e) {
            return false;                                // no device: the launch itself will say so
        }
    }

    private static KernelSpec ops(String fn, KernelSpec.Param... params) {
        return new KernelSpec(OPS, Map.of(), fn, List.of(params));
    }

    public static final KernelSpec POOL_F32 = ops("pool_f32", in("x", DType.F32), out("out", DType.F32),
            i32("B"), i32("N"), i32("H"), i32("D"), i32("blockSize"), i32("pools"));
    public static final KernelSpec POOL_BF16 = ops("pool_bf16", in("x", DType.BF16), out("out", DType.F32),
            i32("B"), i32("N"), i32("H"), i32("D"), i32("blockSize"), i32("pools"));
    public static final KernelSpec POOL_BF16_V8 = ops("pool_bf16_v8", in("x", DType.BF16), out("out", DType.F32),
            i32("B"), i32("N"), i32("H"), i32("D"), i32("blockSize"), i32("pools"));
    public static final KernelSpec GEMM = ops("gemm_f32", in("A", DType.F32), in("B", DType.F32), out("C", DType.F32),
            i32("M"), i32("N"), i32("K"), i32("H"), i32("repA"), i32("repB"), f32("alpha"), i32("causal"),
            struct("strides"));
    public static final KernelSpec ROPE = ops("rope_blocks_f32", inout("x", DType.F32), in("invFreq", DType.F64),
            i32("rows"), i32("nb"), i32("heads"), i32("Dg"), i32("half"), i32("blockSize"));
    public static final KernelSpec ROPE_TABLE = ops("rope_blocks_table", inout("x", DType.F32), in("cs", DType.F32),
            i32("rows"), i32("nb"), i32("heads"), i32("Dg"), i32("half"));
    public static final KernelSpec SOFTMAX = ops("softmax_rows_f32", inout("x", DType.F32), i64("rows"), i32("cols"));
    public static final KernelSpec SELECT_THRESHOLD = ops("select_threshold", in("scores", DType.F32),
            out("mask", DType.U8), i64("rows"), i32("nb"), f64("threshold"), i32("softmax"), i32("lastBlockDense"),
            i32("keepDiagonal"));
    public static final KernelSpec SELECT_TOPK = ops("select_topk", in("scores", DType.F32), out("mask", DType.U8),
            i32("nb"), i32("k"), i32("lastBlockDense"), i32("keepDiagonal"), i32("causal"));
    public static final KernelSpec SELECT_TOPK_WARP = ops("select_topk_warp", in("scores", DType.F32),
            out("mask", DType.U8), i64("rows"), i32("nb"), i32("k"), i32("lastBlockDense"), i32("keepDiagonal"),
            i32("causal"));
    /** x[i] = bf16(lo + (hi − lo)·u(seed, i)): seeded uniform inputs and weights. */
    public static final KernelSpec FILL_UNIFORM_BF16 = ops("fill_uniform_bf16", out("x", DType.BF16), i64("n"),
            i64("seed"), f32("lo"), f32("hi"));
    /** count[0] += the non-zero bytes of x (kept blocks of a mask). */
    public static final KernelSpec COUNT_NONZERO = ops("count_nonzero", in("x", DType.U8), i64("n"),
            inout("count", DType.U64));

    /** Shared-scratch limit of the mma.sync fused kernel ({@link AttentionKernel#sharedScratchMaxNb}). */
    public static final int TARGET_SHARED_MAX_NB = 24;
    /** Shared-scratch limit of the wgmma fused kernel. */
    public static final int TARGET_SHARED_MAX_NB_WG = 120;

    /**
     * 4-byte words of the tensor-core fused target pass's global scratch ({@link AttentionKernel#TARGET_SM90},
     * {@link AttentionKernel#TARGET_SM80}, used when nb exceeds {@link AttentionKernel#sharedScratchMaxNb}):
     * {@code slots · (128 · nb + 1)}. It holds {@code slots} slots of {@code [nb][128]} floats — the block maxima
     * R[r, n] (log2 units) of the 128 query rows of one CTA, row index fastest — followed by {@code slots} int32
     * lock words (0 = free). A CTA takes a free slot when it starts and frees it when its target rows are written,
     * so the scratch is sized by the CTAs that run at once, {@link AttentionKernel#targetScratchSlots}, not by the
     * grid: 132 SMs × 1 × 128 × 2,048 × 4 bytes = 138 MB at N = 131,072 on the wgmma kernel, whatever the heads and
     * the batch. Any slot count ≥ 1 is correct (a CTA without a slot waits for a running one to finish); the kernel
     * takes the count as its {@code slots} parameter, which must be the one the buffer was sized with. The lock
     * words must be zero before the buffer's first launch ({@link #clearTargetScratchLocks}); every CTA leaves its
     * own zero again.
     *
     * @throws IllegalArgumentException when slots or nb is below 1
     * @throws ArithmeticException      when the size overflows a long
     */
    public static long targetScratchElements(int slots, int nb) {
        if (slots < 1 || nb < 1) {
            throw new IllegalArgumentException("the target scratch needs slots >= 1 and nb >= 1, got slots " + slots
                    + ", nb " + nb);
        }
        return Math.multiplyExact((long) slots, Math.addExact(Math.multiplyExact(128L, nb), 1L));
    }

    /** Bytes of {@link #targetScratchElements}. */
    public static long targetScratchBytes(int slots, int nb) {
        return Math.multiplyExact(targetScratchElements(slots, nb), 4L);
    }

    /** Byte offset of the lock words in a target scratch: after the slots' {@code slots · 128 · nb} floats. */
    public static long targetScratchLockOffset(int slots, int nb) {
        return targetScratchBytes(slots, nb) - 4L * slots;
    }

    /**
     * Zeroes the lock words of a target scratch of {@code slots} slots for nb blocks, in stream order: once, after
     * allocating it (device memory is not zeroed), before its first launch.
     *
     * @throws IllegalArgumentException when the buffer is smaller than {@link #targetScratchBytes}
     */
    public static void clearTargetScratchLocks(DeviceBuffer scratch, int slots, int nb, Stream stream) {
        long need = targetScratchBytes(slots, nb);
        if (scratch.bytes() < need) {
            throw new IllegalArgumentException("a target scratch of " + slots + " slots for nb " + nb + " needs "
                    + need + " bytes, the buffer has " + scratch.bytes());
        }
        long locks = targetScratchLockOffset(slots, nb);
        CudaContext.get().driver().memsetD8Async(scratch.pointer() + locks, (byte) 0, 4L * slots, stream.handle());
    }

    /** log2(e), folded into the tensor-core kernels' scale. */
    public static final double LOG2E = 1.4426950408889634;

    /** 2 × (K, V) tiles of 64 × D bf16 (Q shares V's second stage), plus the kept-block list (u16). */
    public static int attentionBf16Shared(int headDim, int nb) {
        return 4 * 64 * headDim * 2 + ((nb * 2 + 15) & ~15);
    }

    /**
     * Dynamic shared memory of the wgmma block-sparse kernel: 1 KB alignment slack, Q (64 × D bf16), the K and V rings
     * ({@link #WG_STAGES} tiles of 64 × D each) and the kept-block list (u16, nb entries).
     */
    public static int sparseWgmmaShared(int headDim, int nb) {
        return 1024 + (1 + 2 * WG_STAGES) * 64 * headDim * 2 + ((nb * 2 + 15) & ~15);
    }

    /** Top-k selection as tasks' launch: a warp per row when nb ≤ 2048, else a CTA per row. */
    public static Launch topKLaunch(long rows, int nb) {
        return nb <= 2048 ? new Launch((int) Math.ceilDiv(rows, 8), 1, 1, 256, 1, 1, 8 * nb * 4)
                : new Launch((int) rows, 1, 1, 256, 1, 1, nb * 4);
    }

    /** The top-k kernel for nb blocks: the warp kernel up to 2048 blocks. */
    public static KernelSpec topK(int nb) {
        return nb <= 2048 ? SELECT_TOPK_WARP : SELECT_TOPK;
    }

    /** Arguments of {@link #topK}: the warp kernel takes the row count first. */
    public static Object[] topKArgs(Object scores, Object mask, long rows, int nb, int k, boolean lastBlockDense,
                                    boolean keepDiagonal, boolean causal) {
        int l = lastBlockDense ? 1 : 0;
        int d = keepDiagonal ? 1 : 0;
        int c = causal ? 1 : 0;
        return nb <= 2048 ? new Object[] {scores, mask, rows, nb, k, l, d, c} : new Object[] {scores, mask, nb, k, l, d, c};
    }

    /** Pool bits of the kernels: 1 max, 2 min, 4 avg. */
    public static int poolBits(List<Pool> pools) {
        int bits = 0;
        for (Pool p : pools) {
            bits |= switch (p) {
                case MAX -> 1;
                case MIN -> 2;
                case AVG -> 4;
            };
        }
        return bits;
    }

    /** Launch of the GEMM: 64 × 64 tiles, 256 threads, z = batch · heads. */
    public static Launch gemmLaunch(int m, int n, int z) {
        return new Launch(Math.ceilDiv(n, 64), Math.ceilDiv(m, 64), z, 256, 1, 1, 0);
    }

    /** Launch of a one-warp-per-row kernel. */
    public static Launch warpPerRow(long rows) {
        return new Launch((int) Math.ceilDiv(rows, 8), 1, 1, 256, 1, 1, 0);
    }

    /** GEMM strides {sAb, sAh, sAi, sAk, sBb, sBh, sBk, sBj, sCb, sCh, sCi, sCj}. */
    public static long[] strides(long sAb, long sAh, long sAi, long sAk, long sBb, long sBh, long sBk, long sBj,
                                 long sCb, long sCh, long sCi, long sCj) {
        return new long[] {sAb, sAh, sAi, sAk, sBb, sBh, sBk, sBj, sCb, sCh, sCi, sCj};
    }
}
