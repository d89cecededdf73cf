package org.seerjava.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import org.seerjava.reference.io.BFloat16;
import org.seerjava.reference.io.DType;

/**
 * One weight tensor kept in its stored dtype, off the Java heap: a view of a memory-mapped safetensors file (or of
 * native memory holding random weights). Nothing is copied until a caller widens a slice; the engines read
 * {@link #data()} directly (bf16 widened per tile inside their kernels).
 *
 * @param name   the tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype  {@link DType#BF16}, {@link DType#F16} or {@link DType#F32}
 * @param shape  dimensions, outermost first (row-major)
 * @param data   the elements, little-endian, {@code elementCount · dtype.byteSize()} bytes, unaligned in general;
 *               valid while the {@link ModelWeights} it came from is open
 * @param source where it is stored (a file path or a description), for messages
 */
public record WeightTensor(String name, DType dtype, long[] shape, MemorySegment data, String source) {
    /** Little-endian unaligned 16-bit elements (bf16, f16). */
    public static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Little-endian unaligned 32-bit floats. */
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Checks the dtype and that the segment holds exactly the shape's elements.
     *
     * @throws IllegalArgumentException naming the tensor and its source when the dtype is not BF16, F16 or F32
     *                                  or the byte size does not match the shape
     */
    public WeightTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) {
            throw new IllegalArgumentException(source + ": tensor " + name + " has dtype " + dtype
                    + ", expected a floating-point weight type (BF16, F16 or F32)");
        }
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(source + ": tensor " + name + " has a negative dimension "
                        + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (data.byteSize() != Math.multiplyExact(n, (long) dtype.byteSize())) {
            throw new IllegalArgumentException(source + ": tensor " + name + " holds " + data.byteSize()
                    + " bytes, expected " + n + " elements of " + dtype);
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The number of elements.
     *
     * @return the product of the shape
     */
    public long elementCount() {
        return data.byteSize() / dtype.byteSize();
    }

    /**
     * Bytes stored.
     *
     * @return {@code elementCount · dtype.byteSize()}
     */
    public long byteSize() {
        return data.byteSize();
    }

    /**
     * Whether the shape equals the given dimensions.
     *
     * @param dims expected dimensions
     * @return true when equal
     */
    public boolean hasShape(long... dims) {
        return Arrays.equals(shape, dims);
    }

    /**
     * One element widened to float (exact for every dtype accepted).
     *
     * @param index row-major element index
     * @return the value
     */
    public float get(long index) {
        return switch (dtype) {
            case BF16 -> BFloat16.bf16ToFloat(data.getAtIndex(HALF, index));
            case F16 -> Float.float16ToFloat(data.getAtIndex(HALF, index));
            default -> data.getAtIndex(F32, index);
        };
    }

    /**
     * Widens {@code length} elements starting at {@code from} into {@code out[offset …]}.
     *
     * @param from   first element index
     * @param out    destination
     * @param offset first index written in out
     * @param length number of elements
     */
    public void widen(long from, float[] out, int offset, int length) {
        Objects.checkFromIndexSize(from, length, elementCount());
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, from * 4, out, offset, length);
            case BF16 -> {
                for (int i = 0; i < length; i++) {
                    out[offset + i] = BFloat16.bf16ToFloat(data.getAtIndex(HALF, from + i));
                }
            }
            default -> {
                for (int i = 0; i < length; i++) {
                    out[offset + i] = Float.float16ToFloat(data.getAtIndex(HALF, from + i));
                }
            }
        }
    }

    /**
     * The whole tensor widened to a new float array: for small tensors (norms, biases) and for the heap float32
     * model, never for the weights of a large checkpoint.
     *
     * @return the elements in row-major order
     * @throws IllegalArgumentException when it has more elements than a Java array holds
     */
    public float[] toFloats() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(source + ": tensor " + name + " has " + n
                    + " elements, more than one float array holds");
        }
        float[] out = new float[(int) n];
        widen(0, out, 0, (int) n);
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WeightTensor t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " (" + source + ")";
    }
}
