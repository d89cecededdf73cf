package org.seerjava.gpu;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.in;
import static org.seerjava.gpu.graph.KernelSpec.Param.inout;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.reference.io.DType;

/**
 * The attention kernels of this module, each named by what it computes ({@link Op}) and the path it takes through
 * the hardware ({@link Path}), as FlashAttention names its kernels by architecture. Code picks a kernel by type:
 * {@link #fp32(Op)} for the fp32 kernels, {@link #forDevice(Op, int)} for the tensor-core kernel this GPU runs, or
 * a constant to name one path explicitly (for comparisons and for GPUs without the newer path).
 *
 * <p>Parameters, in order: {@code q, k, v} ({@code [B, N, H, D]}), the mask {@code [B, Hq, nb, nb]} for
 * {@link Op#SPARSE}, {@code out}, the scratch and the pooled {@code target [B, Hq, nb, nb]} for
 * {@link Op#DENSE_TARGET}, then {@code N, Hq, Hkv, nb} and the scale: the attention scale for the fp32 kernels,
 * scale·log2(e) ({@link SeerKernels#LOG2E}) for the tensor-core ones; last, for the tensor-core target kernels, the
 * slot count of their scratch ({@link #targetScratchSlots}, {@link SeerKernels#targetScratchElements}).
 */
public enum AttentionKernel {
    /** fp32 block-sparse attention, one CTA of {@code block} threads per (query block, head, batch). */
    SPARSE_F32(Op.SPARSE, Path.FP32, 0, SeerKernels.OPS, "attn_sparse_f32"),
    /** fp32 dense causal attention. */
    DENSE_F32(Op.DENSE, Path.FP32, 0, SeerKernels.OPS, "attn_dense_f32"),
    /** fp32 dense causal attention and the pooled target. */
    TARGET_F32(Op.DENSE_TARGET, Path.FP32, 0, SeerKernels.OPS, "attn_dense_target_f32"),
    /** bf16 block-sparse attention, 64-row tiles, mma.sync. */
    SPARSE_SM80(Op.SPARSE, Path.SM80, 64, SeerKernels.ATT, "attn_sparse_bf16"),
    /**
     * bf16 block-sparse attention, 64-row tiles, warpgroup MMA: one consumer warpgroup per query block and a
     * producer warpgroup loading the kept blocks' K/V rings, two CTAs per SM.
     */
    SPARSE_SM90(Op.SPARSE, Path.SM90, 64, SeerKernels.WG_SPARSE, "attn3_sparse_bf16"),
    /** bf16 dense attention, 64-row tiles, mma.sync. */
    DENSE_SM80_64(Op.DENSE, Path.SM80, 64, SeerKernels.ATT, "attn_dense_bf16"),
    /** bf16 dense attention, 128-row tiles, mma.sync. */
    DENSE_SM80(Op.DENSE, Path.SM80, 128, SeerKernels.ATT, "attn2_dense_bf16"),
    /** bf16 dense attention and the pooled target, 128-row tiles, mma.sync. */
    TARGET_SM80(Op.DENSE_TARGET, Path.SM80, 128, SeerKernels.ATT, "attn2_target_bf16"),
    /** bf16 dense attention, 128-row tiles, warpgroup MMA with a producer warpgroup loading K/V rings. */
    DENSE_SM90(Op.DENSE, Path.SM90, 128, SeerKernels.WG, "attn3_dense_bf16"),
    /** bf16 dense attention and the pooled target, 128-row tiles, warpgroup MMA. */
    TARGET_SM90(Op.DENSE_TARGET, Path.SM90, 128, SeerKernels.WG, "attn3_target_bf16");

    /** What a kernel computes. */
    public enum Op {
        /** Causal attention over the kept blocks of a mask (empty rows give zero). */
        SPARSE,
        /** Dense causal attention. */
        DENSE,
        /** Dense causal attention and, from the same pass, the pooled distillation target. */
        DENSE_TARGET
    }

    /** How a kernel uses the hardware. */
    public enum Path {
        /** fp32 on the CUDA cores: any GPU; matches the reference to float32 rounding. */
        FP32,
        /** bf16 tensor cores through {@code mma.sync} (compute capability 8.0 and later). */
        SM80,
        /** bf16 tensor cores through Hopper's warpgroup MMA ({@code wgmma}, sm_90a only). */
        SM90
    }

    private final Op op;
    private final Path path;
    private final int rows;
    private final String resource;
    private final String function;

    AttentionKernel(Op op, Path path, int rows, String resource, String function) {
        this.op = op;
        this.path = path;
        this.rows = rows;
        this.resource = resource;
        this.function = function;
    }

    public Op op() {
        return op;
    }

    public Path path() {
        return path;
    }

    /** Query rows per CTA of a tensor-core kernel (64 or 128); an fp32 kernel's CTA covers one block. */
    public int rowsPerTile() {
        return rows;
    }

    /** The {@code extern "C"} entry point. */
    public String function() {
        return function;
    }

    /** The fp32 kernel of an operation. */
    public static AttentionKernel fp32(Op op) {
        return switch (op) {
            case SPARSE -> SPARSE_F32;
            case DENSE -> DENSE_F32;
            case DENSE_TARGET -> TARGET_F32;
        };
    }

    /**
     * The tensor-core kernel this device runs for an operation: the warpgroup-MMA ones where
     * {@link SeerKernels#usesWgmma} holds, else the mma.sync ones (64-row tiles for block-sparse attention, 128-row
     * tiles for the dense operations).
     */
    public static AttentionKernel forDevice(Op op, int headDim) {
        boolean wgmma = SeerKernels.usesWgmma(headDim);
        return switch (op) {
            case SPARSE -> wgmma ? SPARSE_SM90 : SPARSE_SM80;
            case DENSE -> wgmma ? DENSE_SM90 : DENSE_SM80;
            case DENSE_TARGET -> wgmma ? TARGET_SM90 : TARGET_SM80;
        };
    }

    /**
     * The largest block count for which the pooled-target kernels keep every row's block maxima (rows × nb fp32)
     * in shared memory: {@value SeerKernels#TARGET_SHARED_MAX_NB} for the mma.sync kernel (two CTAs still fit on
     * an SM), {@value SeerKernels#TARGET_SHARED_MAX_NB_WG} for the wgmma one (one CTA per SM); above it they use a
     * global scratch of {@link SeerKernels#targetScratchElements} words.
     */
    public int sharedScratchMaxNb() {
        return path == Path.SM90 ? SeerKernels.TARGET_SHARED_MAX_NB_WG : SeerKernels.TARGET_SHARED_MAX_NB;
    }

    /**
     * The slot count of a tensor-core target kernel's global scratch ({@link SeerKernels#targetScratchElements}) on
     * a GPU of {@code multiprocessors} SMs: one slot for every CTA that can be resident at once, the SMs times the
     * kernel's CTAs per SM ({@code __launch_bounds__}: 1 for the wgmma kernel, 2 for the mma.sync one), so that no
     * CTA waits for a slot.
     *
     * @throws IllegalArgumentException when this is not a tensor-core target kernel, or multiprocessors is below 1
     */
    public int targetScratchSlots(int multiprocessors) {
        if (op != Op.DENSE_TARGET || path == Path.FP32) {
            throw new IllegalArgumentException(this + " has no slotted target scratch (only the tensor-core"
                    + " DENSE_TARGET kernels have)");
        }
        if (multiprocessors < 1) {
            throw new IllegalArgumentException("multiprocessors must be >= 1, got " + multiprocessors);
        }
        return Math.multiplyExact(multiprocessors, path == Path.SM90 ? 1 : 2);
    }

    /** {@link #targetScratchSlots(int)} for this process's GPU ({@link CudaContext#multiprocessors}). */
    public int targetScratchSlots() {
        return targetScratchSlots(CudaContext.get().multiprocessors());
    }

    /** The kernel for a head dim, at block 64, with the default shared-scratch limit. */
    public KernelSpec spec(int headDim) {
        return spec(headDim, SeerKernels.TC_BLOCK, sharedScratchMaxNb());
    }

    /**
     * The kernel for a head dim and block size (8..64 dividing 64 for fp32, 64 for the tensor cores), with the
     * largest block count whose target scratch lives in shared memory (tests pass 0 to force the global one).
     */
    public KernelSpec spec(int headDim, int blockSize, int sharedScratchMaxNb) {
        if (path == Path.FP32) {
            if (blockSize <= 0 || blockSize > 64 || 64 % blockSize != 0) {
                throw new IllegalArgumentException("the fp32 attention kernels support block sizes 8..64 dividing 64,"
                        + " got blockSize " + blockSize);
            }
            return new KernelSpec(resource, Map.of("HEAD_DIM", headDim, "ATTN_BLOCK", blockSize), function,
                    params(DType.F32));
        }
        if (blockSize != SeerKernels.TC_BLOCK) {
            throw new IllegalArgumentException("the tensor-core attention kernels need blockSize "
                    + SeerKernels.TC_BLOCK + ", got " + blockSize);
        }
        if (headDim % 16 != 0 || headDim > 128) {
            throw new IllegalArgumentException("the tensor-core attention needs a head dim that is a multiple of 16"
                    + " and at most 128, got " + headDim);
        }
        if (path == Path.SM90 && headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException(this + " supports head dims 64 and 128, got " + headDim);
        }
        Map<String, Object> defines = switch (this) {
            case TARGET_SM80 -> Map.of("HEAD_DIM", headDim, "SCRATCH_SMEM_NB", sharedScratchMaxNb);
            case DENSE_SM90, SPARSE_SM90 -> Map.of("HEAD_DIM", headDim, "STAGES", SeerKernels.WG_STAGES);
            case TARGET_SM90 -> Map.of("HEAD_DIM", headDim, "STAGES", SeerKernels.WG_STAGES,
                    "SCRATCH_SMEM_NB", sharedScratchMaxNb);
            default -> Map.of("HEAD_DIM", headDim);
        };
        return new KernelSpec(resource, defines, function, params(DType.BF16));
    }

    private List<KernelSpec.Param> params(DType t) {
        List<KernelSpec.Param> p = new ArrayList<>(List.of(in("q", t), in("k", t), in("v", t)));
        if (op == Op.SPARSE) {
            p.add(in("mask", DType.U8));
        }
        p.add(out("out", t));
        if (op == Op.DENSE_TARGET) {
            // the tensor-core kernels' scratch is read too: its lock words (0 before the first launch)
            p.add(path == Path.FP32 ? out("rowmax", DType.F32) : inout("scratch", DType.F32));
            p.add(out("target", DType.F32));
        }
        p.addAll(List.of(i32("N"), i32("Hq"), i32("Hkv"), i32("nb"), f32(path == Path.FP32 ? "scale" : "scaleLog2")));
        if (op == Op.DENSE_TARGET && path != Path.FP32) {
            p.add(i32("slots"));
        }
        return p;
    }

    /** The launch for nb blocks of 64 with the default shared-scratch limit. */
    public Launch launch(int nb, int heads, int batch, int headDim) {
        return launch(nb, heads, batch, headDim, SeerKernels.TC_BLOCK, sharedScratchMaxNb());
    }

    /**
     * The launch: grid (query tiles, heads, batch); for a pooled-target kernel built with {@code sharedScratchMaxNb},
     * the block maxima in dynamic shared memory when nb is at most that.
     */
    public Launch launch(int nb, int heads, int batch, int headDim, int blockSize, int sharedScratchMaxNb) {
        int scratch = op == Op.DENSE_TARGET && nb <= sharedScratchMaxNb ? 128 * nb * 4 : 0;
        return switch (path) {
            case FP32 -> new Launch(nb, heads, batch, blockSize, 1, 1, 0);
            case SM80 -> rows == 64
                    ? new Launch(nb, heads, batch, 128, 1, 1, SeerKernels.attentionBf16Shared(headDim, nb))
                    : new Launch((nb + 1) / 2, heads, batch, 128, 1, 1, 6 * 64 * headDim * 2 + scratch);
            // sparse: 1 consumer warpgroup + 1 producer, two CTAs per SM
            case SM90 -> rows == 64
                    ? new Launch(nb, heads, batch, 256, 1, 1, SeerKernels.sparseWgmmaShared(headDim, nb))
            // dense: 2 consumer warpgroups + 1 producer; 1 KB alignment slack, Q (128 rows), the K and V rings, the scratch
                    : new Launch((nb + 1) / 2, heads, batch, 384, 1, 1, 1024 + 128 * headDim * 2
                    + SeerKernels.WG_STAGES * 2 * SeerKernels.WG_KEYS * headDim * 2 + scratch);
        };
    }

    /** What the kernel is, for tables: e.g. "dense attention + pooled target, 128-row wgmma (sm90)". */
    public String label() {
        String what = switch (op) {
            case SPARSE -> "block-sparse attention";
            case DENSE -> "dense attention";
            case DENSE_TARGET -> "dense attention + pooled target";
        };
        return switch (path) {
            case FP32 -> what + ", fp32";
            case SM80 -> what + ", " + rows + "-row mma.sync (sm80)";
            case SM90 -> what + ", " + rows + "-row wgmma (sm90)";
        };
    }
}
