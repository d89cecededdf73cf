package org.seerjava.reference.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a safetensors header.
 *
 * @param name the tensor name
 * @param dtype the element type
 * @param shape the dimensions, row-major (outermost first); a scalar has an empty shape
 * @param begin first byte of the tensor, relative to the start of the data section (as in the
 *     header's {@code data_offsets})
 * @param end one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    /**
     * Checks and copies the components.
     *
     * @throws IllegalArgumentException when a dimension is negative or {@code 0 <= begin <= end}
     *     does not hold
     */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = Objects.requireNonNull(shape, "shape").clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape " + Arrays.toString(shape));
            }
        }
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("tensor '" + name + "': expected 0 <= begin <= end, found begin=" + begin + ", end=" + end);
        }
    }

    /**
     * The dimensions (a copy).
     *
     * @return the shape, outermost dimension first
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Number of dimensions.
     *
     * @return the rank, 0 for a scalar
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Product of the dimensions (1 for a scalar).
     *
     * @return the element count
     * @throws ArithmeticException if the product overflows a long
     */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Length of the tensor's byte span, {@code end - begin}.
     *
     * @return the byte length
     */
    public long byteLength() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + name + ", " + dtype + ", shape=" + Arrays.toString(shape) + ", data_offsets=[" + begin + ", " + end + "]]";
    }
}
