package org.seerjava.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings of the CUDA driver API ({@code libcuda.so.1}), versioned symbols where the header maps a name to
 * one ({@code cuMemAlloc_v2}, {@code cuMemcpyHtoD_v2}, …). Every call is checked: a non-zero {@code CUresult}
 * throws {@link CudaException} with the operation, {@code cuGetErrorName} and {@code cuGetErrorString}.
 * Handles ({@code CUcontext}, {@code CUmodule}, …) are {@link MemorySegment} addresses; device pointers are longs.
 */
public final class CuDriver extends StatusCalls {
    public static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public static final int CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    public static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    public static final int CU_STREAM_NON_BLOCKING = 1;
    public static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    public static final int CU_EVENT_DEFAULT = 0;
    public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;

    private static final Once<CuDriver> INSTANCE = new Once<>(CuDriver::open);

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
            cuCtxSetCurrent, cuCtxSynchronize, cuMemAlloc, cuMemFree, cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyDtoD,
            cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync, cuMemsetD8, cuMemsetD8Async, cuMemGetInfo,
            cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuFuncSetAttribute, cuLaunchKernel,
            cuStreamCreate, cuStreamDestroy, cuStreamSynchronize, cuEventCreate, cuEventDestroy, cuEventRecord,
            cuEventSynchronize, cuEventElapsedTime, cuStreamBeginCapture, cuStreamEndCapture,
            cuGraphInstantiate, cuGraphLaunch, cuGraphDestroy, cuGraphExecDestroy, cuGetErrorName,
            cuGetErrorString;

    /** Binds the driver found in {@code lookup}; performs no CUDA call. */
    public CuDriver(SymbolLookup lookup) {
        cuInit = bind(lookup, "cuInit", JAVA_INT);
        cuDriverGetVersion = bind(lookup, "cuDriverGetVersion", ADDRESS);
        cuDeviceGetCount = bind(lookup, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = bind(lookup, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = bind(lookup, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = bind(lookup, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = bind(lookup, "cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRetain = bind(lookup, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRelease = bind(lookup, "cuDevicePrimaryCtxRelease_v2", JAVA_INT);
        cuCtxSetCurrent = bind(lookup, "cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = bind(lookup, "cuCtxSynchronize");
        cuMemAlloc = bind(lookup, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = bind(lookup, "cuMemFree_v2", JAVA_LONG);
        cuMemcpyHtoD = bind(lookup, "cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemcpyDtoH = bind(lookup, "cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        cuMemcpyDtoD = bind(lookup, "cuMemcpyDtoD_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemcpyHtoDAsync = bind(lookup, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = bind(lookup, "cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemcpyDtoDAsync = bind(lookup, "cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemsetD8 = bind(lookup, "cuMemsetD8_v2", JAVA_LONG, JAVA_BYTE, JAVA_LONG);
        cuMemsetD8Async = bind(lookup, "cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS);
        cuMemGetInfo = bind(lookup, "cuMemGetInfo_v2", ADDRESS, ADDRESS);
        cuModuleLoadData = bind(lookup, "cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleUnload = bind(lookup, "cuModuleUnload", ADDRESS);
        cuModuleGetFunction = bind(lookup, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuFuncSetAttribute = bind(lookup, "cuFuncSetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuLaunchKernel = bind(lookup, "cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuStreamCreate = bind(lookup, "cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamDestroy = bind(lookup, "cuStreamDestroy_v2", ADDRESS);
        cuStreamSynchronize = bind(lookup, "cuStreamSynchronize", ADDRESS);
        cuEventCreate = bind(lookup, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventDestroy = bind(lookup, "cuEventDestroy_v2", ADDRESS);
        cuEventRecord = bind(lookup, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = bind(lookup, "cuEventSynchronize", ADDRESS);
        cuEventElapsedTime = lookup.find("cuEventElapsedTime_v2").isPresent()
                ? bind(lookup, "cuEventElapsedTime_v2", ADDRESS, ADDRESS, ADDRESS)
                : bind(lookup, "cuEventElapsedTime", ADDRESS, ADDRESS, ADDRESS);
        cuStreamBeginCapture = bind(lookup, "cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
        cuStreamEndCapture = bind(lookup, "cuStreamEndCapture", ADDRESS, ADDRESS);
        cuGraphInstantiate = bind(lookup, "cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
        cuGraphLaunch = bind(lookup, "cuGraphLaunch", ADDRESS, ADDRESS);
        cuGraphDestroy = bind(lookup, "cuGraphDestroy", ADDRESS);
        cuGraphExecDestroy = bind(lookup, "cuGraphExecDestroy", ADDRESS);
        cuGetErrorName = bind(lookup, "cuGetErrorName", JAVA_INT, ADDRESS);
        cuGetErrorString = bind(lookup, "cuGetErrorString", JAVA_INT, ADDRESS);
    }

    private static MethodHandle bind(SymbolLookup lookup, String name, java.lang.foreign.MemoryLayout... args) {
        return CudaLibraries.bindStatusCall(lookup, name,
                n -> "the CUDA driver library has no symbol '" + n + "' (driver too old for CUDA 13?)", args);
    }

    /**
     * The process-wide driver: {@code libcuda.so.1} loaded and {@code cuInit(0)} done.
     *
     * @throws CudaUnavailableException when there is no driver, {@code cuInit} fails or there is no device
     */
    public static CuDriver get() {
        return INSTANCE.get();
    }

    private static CuDriver open() {
        CuDriver driver = new CuDriver(CudaLibraries.openDriver());
        int rc = driver.rawInit();
        if (rc != 0) {
            throw new CudaUnavailableException("cuInit(0) failed: " + driver.errorName(rc) + " (" + rc + "): "
                    + driver.errorString(rc) + " — the driver is installed but no usable GPU was found");
        }
        if (driver.deviceCount() == 0) {
            throw new CudaUnavailableException("the CUDA driver reports no GPU (cuDeviceGetCount = 0)");
        }
        return driver;
    }

    /** Why CUDA cannot be used here, or null when a driver and at least one GPU are present. */
    public static String unavailableReason() {
        return unavailableReason(CuDriver::get);
    }

    // ---------------------------------------------------------------------------------------------------

    @Override
    void check(int rc, String operation) {
        if (rc != 0) {
            throw new CudaException(operation, rc, errorName(rc), errorString(rc), null);
        }
    }

    /** {@code cuGetErrorName}, or "CUresult n" for an unknown code. */
    public String errorName(int rc) {
        return errorText(cuGetErrorName, rc);
    }

    /** {@code cuGetErrorString}. */
    public String errorString(int rc) {
        return errorText(cuGetErrorString, rc);
    }

    private String errorText(MethodHandle h, int rc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int r = (int) h.invokeExact(rc, p);
            MemorySegment s = p.get(ADDRESS, 0);
            if (r != 0 || s.equals(MemorySegment.NULL)) {
                return "CUresult " + rc;
            }
            return s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "CUresult " + rc;
        }
    }

    int rawInit() {
        try {
            return (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public int driverVersion() {
        return callForInt("cuDriverGetVersion", p -> (int) cuDriverGetVersion.invokeExact(p));
    }

    public int deviceCount() {
        return callForInt("cuDeviceGetCount", p -> (int) cuDeviceGetCount.invokeExact(p));
    }

    public int deviceGet(int ordinal) {
        return callForInt("cuDeviceGet(" + ordinal + ")", p -> (int) cuDeviceGet.invokeExact(p, ordinal));
    }

    public String deviceGetName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(256);
            check((int) cuDeviceGetName.invokeExact(p, 256, device), "cuDeviceGetName");
            return p.getString(0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public int deviceGetAttribute(int attribute, int device) {
        return callForInt("cuDeviceGetAttribute(" + attribute + ")",
                p -> (int) cuDeviceGetAttribute.invokeExact(p, attribute, device));
    }

    public long deviceTotalMem(int device) {
        return callForLong("cuDeviceTotalMem_v2", p -> (int) cuDeviceTotalMem.invokeExact(p, device));
    }

    public MemorySegment devicePrimaryCtxRetain(int device) {
        return callForAddress("cuDevicePrimaryCtxRetain", p -> (int) cuDevicePrimaryCtxRetain.invokeExact(p, device));
    }

    public void devicePrimaryCtxRelease(int device) {
        call("cuDevicePrimaryCtxRelease_v2", () -> (int) cuDevicePrimaryCtxRelease.invokeExact(device));
    }

    public void ctxSetCurrent(MemorySegment ctx) {
        call("cuCtxSetCurrent", () -> (int) cuCtxSetCurrent.invokeExact(ctx));
    }

    public void ctxSynchronize() {
        call("cuCtxSynchronize", () -> (int) cuCtxSynchronize.invokeExact());
    }

    /** {@code cuMemAlloc_v2}; an out-of-memory error names the size asked and the free memory. */
    public long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            int rc = (int) cuMemAlloc.invokeExact(p, bytes);
            if (rc == CUDA_ERROR_OUT_OF_MEMORY) {
                long[] info = memGetInfo();
                throw new CudaException("cuMemAlloc_v2(" + bytes + " bytes = " + human(bytes) + ")", rc,
                        errorName(rc), "out of device memory: asked for " + human(bytes) + " with " + human(info[0])
                        + " free of " + human(info[1]), null);
            }
            check(rc, "cuMemAlloc_v2(" + bytes + " bytes)");
            return p.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(java.util.Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(java.util.Locale.ROOT, "%.2f MiB", bytes / (double) (1L << 20));
        }
        return bytes + " B";
    }

    public void memFree(long ptr) {
        call("cuMemFree_v2", () -> (int) cuMemFree.invokeExact(ptr));
    }

    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        call("cuMemcpyHtoD_v2(" + bytes + " bytes)", () -> (int) cuMemcpyHtoD.invokeExact(dst, src, bytes));
    }

    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        call("cuMemcpyDtoH_v2(" + bytes + " bytes)", () -> (int) cuMemcpyDtoH.invokeExact(dst, src, bytes));
    }

    public void memcpyDtoD(long dst, long src, long bytes) {
        call("cuMemcpyDtoD_v2(" + bytes + " bytes)", () -> (int) cuMemcpyDtoD.invokeExact(dst, src, bytes));
    }

    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        call("cuMemcpyHtoDAsync_v2(" + bytes + " bytes)",
                () -> (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
    }

    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        call("cuMemcpyDtoHAsync_v2(" + bytes + " bytes)",
                () -> (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
    }

    public void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        call("cuMemcpyDtoDAsync_v2(" + bytes + " bytes)",
                () -> (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
    }

    public void memsetD8(long dst, byte value, long count) {
        call("cuMemsetD8_v2(" + count + " bytes)", () -> (int) cuMemsetD8.invokeExact(dst, value, count));
    }

    public void memsetD8Async(long dst, byte value, long count, MemorySegment stream) {
        call("cuMemsetD8Async(" + count + " bytes)",
                () -> (int) cuMemsetD8Async.invokeExact(dst, value, count, stream));
    }

    /** {free, total} bytes of device memory. */
    public long[] memGetInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG);
            MemorySegment t = a.allocate(JAVA_LONG);
            check((int) cuMemGetInfo.invokeExact(f, t), "cuMemGetInfo_v2");
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public MemorySegment moduleLoadData(MemorySegment image) {
        return callForAddress("cuModuleLoadData", p -> (int) cuModuleLoadData.invokeExact(p, image));
    }

    public void moduleUnload(MemorySegment module) {
        call("cuModuleUnload", () -> (int) cuModuleUnload.invokeExact(module));
    }

    public MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuModuleGetFunction.invokeExact(p, module, a.allocateFrom(name)),
                    "cuModuleGetFunction(" + name + ")");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void funcSetAttribute(MemorySegment function, int attribute, int value) {
        call("cuFuncSetAttribute(" + attribute + ", " + value + ")",
                () -> (int) cuFuncSetAttribute.invokeExact(function, attribute, value));
    }

    public void launchKernel(MemorySegment function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                             MemorySegment stream, MemorySegment params, String name) {
        call("cuLaunchKernel(" + name + ", grid " + gx + "x" + gy + "x" + gz + ", block " + bx + "x" + by + "x" + bz
                + ", " + sharedBytes + " B shared)", () -> (int) cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by,
                bz, sharedBytes, stream, params, MemorySegment.NULL));
    }

    public MemorySegment streamCreate(int flags) {
        return callForAddress("cuStreamCreate", p -> (int) cuStreamCreate.invokeExact(p, flags));
    }

    public void streamDestroy(MemorySegment stream) {
        call("cuStreamDestroy_v2", () -> (int) cuStreamDestroy.invokeExact(stream));
    }

    public void streamSynchronize(MemorySegment stream) {
        call("cuStreamSynchronize", () -> (int) cuStreamSynchronize.invokeExact(stream));
    }

    public MemorySegment eventCreate(int flags) {
        return callForAddress("cuEventCreate", p -> (int) cuEventCreate.invokeExact(p, flags));
    }

    public void eventDestroy(MemorySegment event) {
        call("cuEventDestroy_v2", () -> (int) cuEventDestroy.invokeExact(event));
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        call("cuEventRecord", () -> (int) cuEventRecord.invokeExact(event, stream));
    }

    public void eventSynchronize(MemorySegment event) {
        call("cuEventSynchronize", () -> (int) cuEventSynchronize.invokeExact(event));
    }

    public float eventElapsedTime(MemorySegment start, MemorySegment end) {
        return callForFloat("cuEventElapsedTime", p -> (int) cuEventElapsedTime.invokeExact(p, start, end));
    }

    public void streamBeginCapture(MemorySegment stream, int mode) {
        call("cuStreamBeginCapture_v2", () -> (int) cuStreamBeginCapture.invokeExact(stream, mode));
    }

    public MemorySegment streamEndCapture(MemorySegment stream) {
        return callForAddress("cuStreamEndCapture", p -> (int) cuStreamEndCapture.invokeExact(stream, p));
    }

    public MemorySegment graphInstantiate(MemorySegment graph) {
        return callForAddress("cuGraphInstantiateWithFlags", p -> (int) cuGraphInstantiate.invokeExact(p, graph, 0L));
    }

    public void graphLaunch(MemorySegment exec, MemorySegment stream) {
        call("cuGraphLaunch", () -> (int) cuGraphLaunch.invokeExact(exec, stream));
    }

    public void graphDestroy(MemorySegment graph) {
        call("cuGraphDestroy", () -> (int) cuGraphDestroy.invokeExact(graph));
    }

    public void graphExecDestroy(MemorySegment exec) {
        call("cuGraphExecDestroy", () -> (int) cuGraphExecDestroy.invokeExact(exec));
    }
}
