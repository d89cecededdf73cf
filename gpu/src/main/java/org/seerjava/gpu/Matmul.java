package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * The model's matrix product on the tensor cores: {@code y[M, N] = x[M, K] · W[N, K]ᵀ}, or {@code y += x · Wᵀ},
 * all row-major, bf16 inputs with fp32 accumulation ({@code CUBLAS_COMPUTE_32F}), output bf16 or fp32, through
 * {@code cublasLtMatmul} with the algorithm its heuristic ranks first for the shape (kept per shape) and a workspace
 * owned by this object.
 *
 * <p>Row-major to column-major: cuBLAS reads a row-major {@code [R, C]} matrix with leading dimension {@code C} as the
 * column-major {@code C × R} matrix, its transpose. So {@code x [M, K]} is {@code xᶜ = xᵀ} (K × M, ld K),
 * {@code W [N, K]} is {@code Wᶜ = Wᵀ} (K × N, ld K) and {@code y [M, N]} is {@code yᶜ = yᵀ} (N × M, ld N), and
 * {@code y = x·Wᵀ ⇔ yᵀ = W·xᵀ ⇔ yᶜ = (Wᶜ)ᵀ · xᶜ}: one column-major GEMM with {@code m = N, n = M, k = K},
 * {@code A = Wᶜ} transposed ({@code CUBLAS_OP_T}, lda K), {@code B = xᶜ} as is ({@code CUBLAS_OP_N}, ldb K),
 * {@code C = D = yᶜ} (ldc N) — the "TN" product, cuBLAS's fastest layout.
 *
 * <p>Pointers are device addresses (a {@link DeviceBuffer#pointer()} plus a byte offset) so that callers can work on
 * row ranges of larger buffers; they must be 16-byte aligned and K, N multiples of 8. Not thread-safe: one per
 * stream of work.
 */
public final class Matmul implements AutoCloseable {
    /** What is written to y. */
    public enum Out {
        /** y = x·Wᵀ rounded to bf16. */
        BF16,
        /** y = x·Wᵀ in fp32. */
        F32,
        /** y += x·Wᵀ in fp32 (the residual stream). */
        F32_ACCUMULATE
    }

    /** Default workspace: 64 MiB (cuBLASLt's Hopper kernels ask for up to 32 MiB). */
    public static final long DEFAULT_WORKSPACE = 64L << 20;

    private record Key(int m, int n, int k, Out out) {
    }

    private record Plan(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment algo,
                        long workspace) {
    }

    private final Cublas blas;
    private final CudaContext context;
    private final DeviceBuffer workspace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one;
    private final MemorySegment zero;
    private final Map<Key, Plan> plans = new HashMap<>();
    private MemorySegment gemmExHandle;
    private boolean closed;

    /** A product with a workspace of {@link #DEFAULT_WORKSPACE} bytes. */
    public Matmul() {
        this(DEFAULT_WORKSPACE);
    }

    /**
     * A product with its own workspace.
     *
     * @throws CudaUnavailableException when cuBLAS is missing (the message names the folders tried)
     */
    public Matmul(long workspaceBytes) {
        this.blas = Cublas.get();
        this.context = CudaContext.get();
        this.workspace = DeviceBuffer.allocate(workspaceBytes);
        this.one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        this.zero = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
    }

    /** The cuBLAS bindings in use. */
    public Cublas cublas() {
        return blas;
    }

    /** Device bytes this object holds (its workspace). */
    public long deviceBytes() {
        return workspace.bytes();
    }

    private static void checkShape(int m, int n, int k) {
        if (m <= 0 || n <= 0 || k <= 0) {
            throw new IllegalArgumentException("matmul sizes must be positive, got M=" + m + " N=" + n + " K=" + k);
        }
        if (n % 8 != 0 || k % 8 != 0) {
            throw new IllegalArgumentException("matmul needs N and K multiples of 8 (16-byte rows), got N=" + n + " K="
                    + k);
        }
    }

    /**
     * {@code y = x·Wᵀ} (or {@code y += x·Wᵀ}) on {@code stream}.
     *
     * @param x row-major bf16 {@code [m, k]}
     * @param w row-major bf16 {@code [n, k]} (a Linear layer's {@code weight})
     * @param y row-major {@code [m, n]}, bf16 or fp32 as {@code out} says
     */
    public void linear(Stream stream, long x, long w, long y, int m, int n, int k, Out out) {
        if (closed) {
            throw new IllegalStateException("matmul is closed");
        }
        checkShape(m, n, k);
        Plan p = plans.computeIfAbsent(new Key(m, n, k, out), this::plan);
        blas.matmul(p.desc, one, w, p.a, x, p.b, out == Out.F32_ACCUMULATE ? one : zero, y, p.c, y, p.c, p.algo,
                workspace.pointer(), workspace.bytes(), stream.handle(), m + "x" + n + "x" + k + " " + out);
    }

    private Plan plan(Key key) {
        context.makeCurrent();
        int outType = key.out == Out.BF16 ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_32F;
        MemorySegment desc = blas.matmulDescCreate(Cublas.CUBLAS_COMPUTE_32F, Cublas.CUDA_R_32F);
        blas.matmulDescSetInt(desc, Cublas.DESC_TRANSA, Cublas.CUBLAS_OP_T);
        blas.matmulDescSetInt(desc, Cublas.DESC_TRANSB, Cublas.CUBLAS_OP_N);
        MemorySegment a = blas.layoutCreate(Cublas.CUDA_R_16BF, key.k, key.n, key.k);
        MemorySegment b = blas.layoutCreate(Cublas.CUDA_R_16BF, key.k, key.m, key.k);
        MemorySegment c = blas.layoutCreate(outType, key.n, key.m, key.n);
        MemorySegment pref = blas.preferenceCreate(workspace.bytes());
        try {
            MemorySegment results = arena.allocate(Cublas.HEURISTIC_RESULT_BYTES, 8);
            int found = blas.heuristic(desc, a, b, c, c, pref, 1, results);
            if (found < 1) {
                throw new CudaException("cublasLtMatmulAlgoGetHeuristic found no algorithm for y[" + key.m + ", "
                        + key.n + "] = x[" + key.m + ", " + key.k + "]·W[" + key.n + ", " + key.k + "]ᵀ, output "
                        + key.out);
            }
            MemorySegment algo = results.asSlice(0, Cublas.ALGO_BYTES);
            long ws = results.get(ValueLayout.JAVA_LONG, Cublas.ALGO_BYTES);
            return new Plan(desc, a, b, c, algo, ws);
        } finally {
            blas.preferenceDestroy(pref);
        }
    }

    /**
     * The same product through {@code cublasGemmEx} (the classic API with its own algorithm choice), for the
     * benchmark's comparison with cuBLASLt.
     */
    public void linearGemmEx(Stream stream, long x, long w, long y, int m, int n, int k, Out out) {
        checkShape(m, n, k);
        if (gemmExHandle == null) {
            context.makeCurrent();
            gemmExHandle = blas.blasCreate();
            blas.blasSetWorkspace(gemmExHandle, workspace.pointer(), workspace.bytes());
        }
        blas.blasSetStream(gemmExHandle, stream.handle());
        int outType = out == Out.BF16 ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_32F;
        blas.gemmEx(gemmExHandle, Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, n, m, k, one, w, Cublas.CUDA_R_16BF, k, x,
                Cublas.CUDA_R_16BF, k, out == Out.F32_ACCUMULATE ? one : zero, y, outType, n);
    }

    /** Frees the workspace and the descriptors. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.makeCurrent();
        for (Plan p : plans.values()) {
            blas.layoutDestroy(p.a);
            blas.layoutDestroy(p.b);
            blas.layoutDestroy(p.c);
            blas.matmulDescDestroy(p.desc);
        }
        plans.clear();
        if (gemmExHandle != null) {
            blas.blasDestroy(gemmExHandle);
        }
        workspace.close();
        arena.close();
    }
}
