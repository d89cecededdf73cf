package org.seerjava.gpu;

import java.lang.foreign.MemorySegment;

/**
 * The primary context of one GPU (device {@code -Dseer.cuda.device}, default 0) with what kernels need to know
 * about it. {@link #get()} is process-wide; {@link #makeCurrent()} binds it to the calling thread (every public
 * operation of this module calls it, so any thread may use the GPU).
 */
public final class CudaContext {
    private static volatile CudaContext instance;

    private final CuDriver driver;
    private final int device;
    private final MemorySegment context;
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int multiprocessors;
    private final int maxSharedOptin;
    private final long totalMemory;

    private CudaContext(CuDriver driver, int ordinal) {
        this.driver = driver;
        this.device = driver.deviceGet(ordinal);
        this.context = driver.devicePrimaryCtxRetain(device);
        driver.ctxSetCurrent(context);
        this.name = driver.deviceGetName(device);
        this.ccMajor = driver.deviceGetAttribute(CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        this.ccMinor = driver.deviceGetAttribute(CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        this.multiprocessors = driver.deviceGetAttribute(CuDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
        this.maxSharedOptin = driver.deviceGetAttribute(CuDriver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                device);
        this.totalMemory = driver.deviceTotalMem(device);
    }

    /**
     * The context of the selected GPU, made current on this thread.
     *
     * @throws CudaUnavailableException when there is no driver or GPU
     */
    public static CudaContext get() {
        CudaContext c = instance;
        if (c == null) {
            synchronized (CudaContext.class) {
                c = instance;
                if (c == null) {
                    CuDriver d = CuDriver.get();
                    int ordinal = Integer.getInteger("seer.cuda.device", 0);
                    int count = d.deviceCount();
                    if (ordinal < 0 || ordinal >= count) {
                        throw new CudaUnavailableException("-Dseer.cuda.device=" + ordinal + " but the driver reports "
                                + count + " GPU(s)");
                    }
                    c = new CudaContext(d, ordinal);
                    instance = c;
                }
            }
        }
        c.makeCurrent();
        return c;
    }

    /** Binds the context to the calling thread. */
    public void makeCurrent() {
        driver.ctxSetCurrent(context);
    }

    public CuDriver driver() {
        return driver;
    }

    public String name() {
        return name;
    }

    public int computeMajor() {
        return ccMajor;
    }

    public int computeMinor() {
        return ccMinor;
    }

    /** NVRTC's architecture: {@code sm_90a} on compute capability 9.0 (Hopper's wgmma/setmaxnreg), else sm_XY. */
    public String architecture() {
        return (ccMajor == 9 && ccMinor == 0) ? "sm_90a" : "sm_" + ccMajor + ccMinor;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    public int maxSharedMemoryPerBlockOptin() {
        return maxSharedOptin;
    }

    public long totalMemory() {
        return totalMemory;
    }

    /** {free, total} device memory in bytes ({@code cuMemGetInfo_v2}). */
    public long[] memoryInfo() {
        makeCurrent();
        return driver.memGetInfo();
    }

    /** Waits for all work on the device. */
    public void synchronize() {
        makeCurrent();
        driver.ctxSynchronize();
    }

    @Override
    public String toString() {
        return name + " (compute capability " + ccMajor + "." + ccMinor + ", " + multiprocessors + " SMs, "
                + CuDriver.human(totalMemory) + ")";
    }
}
