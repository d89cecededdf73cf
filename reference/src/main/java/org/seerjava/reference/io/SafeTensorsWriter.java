package org.seerjava.reference.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntToLongFunction;

/**
 * Collects tensors and metadata, then writes them as one safetensors file.
 *
 * <pre>{@code
 * new SafeTensorsWriter()
 *     .metadata("case", json)
 *     .add("q", DType.F32, new long[] {1, 200, 2, 32}, q)
 *     .add("mask", new long[] {1, 2, 4, 4}, maskBytes)
 *     .write(Path.of("out.safetensors"));
 * }</pre>
 *
 * <p>Tensors are written in the order they were added, contiguously, with the header entries in the
 * same order and {@code __metadata__} first. The header JSON is padded with spaces to a multiple of
 * 8 bytes so the data section starts 8-byte aligned.
 *
 * <p>The arrays passed to {@code add} are <b>not copied</b> (weights can be large): do not modify
 * them before {@link #write(Path)}. Values are checked against the target dtype's range when added,
 * and encoded when written. Not thread-safe.
 */
public final class SafeTensorsWriter {

    private static final int CHUNK_BYTES = 1 << 20;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final JsonMapper JSON = new JsonMapper();

    /** Writes elements {@code [first, first + count)} of a tensor to {@code dst} starting at offset 0. */
    @FunctionalInterface
    private interface Encoder {
        void encode(int first, int count, MemorySegment dst);
    }

    private record Entry(String name, DType dtype, long[] shape, int count, Encoder encoder) {
    }

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** Creates an empty writer. */
    public SafeTensorsWriter() {
    }

    /**
     * Adds (or replaces) one {@code __metadata__} entry.
     *
     * @param key the key
     * @param value the value
     * @return this writer
     */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "metadata key"), Objects.requireNonNull(value, () -> "metadata value for '" + key + "'"));
        return this;
    }

    /**
     * Adds a floating-point tensor stored as F32, BF16 (round to nearest even), F16
     * ({@link Float#floatToFloat16}) or F64 (exact widening).
     *
     * @param name the tensor name, unique in the file
     * @param dtype F32, BF16, F16 or F64
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name, unsupported dtype or shape mismatch
     */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, float[] data) {
        Objects.requireNonNull(data, "data");
        Encoder enc = switch (dtype) {
            case F32 -> (first, count, dst) -> MemorySegment.copy(data, first, dst, F32_LE, 0, count);
            case F64 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(F64_LE, 8L * i, data[first + i]);
                }
            };
            case BF16 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I16_LE, 2L * i, BFloat16.floatToBf16(data[first + i]));
                }
            };
            case F16 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I16_LE, 2L * i, Float.floatToFloat16(data[first + i]));
                }
            };
            default -> throw unsupported(name, dtype, "float[]", "F32/BF16/F16/F64");
        };
        return put(name, dtype, shape, data.length, enc);
    }

    /**
     * Adds an F32 tensor.
     *
     * @param name the tensor name, unique in the file
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name or shape mismatch
     */
    public SafeTensorsWriter add(String name, long[] shape, float[] data) {
        return add(name, DType.F32, shape, data);
    }

    /**
     * Adds a floating-point tensor from doubles, stored as F64 (exact), F32 (rounded to nearest),
     * or BF16/F16 (rounded to float first, then to the 16-bit type).
     *
     * @param name the tensor name, unique in the file
     * @param dtype F64, F32, BF16 or F16
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name, unsupported dtype or shape mismatch
     */
    public SafeTensorsWriter addDoubles(String name, DType dtype, long[] shape, double[] data) {
        Objects.requireNonNull(data, "data");
        Encoder enc = switch (dtype) {
            case F64 -> (first, count, dst) -> MemorySegment.copy(data, first, dst, F64_LE, 0, count);
            case F32 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(F32_LE, 4L * i, (float) data[first + i]);
                }
            };
            case BF16 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I16_LE, 2L * i, BFloat16.floatToBf16((float) data[first + i]));
                }
            };
            case F16 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I16_LE, 2L * i, Float.floatToFloat16((float) data[first + i]));
                }
            };
            default -> throw unsupported(name, dtype, "double[]", "F64/F32/BF16/F16");
        };
        return put(name, dtype, shape, data.length, enc);
    }

    /**
     * Adds an F64 tensor.
     *
     * @param name the tensor name, unique in the file
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name or shape mismatch
     */
    public SafeTensorsWriter add(String name, long[] shape, double[] data) {
        return addDoubles(name, DType.F64, shape, data);
    }

    /**
     * Adds a U8 tensor (bytes written unchanged; read them back with {@code b & 0xFF}).
     *
     * @param name the tensor name, unique in the file
     * @param shape the dimensions; their product must equal {@code u8.length}
     * @param u8 the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name or shape mismatch
     */
    public SafeTensorsWriter add(String name, long[] shape, byte[] u8) {
        return add(name, DType.U8, shape, u8);
    }

    /**
     * Adds a one-byte tensor: U8 or I8 (bytes unchanged) or BOOL (every byte must be 0 or 1).
     *
     * @param name the tensor name, unique in the file
     * @param dtype U8, I8 or BOOL
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name, unsupported dtype, shape mismatch or a
     *     BOOL byte other than 0 and 1
     */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, byte[] data) {
        Objects.requireNonNull(data, "data");
        switch (dtype) {
            case U8, I8 -> { }
            case BOOL -> {
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != 0 && data[i] != 1) {
                        throw new IllegalArgumentException("tensor '" + name + "': expected BOOL bytes 0 or 1, found " + data[i] + " at flat index " + i);
                    }
                }
            }
            default -> throw unsupported(name, dtype, "byte[]", "U8/I8/BOOL");
        }
        Encoder enc = (first, count, dst) -> MemorySegment.copy(data, first, dst, ValueLayout.JAVA_BYTE, 0, count);
        return put(name, dtype, shape, data.length, enc);
    }

    /**
     * Adds an I32 tensor.
     *
     * @param name the tensor name, unique in the file
     * @param shape the dimensions; their product must equal {@code i32.length}
     * @param i32 the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name or shape mismatch
     */
    public SafeTensorsWriter add(String name, long[] shape, int[] i32) {
        return add(name, DType.I32, shape, i32);
    }

    /**
     * Adds an integer tensor from ints, stored as I64, I32, I16, I8, U8 or BOOL; every value must
     * fit the target type (BOOL: 0 or 1).
     *
     * @param name the tensor name, unique in the file
     * @param dtype an integer dtype or BOOL
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name, unsupported dtype, shape mismatch or a
     *     value out of the dtype's range
     */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, int[] data) {
        Objects.requireNonNull(data, "data");
        Encoder enc = dtype == DType.I32
                ? (first, count, dst) -> MemorySegment.copy(data, first, dst, I32_LE, 0, count)
                : integers(name, dtype, "int[]", data.length, i -> data[i]);
        return put(name, dtype, shape, data.length, enc);
    }

    /**
     * Adds an I64 tensor.
     *
     * @param name the tensor name, unique in the file
     * @param shape the dimensions; their product must equal {@code i64.length}
     * @param i64 the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name or shape mismatch
     */
    public SafeTensorsWriter add(String name, long[] shape, long[] i64) {
        return add(name, DType.I64, shape, i64);
    }

    /**
     * Adds an integer tensor from longs, stored as I64, I32, I16, I8, U8 or BOOL; every value must
     * fit the target type (BOOL: 0 or 1).
     *
     * @param name the tensor name, unique in the file
     * @param dtype an integer dtype or BOOL
     * @param shape the dimensions; their product must equal {@code data.length}
     * @param data the elements, row-major (not copied)
     * @return this writer
     * @throws IllegalArgumentException on a duplicate name, unsupported dtype, shape mismatch or a
     *     value out of the dtype's range
     */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, long[] data) {
        Objects.requireNonNull(data, "data");
        Encoder enc = dtype == DType.I64
                ? (first, count, dst) -> MemorySegment.copy(data, first, dst, I64_LE, 0, count)
                : integers(name, dtype, "long[]", data.length, i -> data[i]);
        return put(name, dtype, shape, data.length, enc);
    }

    /**
     * The encoder of {@code length} integers, element i being {@code at.applyAsLong(i)}, as {@code dtype} (I64, I32,
     * I16, I8, U8 or BOOL), after checking that every value fits it.
     */
    private static Encoder integers(String name, DType dtype, String source, int length, IntToLongFunction at) {
        Encoder enc = switch (dtype) {
            case I64 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I64_LE, 8L * i, at.applyAsLong(first + i));
                }
            };
            case I32 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I32_LE, 4L * i, (int) at.applyAsLong(first + i));
                }
            };
            case I16 -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(I16_LE, 2L * i, (short) at.applyAsLong(first + i));
                }
            };
            case I8, U8, BOOL -> (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst.set(ValueLayout.JAVA_BYTE, i, (byte) at.applyAsLong(first + i));
                }
            };
            default -> throw unsupported(name, dtype, source, "I64/I32/I16/I8/U8/BOOL");
        };
        for (int i = 0; i < length; i++) {
            checkRange(name, dtype, at.applyAsLong(i), i);
        }
        return enc;
    }

    private static void checkRange(String name, DType dtype, long v, int index) {
        long min;
        long max;
        switch (dtype) {
            case I64 -> { return; }
            case I32 -> { min = Integer.MIN_VALUE; max = Integer.MAX_VALUE; }
            case I16 -> { min = Short.MIN_VALUE; max = Short.MAX_VALUE; }
            case I8 -> { min = Byte.MIN_VALUE; max = Byte.MAX_VALUE; }
            case U8 -> { min = 0; max = 255; }
            case BOOL -> { min = 0; max = 1; }
            default -> { return; }
        }
        if (v < min || v > max) {
            throw new IllegalArgumentException("tensor '" + name + "': expected " + dtype + " values in [" + min + ", " + max + "], found " + v
                    + " at flat index " + index);
        }
    }

    private static IllegalArgumentException unsupported(String name, DType dtype, String source, String accepted) {
        return new IllegalArgumentException("tensor '" + name + "': cannot store " + source + " as " + dtype + "; expected dtype " + accepted);
    }

    private SafeTensorsWriter put(String name, DType dtype, long[] shape, int length, Encoder enc) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, () -> "shape of tensor '" + name + "'");
        if (SafeTensors.METADATA_KEY.equals(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved for the metadata map");
        }
        if (entries.containsKey(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' was already added; names must be unique");
        }
        long product = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': expected non-negative dimensions, found shape " + Arrays.toString(shape));
            }
            try {
                product = Math.multiplyExact(product, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " overflows a long element count", e);
            }
        }
        if (product != length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " holds " + product
                    + " elements, but the data array has " + length);
        }
        entries.put(name, new Entry(name, dtype, shape.clone(), length, enc));
        return this;
    }

    /**
     * Whether a tensor of this name was added.
     *
     * @param name the tensor name
     * @return true when present
     */
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /**
     * Builds the header JSON, padded with trailing spaces to a multiple of 8 bytes.
     *
     * @return the UTF-8 header bytes (without the 8-byte length prefix)
     */
    byte[] headerBytes() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafeTensors.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries.values()) {
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            long end = offset + (long) e.count() * e.dtype().byteSize();
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("cannot serialise the safetensors header", ex);
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /**
     * Writes the file atomically: everything goes to a temporary file in the same directory, which
     * is flushed to disk and then renamed over {@code file}. On failure the temporary file is
     * deleted and any existing {@code file} is left untouched.
     *
     * @param file the destination; its directory must exist
     * @throws UncheckedIOException naming the file when writing or renaming fails
     */
    public void write(Path file) {
        byte[] header = headerBytes();
        AtomicFiles.write(file, (FileChannel out) -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(out, len);
            writeFully(out, ByteBuffer.wrap(header));
            byte[] chunk = new byte[CHUNK_BYTES];
            MemorySegment chunkSeg = MemorySegment.ofArray(chunk);
            for (Entry e : entries.values()) {
                int size = e.dtype().byteSize();
                int perChunk = CHUNK_BYTES / size;
                for (int first = 0; first < e.count(); first += perChunk) {
                    int n = Math.min(perChunk, e.count() - first);
                    e.encoder().encode(first, n, chunkSeg);
                    writeFully(out, ByteBuffer.wrap(chunk, 0, n * size));
                }
            }
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /**
     * Number of tensors added so far.
     *
     * @return the count
     */
    public int size() {
        return entries.size();
    }

    @Override
    public String toString() {
        return "SafeTensorsWriter[" + entries.size() + " tensors, " + metadata.size() + " metadata entries]";
    }
}
