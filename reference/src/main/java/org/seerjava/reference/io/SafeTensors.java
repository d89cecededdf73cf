package org.seerjava.reference.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileChannel.MapMode;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A safetensors file, memory-mapped read-only through the FFM API.
 *
 * <p>Layout: 8 bytes little-endian header length {@code n}, then {@code n} bytes of UTF-8 JSON
 * (an object: tensor name to {@code {"dtype", "shape", "data_offsets"}}, plus an optional
 * {@code "__metadata__"} string-to-string map), then the data section. All numbers in the data
 * section are little-endian.
 *
 * <p>{@link #open(Path)} validates the whole header before returning: header length within
 * {@value #MAX_HEADER_BYTES} bytes and inside the file, valid UTF-8 JSON object without duplicate
 * keys, known dtypes, non-negative integral shapes, {@code data_offsets} with
 * {@code begin <= end <= data section size} and {@code end - begin == product(shape) * dtype size},
 * and no two tensors sharing bytes. Gaps between tensors and trailing bytes after the last tensor
 * are tolerated. Every failure is a {@link SafeTensorsException} naming the file, the tensor when
 * there is one, and what was expected versus found.
 *
 * <p>The mapping lives in a shared {@link Arena} owned by this object: segments and reads are
 * valid from any thread until {@link #close()}, after which every access fails. The conversion
 * methods ({@link #floats(String)}, {@link #ints(String)}, ...) copy into fresh Java arrays, which
 * stay valid after close.
 */
public final class SafeTensors implements AutoCloseable {

    /** Largest header accepted, in bytes (100 MiB), as in the reference implementation. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Largest Java array the conversion methods create. */
    public static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    /** Key of the optional string-to-string metadata map in the header. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = U64_LE;
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final Set<DType> FLOAT_SOURCES = EnumSet.of(DType.F32, DType.F16, DType.BF16, DType.F64);
    private static final Set<DType> BYTE_SOURCES = EnumSet.of(DType.U8, DType.I8, DType.BOOL);
    private static final Set<DType> INT_SOURCES = EnumSet.of(DType.I32, DType.I16, DType.I8, DType.U8, DType.BOOL, DType.I64);
    private static final Set<DType> LONG_SOURCES = EnumSet.of(DType.I64, DType.I32, DType.I16, DType.I8, DType.U8, DType.BOOL);

    private static final JsonMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .streamReadConstraints(StreamReadConstraints.builder().maxStringLength((int) MAX_HEADER_BYTES).build())
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;
    private final List<String> names;
    private volatile boolean closed;

    private SafeTensors(Path path, Arena arena, MemorySegment data, Map<String, String> metadata, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = tensors;
        this.names = List.copyOf(tensors.keySet());
    }

    /**
     * Memory-maps and validates a safetensors file.
     *
     * @param file the file to open
     * @return the open file; close it to release the mapping
     * @throws SafeTensorsException when the file cannot be read or is not a valid safetensors file
     */
    public static SafeTensors open(Path file) {
        if (file == null) {
            throw new IllegalArgumentException("safetensors file must not be null");
        }
        if (!java.nio.file.Files.exists(file)) {
            throw new SafeTensorsException(file, null, "cannot read the file: it does not exist");
        }
        if (!java.nio.file.Files.isRegularFile(file)) {      // never open a pipe (it would block) or a device
            throw new SafeTensorsException(file, null, "expected a regular file, found "
                    + (java.nio.file.Files.isDirectory(file) ? "a directory" : "a device, pipe or socket"));
        }
        Arena arena = Arena.ofShared();
        boolean ok = false;
        try {
            MemorySegment whole;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < 8) {
                    throw new SafeTensorsException(file, null,
                            "expected at least 8 bytes (the header length), found a file of " + size + " bytes");
                }
                whole = ch.map(MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException e) {
                throw new SafeTensorsException(file, null, "cannot read the file: " + AtomicFiles.reason(e), e);
            }
            long size = whole.byteSize();
            long headerLen = whole.get(U64_LE, 0);
            if (headerLen == 0) {
                throw new SafeTensorsException(file, null, "expected a header length > 0, found 0");
            }
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(file, null, "expected a header length of at most " + MAX_HEADER_BYTES
                        + " bytes, found " + Long.toUnsignedString(headerLen) + " (not a safetensors file?)");
            }
            if (8 + headerLen > size) {
                throw new SafeTensorsException(file, null, "header length " + headerLen + " runs past the end of the file: expected 8 + "
                        + headerLen + " = " + (8 + headerLen) + " <= file size, found a file of " + size + " bytes");
            }
            byte[] headerBytes = whole.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment dataSection = whole.asSlice(8 + headerLen);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(file, headerBytes, dataSection.byteSize(), metadata);
            SafeTensors st = new SafeTensors(file, arena, dataSection, metadata, tensors);
            ok = true;
            return st;
        } finally {
            if (!ok) {
                arena.close();
            }
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path file, byte[] headerBytes, long dataSize, Map<String, String> metadata) {
        String text;
        try {
            CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            text = dec.decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file, null, "expected the header to be valid UTF-8, found invalid bytes (" + e + ")", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JacksonException e) {
            throw new SafeTensorsException(file, null, "expected the header to be valid JSON, found a syntax error: " + e.getOriginalMessage()
                    + " at " + location(e), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new SafeTensorsException(file, null, "expected the header to be a JSON object, found only whitespace");
        }
        if (!root.isObject()) {
            throw new SafeTensorsException(file, null, "expected the header to be a JSON object, found a JSON " + kind(root));
        }

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            JsonNode node = e.getValue();
            if (METADATA_KEY.equals(name)) {
                parseMetadata(file, node, metadata);
                continue;
            }
            tensors.put(name, parseEntry(file, name, node, dataSize));
        }
        checkOverlaps(file, tensors.values());
        return tensors;
    }

    private static String location(JacksonException e) {
        var loc = e.getLocation();
        if (loc == null) {
            return "unknown position";
        }
        return "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " (" + abbreviate(n.toString()) + ")";
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> metadata) {
        if (!node.isObject()) {
            throw new SafeTensorsException(file, null, "expected " + METADATA_KEY + " to be a JSON object of strings, found a JSON " + kind(node));
        }
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw new SafeTensorsException(file, null, "expected " + METADATA_KEY + " value '" + m.getKey()
                        + "' to be a string, found a JSON " + kind(m.getValue()));
            }
            metadata.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node, long dataSize) {
        if (!node.isObject()) {
            throw new SafeTensorsException(file, name, "expected an object with dtype, shape and data_offsets, found a JSON " + kind(node));
        }
        JsonNode dt = node.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw new SafeTensorsException(file, name, "expected a string field 'dtype', found " + (dt == null ? "none" : "a JSON " + kind(dt)));
        }
        DType dtype;
        try {
            dtype = DType.parse(dt.textValue());
        } catch (IllegalArgumentException ex) {
            throw new SafeTensorsException(file, name, ex.getMessage(), ex);
        }
        JsonNode sh = node.get("shape");
        if (sh == null || !sh.isArray()) {
            throw new SafeTensorsException(file, name, "expected an array field 'shape', found " + (sh == null ? "none" : "a JSON " + kind(sh)));
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(file, name, "shape[" + i + "]", sh.get(i), sh);
        }
        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw new SafeTensorsException(file, name, "expected a field 'data_offsets' holding [begin, end], found "
                    + (off == null ? "none" : "a JSON " + kind(off)));
        }
        long begin = nonNegativeLong(file, name, "data_offsets[0]", off.get(0), off);
        long end = nonNegativeLong(file, name, "data_offsets[1]", off.get(1), off);
        if (begin > end) {
            throw new SafeTensorsException(file, name, "expected data_offsets begin <= end, found [" + begin + ", " + end + "]");
        }
        if (end > dataSize) {
            throw new SafeTensorsException(file, name, "data_offsets [" + begin + ", " + end + "] run past the end of the data section: expected end <= "
                    + dataSize + " (data section size), found " + end + " (file truncated?)");
        }
        long expectedBytes;
        try {
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            expectedBytes = Math.multiplyExact(count, (long) dtype.byteSize());
        } catch (ArithmeticException ex) {
            throw new SafeTensorsException(file, name, "shape " + Arrays.toString(shape) + " x " + dtype + " overflows a 64-bit byte count", ex);
        }
        if (end - begin != expectedBytes) {
            throw new SafeTensorsException(file, name, "data_offsets span does not match shape x dtype: expected " + expectedBytes
                    + " bytes (shape " + Arrays.toString(shape) + " x " + dtype.byteSize() + " bytes for " + dtype + "), found [" + begin + ", "
                    + end + "] = " + (end - begin) + " bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long nonNegativeLong(Path file, String name, String what, JsonNode v, JsonNode whole) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new SafeTensorsException(file, name, "expected " + what + " to be a non-negative integer, found "
                    + (v == null ? "nothing" : v.toString()) + " in " + abbreviate(whole.toString()));
        }
        return v.longValue();
    }

    private static void checkOverlaps(Path file, java.util.Collection<TensorInfo> infos) {
        List<TensorInfo> spans = new ArrayList<>();
        for (TensorInfo t : infos) {
            if (t.end() > t.begin()) {
                spans.add(t);
            }
        }
        spans.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < spans.size(); i++) {
            TensorInfo prev = spans.get(i - 1);
            TensorInfo cur = spans.get(i);
            if (cur.begin() < prev.end()) {
                throw new SafeTensorsException(file, cur.name(), "data_offsets [" + cur.begin() + ", " + cur.end() + "] overlap those of tensor '"
                        + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "]: expected disjoint spans, found " + (prev.end() - cur.begin())
                        + " shared bytes");
            }
        }
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The file this was opened from.
     *
     * @return the path as given to {@link #open(Path)}
     */
    public Path path() {
        return path;
    }

    /**
     * The header's {@code __metadata__} map, in header order.
     *
     * @return an unmodifiable map, empty when the header has none
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Tensor names in header order (the order of the keys in the JSON header, which for files
     * written by the reference implementation and by {@link SafeTensorsWriter} is the order the
     * data lies in).
     *
     * @return an unmodifiable list, without {@code __metadata__}
     */
    public List<String> names() {
        return names;
    }

    /**
     * Whether the file holds a tensor of this name.
     *
     * @param name the tensor name
     * @return true when present
     */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The header entry of a tensor.
     *
     * @param name the tensor name
     * @return its dtype, shape and data offsets
     * @throws SafeTensorsException when there is no such tensor; the message lists some that exist
     */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            int shown = Math.min(names.size(), 10);
            String avail = names.isEmpty() ? "the file holds no tensors"
                    : "available (" + names.size() + " in total): "
                            + names.subList(0, shown).stream().map(s -> "'" + s + "'").collect(Collectors.joining(", "))
                            + (names.size() > shown ? ", ..." : "");
            throw new SafeTensorsException(path, name, "no such tensor; " + avail);
        }
        return t;
    }

    /**
     * The shape of a tensor (a copy).
     *
     * @param name the tensor name
     * @return its dimensions, outermost first
     * @throws SafeTensorsException when there is no such tensor
     */
    public long[] shape(String name) {
        return info(name).shape();
    }

    /**
     * The dtype of a tensor.
     *
     * @param name the tensor name
     * @return its element type
     * @throws SafeTensorsException when there is no such tensor
     */
    public DType dtype(String name) {
        return info(name).dtype();
    }

    /**
     * Checks that a tensor has the given shape.
     *
     * @param name the tensor name
     * @param expectedShape the dimensions it must have
     * @return its header entry
     * @throws SafeTensorsException when there is no such tensor or its shape differs
     */
    public TensorInfo requireShape(String name, long... expectedShape) {
        TensorInfo t = info(name);
        if (!Arrays.equals(t.shape(), expectedShape)) {
            throw new SafeTensorsException(path, name, "expected shape " + Arrays.toString(expectedShape) + ", found " + Arrays.toString(t.shape()));
        }
        return t;
    }

    /**
     * The tensor's bytes, as a read-only slice of the mapping (little-endian, unaligned in general).
     * Valid until {@link #close()}.
     *
     * @param name the tensor name
     * @return a read-only segment of {@code info(name).byteLength()} bytes
     * @throws SafeTensorsException when there is no such tensor
     * @throws IllegalStateException when this file is closed
     */
    public MemorySegment segment(String name) {
        TensorInfo t = info(name);
        ensureOpen();
        return data.asSlice(t.begin(), t.byteLength()).asReadOnly();
    }

    // ------------------------------------------------------------------ conversions

    /**
     * Copies a floating-point tensor into a float array. F32 is copied as is, F16 and BF16 are
     * widened exactly, F64 is rounded to nearest float.
     *
     * @param name the tensor name
     * @return the elements in row-major order
     * @throws SafeTensorsException when there is no such tensor, its dtype is not F32/F16/BF16/F64,
     *     or it has more than {@link #MAX_ARRAY_LENGTH} elements
     */
    public float[] floats(String name) {
        TensorInfo t = checked(name, FLOAT_SOURCES, "float[]");
        int n = arrayLength(t);
        MemorySegment s = segment(name);
        float[] out = new float[n];
        if (t.dtype() == DType.F32) {
            MemorySegment.copy(s, F32_LE, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = (float) real(s, t.dtype(), i);      // exact for F16/BF16, rounded to nearest for F64
            }
        }
        return out;
    }

    /**
     * Like {@link #floats(String)}, after checking the shape.
     *
     * @param name the tensor name
     * @param expectedShape the dimensions it must have
     * @return the elements in row-major order
     * @throws SafeTensorsException as {@link #floats(String)}, or when the shape differs
     */
    public float[] floats(String name, long[] expectedShape) {
        requireShape(name, expectedShape);
        return floats(name);
    }

    /**
     * Copies a floating-point tensor into a double array. F64 is copied as is; F32, F16 and BF16
     * are widened exactly.
     *
     * @param name the tensor name
     * @return the elements in row-major order
     * @throws SafeTensorsException when there is no such tensor, its dtype is not F64/F32/F16/BF16,
     *     or it has more than {@link #MAX_ARRAY_LENGTH} elements
     */
    public double[] doubles(String name) {
        TensorInfo t = checked(name, FLOAT_SOURCES, "double[]");
        int n = arrayLength(t);
        MemorySegment s = segment(name);
        double[] out = new double[n];
        if (t.dtype() == DType.F64) {
            MemorySegment.copy(s, F64_LE, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = real(s, t.dtype(), i);
            }
        }
        return out;
    }

    /** Element i of a floating-point tensor (F64, F32, F16 or BF16), exactly. */
    private static double real(MemorySegment s, DType dtype, long i) {
        return switch (dtype) {
            case F64 -> s.get(F64_LE, 8L * i);
            case F32 -> s.get(F32_LE, 4L * i);
            case BF16 -> Float.intBitsToFloat((s.get(I16_LE, 2L * i) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(s.get(I16_LE, 2L * i));
            default -> throw new AssertionError(dtype);
        };
    }

    /**
     * Like {@link #doubles(String)}, after checking the shape.
     *
     * @param name the tensor name
     * @param expectedShape the dimensions it must have
     * @return the elements in row-major order
     * @throws SafeTensorsException as {@link #doubles(String)}, or when the shape differs
     */
    public double[] doubles(String name, long[] expectedShape) {
        requireShape(name, expectedShape);
        return doubles(name);
    }

    /**
     * Reads part of a floating-point tensor into an existing array, for tensors too large for one Java array or for
     * the heap (F32 copied, F16/BF16 widened exactly, F64 rounded to nearest float).
     *
     * @param name   the tensor name
     * @param from   first element (row-major flat index)
     * @param out    destination
     * @param offset first index written in out
     * @param length elements to read
     * @throws SafeTensorsException when there is no such tensor or its dtype is not F32/F16/BF16/F64
     * @throws IndexOutOfBoundsException when the range lies outside the tensor or out
     */
    public void floats(String name, long from, float[] out, int offset, int length) {
        TensorInfo t = checked(name, FLOAT_SOURCES, "float[]");
        java.util.Objects.checkFromIndexSize(from, length, t.elementCount());
        java.util.Objects.checkFromIndexSize(offset, length, out.length);
        MemorySegment s = segment(name);
        if (t.dtype() == DType.F32) {
            MemorySegment.copy(s, F32_LE, 4L * from, out, offset, length);
        } else {
            for (int i = 0; i < length; i++) {
                out[offset + i] = (float) real(s, t.dtype(), from + i);  // exact for F16/BF16, rounded for F64
            }
        }
    }

    /**
     * Copies a one-byte tensor (U8, I8 or BOOL) into a byte array, bits unchanged (so U8 values
     * above 127 come back negative; use {@code b & 0xFF} or {@link #ints(String)}).
     *
     * @param name the tensor name
     * @return the raw bytes in row-major order
     * @throws SafeTensorsException when there is no such tensor, its dtype is not U8/I8/BOOL, or
     *     it has more than {@link #MAX_ARRAY_LENGTH} elements
     */
    public byte[] bytes(String name) {
        TensorInfo t = checked(name, BYTE_SOURCES, "byte[]");
        arrayLength(t);
        return segment(name).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Copies an integer tensor into an int array: I32 as is, I16 and I8 sign-extended, U8 and BOOL
     * zero-extended, I64 narrowed after checking every value fits in an int.
     *
     * @param name the tensor name
     * @return the elements in row-major order
     * @throws SafeTensorsException when there is no such tensor, its dtype is not one of those,
     *     an I64 value is out of int range, or it has more than {@link #MAX_ARRAY_LENGTH} elements
     */
    public int[] ints(String name) {
        TensorInfo t = checked(name, INT_SOURCES, "int[]");
        int n = arrayLength(t);
        MemorySegment s = segment(name);
        int[] out = new int[n];
        switch (t.dtype()) {
            case I32 -> MemorySegment.copy(s, I32_LE, 0, out, 0, n);
            case I16, I8, U8, BOOL -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (int) integer(s, t.dtype(), i);
                }
            }
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    long v = s.get(I64_LE, 8L * i);
                    if (v != (int) v) {
                        throw new SafeTensorsException(path, name, "expected I64 values within int range for int[], found " + v
                                + " at flat index " + i + "; use longs()");
                    }
                    out[i] = (int) v;
                }
            }
            default -> throw new AssertionError(t.dtype());
        }
        return out;
    }

    /**
     * Copies an integer tensor into a long array: I64 as is, I32/I16/I8 sign-extended, U8 and BOOL
     * zero-extended.
     *
     * @param name the tensor name
     * @return the elements in row-major order
     * @throws SafeTensorsException when there is no such tensor, its dtype is not an integer type,
     *     or it has more than {@link #MAX_ARRAY_LENGTH} elements
     */
    public long[] longs(String name) {
        TensorInfo t = checked(name, LONG_SOURCES, "long[]");
        int n = arrayLength(t);
        MemorySegment s = segment(name);
        long[] out = new long[n];
        switch (t.dtype()) {
            case I64 -> MemorySegment.copy(s, I64_LE, 0, out, 0, n);
            case I32, I16, I8, U8, BOOL -> {
                for (int i = 0; i < n; i++) {
                    out[i] = integer(s, t.dtype(), i);
                }
            }
            default -> throw new AssertionError(t.dtype());
        }
        return out;
    }

    /** Element i of an integer tensor: I64 as is, I32/I16/I8 sign-extended, U8 and BOOL zero-extended. */
    private static long integer(MemorySegment s, DType dtype, long i) {
        return switch (dtype) {
            case I64 -> s.get(I64_LE, 8L * i);
            case I32 -> s.get(I32_LE, 4L * i);
            case I16 -> s.get(I16_LE, 2L * i);
            case I8 -> s.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            default -> throw new AssertionError(dtype);
        };
    }

    private TensorInfo checked(String name, Set<DType> accepted, String target) {
        TensorInfo t = info(name);
        if (!accepted.contains(t.dtype())) {
            throw new SafeTensorsException(path, name, "cannot convert to " + target + ": expected dtype "
                    + accepted.stream().map(Enum::name).collect(Collectors.joining("/")) + ", found " + t.dtype());
        }
        return t;
    }

    private int arrayLength(TensorInfo t) {
        long n = t.elementCount();
        if (n > MAX_ARRAY_LENGTH) {
            throw new SafeTensorsException(path, t.name(), "expected at most " + MAX_ARRAY_LENGTH + " elements to fit a Java array, found "
                    + n + " (shape " + Arrays.toString(t.shape()) + "); read it through segment()");
        }
        return (int) n;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("safetensors file " + path + " is closed");
        }
    }

    /**
     * Releases the mapping. Segments obtained from {@link #segment(String)} become inaccessible.
     * Calling it again has no effect.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafeTensors[" + path + ", " + names.size() + " tensors]";
    }
}
