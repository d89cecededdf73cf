package org.seerjava.reference.io;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Element types, named as they appear in a safetensors JSON header ({@code "F32"}, {@code "BF16"}, ...): the
 * types of safetensors files and of the GPU engine's device tensors. Only the types this project reads, writes or
 * allocates are listed; any other name in a header is rejected when the file is opened.
 */
public enum DType {
    /** IEEE 754 binary64. */
    F64(8),
    /** IEEE 754 binary32. */
    F32(4),
    /** IEEE 754 binary16 (half precision). */
    F16(2),
    /** bfloat16: the upper 16 bits of a binary32. */
    BF16(2),
    /** Signed 64-bit integer. */
    I64(8),
    /** Signed 32-bit integer. */
    I32(4),
    /** Signed 16-bit integer. */
    I16(2),
    /** Signed 8-bit integer. */
    I8(1),
    /** Unsigned 64-bit integer (device counters; safetensors files of this type are listed but not converted). */
    U64(8),
    /** Unsigned 8-bit integer. */
    U8(1),
    /** Boolean stored as one byte, 0 or 1. */
    BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /**
     * Size of one element in bytes.
     *
     * @return 1, 2, 4 or 8
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Whether this is a floating-point type (F64, F32, F16, BF16).
     *
     * @return true for the floating-point types
     */
    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /**
     * Parses a dtype name as written in a safetensors header. The match is exact (upper case), as
     * the format specifies.
     *
     * @param name the header's dtype string, e.g. {@code "F32"}
     * @return the dtype
     * @throws IllegalArgumentException naming the unknown dtype and the known ones
     */
    public static DType parse(String name) {
        if (name != null) {
            for (DType t : values()) {
                if (t.name().equals(name)) {
                    return t;
                }
            }
        }
        String known = Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
        String hint = "";
        if (name != null && !name.equals(name.toUpperCase(Locale.ROOT))) {
            hint = " (dtype names are upper case)";
        }
        throw new IllegalArgumentException(
                "unknown dtype " + (name == null ? "null" : "'" + name + "'") + hint + "; expected one of " + known);
    }
}
