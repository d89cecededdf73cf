package org.seerjava.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
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
public final class CuDriver {
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
        try {
            get();
            return null;
        } catch (CudaException e) {
            return e.getMessage();
        }
    }

    // ---------------------------------------------------------------------------------------------------

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
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) cuDriverGetVersion.invokeExact(p), "cuDriverGetVersion");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) cuDeviceGetCount.invokeExact(p), "cuDeviceGetCount");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public int deviceGet(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) cuDeviceGet.invokeExact(p, ordinal), "cuDeviceGet(" + ordinal + ")");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
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
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) cuDeviceGetAttribute.invokeExact(p, attribute, device),
                    "cuDeviceGetAttribute(" + attribute + ")");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public long deviceTotalMem(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            check((int) cuDeviceTotalMem.invokeExact(p, device), "cuDeviceTotalMem_v2");
            return p.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public MemorySegment devicePrimaryCtxRetain(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuDevicePrimaryCtxRetain.invokeExact(p, device), "cuDevicePrimaryCtxRetain");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void devicePrimaryCtxRelease(int device) {
        try {
            check((int) cuDevicePrimaryCtxRelease.invokeExact(device), "cuDevicePrimaryCtxRelease_v2");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void ctxSetCurrent(MemorySegment ctx) {
        try {
            check((int) cuCtxSetCurrent.invokeExact(ctx), "cuCtxSetCurrent");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void ctxSynchronize() {
        try {
            check((int) cuCtxSynchronize.invokeExact(), "cuCtxSynchronize");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
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
        try {
            check((int) cuMemFree.invokeExact(ptr), "cuMemFree_v2");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        try {
            check((int) cuMemcpyHtoD.invokeExact(dst, src, bytes), "cuMemcpyHtoD_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        try {
            check((int) cuMemcpyDtoH.invokeExact(dst, src, bytes), "cuMemcpyDtoH_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memcpyDtoD(long dst, long src, long bytes) {
        try {
            check((int) cuMemcpyDtoD.invokeExact(dst, src, bytes), "cuMemcpyDtoD_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream),
                    "cuMemcpyHtoDAsync_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream),
                    "cuMemcpyDtoHAsync_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream),
                    "cuMemcpyDtoDAsync_v2(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memsetD8(long dst, byte value, long count) {
        try {
            check((int) cuMemsetD8.invokeExact(dst, value, count), "cuMemsetD8_v2(" + count + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void memsetD8Async(long dst, byte value, long count, MemorySegment stream) {
        try {
            check((int) cuMemsetD8Async.invokeExact(dst, value, count, stream), "cuMemsetD8Async(" + count + " bytes)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
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
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuModuleLoadData.invokeExact(p, image), "cuModuleLoadData");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void moduleUnload(MemorySegment module) {
        try {
            check((int) cuModuleUnload.invokeExact(module), "cuModuleUnload");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
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
        try {
            check((int) cuFuncSetAttribute.invokeExact(function, attribute, value),
                    "cuFuncSetAttribute(" + attribute + ", " + value + ")");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void launchKernel(MemorySegment function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                             MemorySegment stream, MemorySegment params, String name) {
        try {
            check((int) cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params,
                    MemorySegment.NULL), "cuLaunchKernel(" + name + ", grid " + gx + "x" + gy + "x" + gz + ", block "
                    + bx + "x" + by + "x" + bz + ", " + sharedBytes + " B shared)");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public MemorySegment streamCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuStreamCreate.invokeExact(p, flags), "cuStreamCreate");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void streamDestroy(MemorySegment stream) {
        try {
            check((int) cuStreamDestroy.invokeExact(stream), "cuStreamDestroy_v2");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void streamSynchronize(MemorySegment stream) {
        try {
            check((int) cuStreamSynchronize.invokeExact(stream), "cuStreamSynchronize");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public MemorySegment eventCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuEventCreate.invokeExact(p, flags), "cuEventCreate");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void eventDestroy(MemorySegment event) {
        try {
            check((int) cuEventDestroy.invokeExact(event), "cuEventDestroy_v2");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        try {
            check((int) cuEventRecord.invokeExact(event, stream), "cuEventRecord");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void eventSynchronize(MemorySegment event) {
        try {
            check((int) cuEventSynchronize.invokeExact(event), "cuEventSynchronize");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public float eventElapsedTime(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_FLOAT);
            check((int) cuEventElapsedTime.invokeExact(p, start, end), "cuEventElapsedTime");
            return p.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void streamBeginCapture(MemorySegment stream, int mode) {
        try {
            check((int) cuStreamBeginCapture.invokeExact(stream, mode), "cuStreamBeginCapture_v2");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public MemorySegment streamEndCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuStreamEndCapture.invokeExact(stream, p), "cuStreamEndCapture");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public MemorySegment graphInstantiate(MemorySegment graph) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check((int) cuGraphInstantiate.invokeExact(p, graph, 0L), "cuGraphInstantiateWithFlags");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void graphLaunch(MemorySegment exec, MemorySegment stream) {
        try {
            check((int) cuGraphLaunch.invokeExact(exec, stream), "cuGraphLaunch");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void graphDestroy(MemorySegment graph) {
        try {
            check((int) cuGraphDestroy.invokeExact(graph), "cuGraphDestroy");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    public void graphExecDestroy(MemorySegment exec) {
        try {
            check((int) cuGraphExecDestroy.invokeExact(exec), "cuGraphExecDestroy");
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }
}
