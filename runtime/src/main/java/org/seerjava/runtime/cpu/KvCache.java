package org.seerjava.runtime.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;

/**
 * The keys and values of one sequence, off the Java heap in float32: for each layer, K and V laid out
 * {@code [capacity, Hkv, D]} (post-RoPE keys), in one native segment of a shared arena, freed by {@link #close()}.
 *
 * <p>Why float32: decode then attends to exactly the keys and values a one-pass forward computes, so prefill N +
 * decode M agrees with a forward over N + M to float32 rounding; and on the CPU, decode time at the contexts it is
 * used for is dominated by reading the weights, not the cache (a bf16 cache would halve 2 · layers · Hkv · D · 4
 * bytes per token of context).
 */
final class KvCache implements AutoCloseable {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    final int layers;
    final int capacity;
    final int kvDim;
    final long bytes;
    private final Arena arena;
    private final MemorySegment data;

    /**
     * @throws IllegalArgumentException when the cache cannot be allocated: the bytes needed and the machine's memory
     */
    KvCache(int layers, int capacity, int kvHeads, int headDim) {
        this.layers = layers;
        this.capacity = capacity;
        this.kvDim = Math.multiplyExact(kvHeads, headDim);
        this.bytes = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(2L * layers, capacity), kvDim), 4L);
        long physical = physicalMemory();
        if (physical > 0 && bytes > physical) {
            throw new IllegalArgumentException("a KV cache for " + capacity + " tokens needs " + bytes
                    + " bytes (2 · " + layers + " layers · " + kvDim + " · 4), more than the machine's " + physical
                    + " bytes of memory");
        }
        Arena a = Arena.ofShared();
        try {
            this.data = a.allocate(bytes, 64);
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            a.close();
            throw new IllegalArgumentException("a KV cache for " + capacity + " tokens needs " + bytes
                    + " bytes of native memory, which could not be allocated (machine memory " + physical + " bytes): "
                    + e.getMessage(), e);
        }
        this.arena = a;
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return -1;
    }

    /** The segment holding everything. */
    MemorySegment segment() {
        return data;
    }

    /** Float index of K[layer, position, 0] (row of kvDim floats). */
    long keyIndex(int layer, int position) {
        return ((long) (2 * layer) * capacity + position) * kvDim;
    }

    /** Float index of V[layer, position, 0]. */
    long valueIndex(int layer, int position) {
        return ((long) (2 * layer + 1) * capacity + position) * kvDim;
    }

    /** Stores k, v {@code [n, kvDim]} of positions first … first + n − 1 of a layer. */
    void write(int layer, int first, int n, float[] k, float[] v) {
        MemorySegment.copy(k, 0, data, F, keyIndex(layer, first) * 4, n * kvDim);
        MemorySegment.copy(v, 0, data, F, valueIndex(layer, first) * 4, n * kvDim);
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
