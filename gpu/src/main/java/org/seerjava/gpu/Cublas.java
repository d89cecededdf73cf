package org.seerjava.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * FFM bindings of cuBLASLt ({@code libcublasLt.so.13}: matmul descriptors, layouts, the algorithm heuristic,
 * {@code cublasLtMatmul}) and of the few cuBLAS calls used to compare with it ({@code libcublas.so.13}:
 * {@code cublasGemmEx}). The libraries are found by {@link CudaLibraries#findCublas()}; a non-zero
 * {@code cublasStatus_t} throws {@link CudaException} with the operation and the status name. The product itself,
 * with its row-major to column-major mapping, is {@link Matmul}.
 */
public final class Cublas extends StatusCalls {
    /** {@code cudaDataType}: 32-bit float. */
    public static final int CUDA_R_32F = 0;
    /** {@code cudaDataType}: IEEE half. */
    public static final int CUDA_R_16F = 2;
    /** {@code cudaDataType}: bfloat16. */
    public static final int CUDA_R_16BF = 14;
    /** {@code cublasComputeType_t}: fp32 accumulation. */
    public static final int CUBLAS_COMPUTE_32F = 68;
    /** {@code cublasOperation_t}. */
    public static final int CUBLAS_OP_N = 0;
    public static final int CUBLAS_OP_T = 1;
    /** {@code cublasLtMatmulDescAttributes_t}. */
    static final int DESC_TRANSA = 3;
    static final int DESC_TRANSB = 4;
    /** {@code cublasLtMatmulPreferenceAttributes_t}: the workspace limit (uint64). */
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    /** {@code cublasGemmAlgo_t} CUBLAS_GEMM_DEFAULT. */
    static final int CUBLAS_GEMM_DEFAULT = -1;
    /** Bytes of {@code cublasLtMatmulHeuristicResult_t}: algo (8 × uint64), size_t workspace, status, waves, 4 ints. */
    static final long HEURISTIC_RESULT_BYTES = 64 + 8 + 4 + 4 + 16;
    /** Bytes of {@code cublasLtMatmulAlgo_t}. */
    static final long ALGO_BYTES = 64;

    private static final Once<Cublas> INSTANCE = new Once<>(Cublas::open);

    private final Path folder;
    private final MethodHandle ltCreate, ltDestroy, ltGetVersion, ltStatusName, descCreate, descDestroy, descSetAttribute,
            layoutCreate, layoutDestroy, prefCreate, prefDestroy, prefSetAttribute, heuristic, matmul;
    private final MethodHandle create, destroy, setStream, setWorkspace, gemmEx, getVersion, statusName;
    private final MemorySegment lt;

    private Cublas(Path folder, SymbolLookup ltLib, SymbolLookup blasLib) {
        this.folder = folder;
        ltCreate = bind(ltLib, "cublasLtCreate", ADDRESS);
        ltDestroy = bind(ltLib, "cublasLtDestroy", ADDRESS);
        ltGetVersion = Linker.nativeLinker().downcallHandle(find(ltLib, "cublasLtGetVersion"),
                FunctionDescriptor.of(JAVA_LONG));
        ltStatusName = Linker.nativeLinker().downcallHandle(find(ltLib, "cublasLtGetStatusName"),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        descCreate = bind(ltLib, "cublasLtMatmulDescCreate", ADDRESS, JAVA_INT, JAVA_INT);
        descDestroy = bind(ltLib, "cublasLtMatmulDescDestroy", ADDRESS);
        descSetAttribute = bind(ltLib, "cublasLtMatmulDescSetAttribute", ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        layoutCreate = bind(ltLib, "cublasLtMatrixLayoutCreate", ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        layoutDestroy = bind(ltLib, "cublasLtMatrixLayoutDestroy", ADDRESS);
        prefCreate = bind(ltLib, "cublasLtMatmulPreferenceCreate", ADDRESS);
        prefDestroy = bind(ltLib, "cublasLtMatmulPreferenceDestroy", ADDRESS);
        prefSetAttribute = bind(ltLib, "cublasLtMatmulPreferenceSetAttribute", ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        heuristic = bind(ltLib, "cublasLtMatmulAlgoGetHeuristic", ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        matmul = bind(ltLib, "cublasLtMatmul", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS,
                ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        create = bind(blasLib, "cublasCreate_v2", ADDRESS);
        destroy = bind(blasLib, "cublasDestroy_v2", ADDRESS);
        setStream = bind(blasLib, "cublasSetStream_v2", ADDRESS, ADDRESS);
        setWorkspace = bind(blasLib, "cublasSetWorkspace_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        getVersion = bind(blasLib, "cublasGetVersion_v2", ADDRESS, ADDRESS);
        statusName = Linker.nativeLinker().downcallHandle(find(blasLib, "cublasGetStatusName"),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        gemmEx = bind(blasLib, "cublasGemmEx", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) ltCreate.invokeExact(p), "cublasLtCreate");
            lt = p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new CudaUnavailableException("the cuBLAS library has no symbol '" + name
                + "' (not cuBLAS 13?)"));
    }

    private static MethodHandle bind(SymbolLookup lookup, String name, MemoryLayout... args) {
        return CudaLibraries.bindStatusCall(lookup, name, n -> "the cuBLAS library has no symbol '" + n
                + "' (not cuBLAS 13?)", args);
    }

    private static Cublas open() {
        CudaContext.get();                                  // the driver first: its absence is the clearer message
        Path dir = CudaLibraries.findCublas();
        SymbolLookup ltLib = CudaLibraries.open(dir.resolve(CudaLibraries.CUBLASLT_NAME));
        SymbolLookup blasLib = CudaLibraries.open(dir.resolve(CudaLibraries.CUBLAS_NAME));
        return new Cublas(dir, ltLib, blasLib);
    }

    /**
     * The process-wide bindings with one cuBLASLt handle.
     *
     * @throws CudaUnavailableException when there is no GPU or no cuBLAS (the message names the folders tried)
     */
    public static Cublas get() {
        return INSTANCE.get();
    }

    /** Why cuBLAS cannot be used here, or null. */
    public static String unavailableReason() {
        return unavailableReason(Cublas::get);
    }

    /** The folder the libraries were loaded from. */
    public Path folder() {
        return folder;
    }

    /** {@code cublasLtGetVersion()}, e.g. 130100 for 13.1.0. */
    public long version() {
        try {
            return (long) ltGetVersion.invokeExact();
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    @Override
    public String toString() {
        return "cuBLASLt " + version() + " from " + folder;
    }

    MemorySegment ltHandle() {
        return lt;
    }

    // ------------------------------------------------------------------------------------------ status
    @Override
    void check(int status, String operation) {
        if (status != 0) {
            throw new CudaException(operation, status, name(status), null, null);
        }
    }

    String name(int status) {
        return describeStatus(ltStatusName, status);
    }

    /** {@code cublasLtGetStatusName} or {@code cublasGetStatusName} of a status, or "cublasStatus n". */
    private static String describeStatus(MethodHandle getStatusName, int status) {
        try {
            MemorySegment s = (MemorySegment) getStatusName.invokeExact(status);
            return s.equals(MemorySegment.NULL) ? "cublasStatus " + status : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "cublasStatus " + status;
        }
    }

    // ------------------------------------------------------------------------------------------ cuBLASLt
    MemorySegment matmulDescCreate(int computeType, int scaleType) {
        return callForAddress("cublasLtMatmulDescCreate", p -> (int) descCreate.invokeExact(p, computeType, scaleType));
    }

    void matmulDescSetInt(MemorySegment desc, int attribute, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocateFrom(JAVA_INT, value);
            check((int) descSetAttribute.invokeExact(desc, attribute, v, 4L),
                    "cublasLtMatmulDescSetAttribute(" + attribute + ")");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    void matmulDescDestroy(MemorySegment desc) {
        call("cublasLtMatmulDescDestroy", () -> (int) descDestroy.invokeExact(desc));
    }

    MemorySegment layoutCreate(int type, long rows, long cols, long ld) {
        return callForAddress("cublasLtMatrixLayoutCreate(" + rows + "x" + cols + ", ld " + ld + ")",
                p -> (int) layoutCreate.invokeExact(p, type, rows, cols, ld));
    }

    void layoutDestroy(MemorySegment layout) {
        call("cublasLtMatrixLayoutDestroy", () -> (int) layoutDestroy.invokeExact(layout));
    }

    MemorySegment preferenceCreate(long maxWorkspace) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) prefCreate.invokeExact(p), "cublasLtMatmulPreferenceCreate");
            MemorySegment pref = p.get(ADDRESS, 0);
            MemorySegment v = a.allocateFrom(JAVA_LONG, maxWorkspace);
            check((int) prefSetAttribute.invokeExact(pref, PREF_MAX_WORKSPACE_BYTES, v, 8L),
                    "cublasLtMatmulPreferenceSetAttribute(max workspace)");
            return pref;
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    void preferenceDestroy(MemorySegment pref) {
        call("cublasLtMatmulPreferenceDestroy", () -> (int) prefDestroy.invokeExact(pref));
    }

    /**
     * {@code cublasLtMatmulAlgoGetHeuristic}: up to {@code requested} results written to {@code results}
     * ({@link #HEURISTIC_RESULT_BYTES} each); returns how many.
     */
    int heuristic(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment d,
                  MemorySegment pref, int requested, MemorySegment results) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment count = ar.allocate(JAVA_INT);
            check((int) heuristic.invokeExact(lt, desc, a, b, c, d, pref, requested, results, count),
                    "cublasLtMatmulAlgoGetHeuristic");
            return count.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    void matmul(MemorySegment desc, MemorySegment alpha, long a, MemorySegment aLayout, long b, MemorySegment bLayout,
                MemorySegment beta, long c, MemorySegment cLayout, long d, MemorySegment dLayout, MemorySegment algo,
                long workspace, long workspaceBytes, MemorySegment stream, String what) {
        call("cublasLtMatmul(" + what + ")", () -> (int) matmul.invokeExact(lt, desc, alpha, a, aLayout, b, bLayout,
                beta, c, cLayout, d, dLayout, algo, workspace, workspaceBytes, stream));
    }

    // ------------------------------------------------------------------------------------------ cuBLAS
    /** A cuBLAS handle ({@code cublasCreate_v2}) bound to the current context; for the comparison benchmark. */
    MemorySegment blasCreate() {
        return callForAddress("cublasCreate_v2", p -> (int) create.invokeExact(p));
    }

    void blasDestroy(MemorySegment handle) {
        call("cublasDestroy_v2", () -> (int) destroy.invokeExact(handle));
    }

    void blasSetStream(MemorySegment handle, MemorySegment stream) {
        call("cublasSetStream_v2", () -> (int) setStream.invokeExact(handle, stream));
    }

    void blasSetWorkspace(MemorySegment handle, long workspace, long bytes) {
        call("cublasSetWorkspace_v2", () -> (int) setWorkspace.invokeExact(handle, workspace, bytes));
    }

    int blasVersion(MemorySegment handle) {
        return callForInt("cublasGetVersion_v2", p -> (int) getVersion.invokeExact(handle, p));
    }

    /** {@code cublasGemmEx} in column-major terms, compute type 32F. */
    void gemmEx(MemorySegment handle, int transA, int transB, int m, int n, int k, MemorySegment alpha, long a, int aType,
                int lda, long b, int bType, int ldb, MemorySegment beta, long c, int cType, int ldc) {
        call("cublasGemmEx(" + m + "x" + n + "x" + k + ")", () -> (int) gemmEx.invokeExact(handle, transA, transB, m, n,
                k, alpha, a, aType, lda, b, bType, ldb, beta, c, cType, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }

    String blasStatusName(int status) {
        return describeStatus(statusName, status);
    }
}
