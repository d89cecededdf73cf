package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One {@code extern "C"} entry point of a {@link CudaModule}. Arguments are given in order as Java values:
 * {@link DeviceBuffer} (a device pointer), {@code Integer} (int), {@code Long} (long, size_t, unsigned long long),
 * {@code Float}, {@code Double}, or {@code long[]} (a struct of 64-bit fields passed by value).
 */
public final class Kernel {
    private final CudaModule module;
    private final String name;
    private final MemorySegment function;
    /**
     * The dynamic shared memory this function has been allowed so far. It starts at 0, not at the default 48 KB:
     * the default covers static plus dynamic shared memory, so a kernel with static shared memory and 48 KB of
     * dynamic memory fails to launch unless the limit is raised explicitly.
     */
    private int dynamicSharedLimit = 0;

    Kernel(CudaModule module, String name, MemorySegment function) {
        this.module = module;
        this.name = name;
        this.function = function;
    }

    public String name() {
        return name;
    }

    /** Launches on {@code stream} (null: the legacy default stream). */
    public void launch(Stream stream, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                       Object... args) {
        CudaContext c = module.context();
        if (sharedBytes > dynamicSharedLimit) {
            synchronized (this) {
                if (sharedBytes > dynamicSharedLimit) {
                    if (sharedBytes > c.maxSharedMemoryPerBlockOptin()) {
                        throw new IllegalArgumentException("kernel " + name + " asks for " + sharedBytes
                                + " bytes of shared memory; the device allows " + c.maxSharedMemoryPerBlockOptin());
                    }
                    c.driver().funcSetAttribute(function, CuDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                            sharedBytes);
                    dynamicSharedLimit = sharedBytes;
                }
            }
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                params.setAtIndex(ValueLayout.ADDRESS, i, argument(a, args[i], i));
            }
            c.driver().launchKernel(function, gx, gy, gz, bx, by, bz, sharedBytes,
                    stream == null ? MemorySegment.NULL : stream.handle(), params, name);
        }
    }

    private MemorySegment argument(Arena a, Object arg, int index) {
        return switch (arg) {
            case DeviceBuffer b -> a.allocateFrom(ValueLayout.JAVA_LONG, b.pointer());
            case Integer i -> a.allocateFrom(ValueLayout.JAVA_INT, i);
            case Long l -> a.allocateFrom(ValueLayout.JAVA_LONG, l);
            case Float f -> a.allocateFrom(ValueLayout.JAVA_FLOAT, f);
            case Double d -> a.allocateFrom(ValueLayout.JAVA_DOUBLE, d);
            case long[] struct -> a.allocateFrom(ValueLayout.JAVA_LONG, struct);
            case null -> a.allocateFrom(ValueLayout.JAVA_LONG, 0L);
            default -> throw new IllegalArgumentException("kernel " + name + " argument " + index + " has unsupported type "
                    + arg.getClass().getName());
        };
    }
}
