package org.seerjava.gpu.graph;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.reference.io.DType;

/**
 * A named device tensor of a task graph: element type and shape, fixed when the graph is built. It may be bound
 * to host memory (the source or target of declared transfers) and to a device buffer (given by the caller, or
 * kept by a plan for tensors marked {@link TaskGraph#persistOnDevice}). Closing the tensor frees a device buffer
 * that a plan persisted into it.
 */
public final class Tensor implements AutoCloseable {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private MemorySegment host;
    private DeviceBuffer device;
    private boolean ownsDevice;

    private Tensor(String name, DType dtype, long[] shape) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("tensor name must not be blank");
        }
        if (dtype == null) {
            throw new IllegalArgumentException("tensor " + name + ": dtype must not be null");
        }
        for (long s : shape) {
            if (s <= 0) {
                throw new IllegalArgumentException("tensor " + name + ": dimensions must be positive, got "
                        + Arrays.toString(shape));
            }
        }
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
    }

    /** A tensor with no binding yet (the plan allocates its device memory). */
    public static Tensor of(String name, DType dtype, long... shape) {
        return new Tensor(name, dtype, shape);
    }

    /** A tensor whose device memory the caller already holds (and keeps owning). */
    public static Tensor onDevice(String name, DType dtype, DeviceBuffer buffer, long... shape) {
        Tensor t = new Tensor(name, dtype, shape);
        if (buffer.bytes() < t.bytes()) {
            throw new IllegalArgumentException("tensor " + name + " " + t.describe() + " needs " + t.bytes()
                    + " bytes, the device buffer has " + buffer.bytes());
        }
        t.device = buffer;
        return t;
    }

    /** Binds host memory for transfers; it must hold exactly {@link #bytes()} bytes. */
    public Tensor withHost(MemorySegment segment) {
        if (segment.byteSize() != bytes()) {
            throw new IllegalArgumentException("tensor " + name + " " + describe() + " is " + bytes()
                    + " bytes, the host segment " + segment.byteSize());
        }
        this.host = segment;
        return this;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long elements() {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    public long bytes() {
        return Math.multiplyExact(elements(), dtype.byteSize());
    }

    public MemorySegment host() {
        return host;
    }

    /** The bound device buffer, or null. */
    public DeviceBuffer device() {
        return device;
    }

    void bindPersisted(DeviceBuffer buffer) {
        this.device = buffer;
        this.ownsDevice = true;
    }

    /** "name bf16[1, 8192, 32, 128]". */
    public String describe() {
        return name + " " + dtype.name().toLowerCase(java.util.Locale.ROOT) + Arrays.toString(shape);
    }

    @Override
    public void close() {
        if (ownsDevice && device != null) {
            device.close();
            device = null;
            ownsDevice = false;
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
