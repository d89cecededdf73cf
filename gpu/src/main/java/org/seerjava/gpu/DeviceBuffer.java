package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Device memory from {@code cuMemAlloc_v2}, freed by {@link #close()} (never by the garbage collector). Copies
 * are synchronous unless a {@link Stream} is given.
 */
public final class DeviceBuffer implements AutoCloseable {
    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong PEAK = new java.util.concurrent.atomic.AtomicLong();

    private final CudaContext context;
    private final long pointer;
    private final long bytes;
    private boolean closed;

    private DeviceBuffer(CudaContext context, long pointer, long bytes) {
        this.context = context;
        this.pointer = pointer;
        this.bytes = bytes;
    }

    /** Allocates {@code bytes} (at least 1) of device memory; out of memory says the size asked. */
    public static DeviceBuffer allocate(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("buffer size must be >= 0, got " + bytes);
        }
        CudaContext c = CudaContext.get();
        long n = Math.max(1, bytes);
        DeviceBuffer b = new DeviceBuffer(c, c.driver().memAlloc(n), bytes);
        PEAK.accumulateAndGet(LIVE.addAndGet(bytes), Math::max);
        return b;
    }

    /** Bytes held now by open buffers of this process (what {@code torch.cuda.memory_allocated} counts). */
    public static long liveBytes() {
        return LIVE.get();
    }

    /** The most bytes held at once by open buffers since the start or the last {@link #resetPeak()}. */
    public static long peakBytes() {
        return PEAK.get();
    }

    /** Starts a new peak measurement at the bytes held now. */
    public static void resetPeak() {
        PEAK.set(LIVE.get());
    }

    /** A device copy of the floats. */
    public static DeviceBuffer of(float[] data) {
        DeviceBuffer b = allocate((long) data.length * Float.BYTES);
        b.copyFrom(data);
        return b;
    }

    /** A device copy of the bytes. */
    public static DeviceBuffer of(byte[] data) {
        DeviceBuffer b = allocate(data.length);
        b.copyFrom(data);
        return b;
    }

    /** A device copy of the shorts (e.g. bf16 bit patterns). */
    public static DeviceBuffer of(short[] data) {
        DeviceBuffer b = allocate((long) data.length * Short.BYTES);
        b.copyFrom(data);
        return b;
    }

    /** A device copy of the doubles. */
    public static DeviceBuffer of(double[] data) {
        DeviceBuffer b = allocate((long) data.length * Double.BYTES);
        try (Arena a = Arena.ofConfined()) {
            b.copyFrom(a.allocateFrom(ValueLayout.JAVA_DOUBLE, data));
        }
        return b;
    }

    /** The device address ({@code CUdeviceptr}). */
    public long pointer() {
        ensureOpen();
        return pointer;
    }

    public long bytes() {
        return bytes;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("device buffer of " + bytes + " bytes is closed");
        }
    }

    private void checkSize(long n, String what) {
        if (n > bytes) {
            throw new IllegalArgumentException(what + " of " + n + " bytes does not fit the device buffer of " + bytes
                    + " bytes");
        }
    }

    /** Copies host memory into the start of the buffer. */
    public void copyFrom(MemorySegment host) {
        ensureOpen();
        checkSize(host.byteSize(), "host → device copy");
        context.makeCurrent();
        context.driver().memcpyHtoD(pointer, host, host.byteSize());
    }

    /** Copies the start of the buffer into host memory. */
    public void copyTo(MemorySegment host) {
        ensureOpen();
        checkSize(host.byteSize(), "device → host copy");
        context.makeCurrent();
        context.driver().memcpyDtoH(host, pointer, host.byteSize());
    }

    public void copyFrom(MemorySegment host, Stream stream) {
        ensureOpen();
        checkSize(host.byteSize(), "host → device copy");
        context.driver().memcpyHtoDAsync(pointer, host, host.byteSize(), stream.handle());
    }

    public void copyTo(MemorySegment host, Stream stream) {
        ensureOpen();
        checkSize(host.byteSize(), "device → host copy");
        context.driver().memcpyDtoHAsync(host, pointer, host.byteSize(), stream.handle());
    }

    public void copyFrom(float[] data) {
        try (Arena a = Arena.ofConfined()) {
            copyFrom(a.allocateFrom(ValueLayout.JAVA_FLOAT, data));
        }
    }

    public void copyFrom(byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            copyFrom(a.allocateFrom(ValueLayout.JAVA_BYTE, data));
        }
    }

    public void copyFrom(short[] data) {
        try (Arena a = Arena.ofConfined()) {
            copyFrom(a.allocateFrom(ValueLayout.JAVA_SHORT, data));
        }
    }

    public void copyTo(float[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.JAVA_FLOAT, out.length);
            copyTo(s);
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
        }
    }

    public void copyTo(byte[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(out.length);
            copyTo(s);
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, out, 0, out.length);
        }
    }

    public void copyTo(short[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ValueLayout.JAVA_SHORT, out.length);
            copyTo(s);
            MemorySegment.copy(s, ValueLayout.JAVA_SHORT, 0, out, 0, out.length);
        }
    }

    public float[] toFloats() {
        float[] f = new float[(int) (bytes / Float.BYTES)];
        copyTo(f);
        return f;
    }

    /** Sets every byte to {@code value} ({@code cuMemsetD8_v2}); 0xFF poisons fp32 and bf16 with NaN. */
    public void fill(byte value) {
        ensureOpen();
        context.makeCurrent();
        context.driver().memsetD8(pointer, value, bytes);
    }

    public void fill(byte value, Stream stream) {
        ensureOpen();
        context.driver().memsetD8Async(pointer, value, bytes, stream.handle());
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LIVE.addAndGet(-bytes);
            context.makeCurrent();
            context.driver().memFree(pointer);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "DeviceBuffer[0x" + Long.toHexString(pointer) + ", " + bytes + " bytes" + (closed ? ", closed" : "") + "]";
    }
}
