package org.seerjava.reference.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-made broken files: every failure must name the file and say what is wrong. */
class SafeTensorsCorruptFileTest {

    @TempDir
    Path dir;

    private int counter;

    private Path file(byte[] content) throws Exception {
        Path p = dir.resolve("bad" + (counter++) + ".safetensors");
        Files.write(p, content);
        return p;
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    /** A file with the given header length field, header bytes and data bytes. */
    private Path raw(long headerLen, byte[] header, byte[] data) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(u64(headerLen));
        out.write(header);
        out.write(data);
        return file(out.toByteArray());
    }

    private Path withHeader(String json, int dataBytes) throws Exception {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        return raw(h.length, h, new byte[dataBytes]);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(Path p) {
        return assertThatThrownBy(() -> SafeTensors.open(p).close())
                .isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(p.getFileName().toString())
                .satisfies(e -> assertThat(((SafeTensorsException) e).file()).isEqualTo(p));
    }

    @Test
    void fileShorterThanEightBytes() throws Exception {
        assertOpenFails(file(new byte[] {1, 2, 3})).hasMessageContaining("at least 8 bytes").hasMessageContaining("3 bytes");
        assertOpenFails(file(new byte[0])).hasMessageContaining("found a file of 0 bytes");
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("nope.safetensors");
        assertOpenFails(p).hasMessageContaining("cannot read the file");
    }

    @Test
    void truncatedData() throws Exception {
        // header promises 4 floats = 16 bytes, only 8 are there
        Path p = withHeader("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertOpenFails(p).hasMessageContaining("'x'").hasMessageContaining("past the end of the data section")
                .hasMessageContaining("expected end <= 8").hasMessageContaining("found 16");
    }

    @Test
    void headerLengthPastEndOfFile() throws Exception {
        Path p = raw(1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
        assertOpenFails(p).hasMessageContaining("header length 1000 runs past the end of the file").hasMessageContaining("found a file of 10 bytes");
    }

    @Test
    void headerLengthZero() throws Exception {
        assertOpenFails(raw(0, new byte[0], new byte[16])).hasMessageContaining("header length > 0, found 0");
    }

    @Test
    void headerLengthAbsurd() throws Exception {
        assertOpenFails(raw(1L << 40, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]))
                .hasMessageContaining("at most 104857600").hasMessageContaining("found " + (1L << 40));
        assertOpenFails(raw(-1L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]))
                .hasMessageContaining("found 18446744073709551615");
    }

    @Test
    void badJson() throws Exception {
        assertOpenFails(withHeader("{\"x\": {\"dtype\": ", 0)).hasMessageContaining("valid JSON").hasMessageContaining("line 1");
        assertOpenFails(withHeader("{} trailing", 0)).hasMessageContaining("valid JSON");
        assertOpenFails(withHeader("        ", 0)).hasMessageContaining("JSON object").hasMessageContaining("whitespace");
    }

    @Test
    void invalidUtf8() throws Exception {
        byte[] h = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        assertOpenFails(raw(h.length, h, new byte[0])).hasMessageContaining("UTF-8");
    }

    @Test
    void nonObjectJson() throws Exception {
        assertOpenFails(withHeader("[1, 2, 3]", 0)).hasMessageContaining("expected the header to be a JSON object, found a JSON array");
        assertOpenFails(withHeader("42      ", 0)).hasMessageContaining("found a JSON number");
        assertOpenFails(withHeader("{\"x\": [1, 2]}", 0)).hasMessageContaining("'x'").hasMessageContaining("expected an object");
    }

    @Test
    void duplicateKeys() throws Exception {
        Path p = withHeader("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2);
        assertOpenFails(p).hasMessageContaining("Duplicate field 'x'");
    }

    @Test
    void spanMismatchingShapeTimesDtype() throws Exception {
        Path p = withHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16);
        assertOpenFails(p).hasMessageContaining("'w'").hasMessageContaining("does not match shape x dtype")
                .hasMessageContaining("expected 16 bytes").hasMessageContaining("found [0, 12] = 12 bytes");
    }

    @Test
    void spanPastEnd() throws Exception {
        Path p = withHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[100,104]}}", 8);
        assertOpenFails(p).hasMessageContaining("'b'").hasMessageContaining("[100, 104] run past the end");
    }

    @Test
    void beginAfterEnd() throws Exception {
        Path p = withHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 8);
        assertOpenFails(p).hasMessageContaining("'a'").hasMessageContaining("begin <= end, found [4, 0]");
    }

    @Test
    void overlappingSpans() throws Exception {
        Path p = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertOpenFails(p).hasMessageContaining("'b'").hasMessageContaining("overlap those of tensor 'a' [0, 8]")
                .hasMessageContaining("4 shared bytes");
    }

    @Test
    void emptyTensorsMaySitAnywhere() throws Exception {
        Path p = withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertThat(st.floats("e")).isEmpty();
        }
    }

    @Test
    void unknownDtype() throws Exception {
        Path p = withHeader("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        assertOpenFails(p).hasMessageContaining("'a'").hasMessageContaining("unknown dtype 'F8_E4M3'").hasMessageContaining("expected one of");
    }

    @Test
    void badShapes() throws Exception {
        assertOpenFails(withHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0))
                .hasMessageContaining("'a'").hasMessageContaining("shape[0] to be a non-negative integer, found -1");
        assertOpenFails(withHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,0]}}", 0))
                .hasMessageContaining("found 2.5");
        assertOpenFails(withHeader("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,0]}}", 0))
                .hasMessageContaining("expected an array field 'shape', found none");
        assertOpenFails(withHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 0))
                .hasMessageContaining("'data_offsets'").hasMessageContaining("found none");
        assertOpenFails(withHeader("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0))
                .hasMessageContaining("overflows");
    }

    @Test
    void badMetadata() throws Exception {
        assertOpenFails(withHeader("{\"__metadata__\":{\"n\":3}}", 0))
                .hasMessageContaining("__metadata__ value 'n' to be a string, found a JSON number");
        assertOpenFails(withHeader("{\"__metadata__\":[\"x\"]}", 0)).hasMessageContaining("__metadata__ to be a JSON object");
    }

    @Test
    void wrongDtypeConversionRequest() throws Exception {
        Path p = withHeader("{\"m\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]},"
                + "\"big\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}", 16);
        byte[] content = Files.readAllBytes(p);
        ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN).putLong(content.length - 8, 1L << 40);
        Files.write(p, content);
        try (SafeTensors st = SafeTensors.open(p)) {
            String name = p.getFileName().toString();
            assertThatThrownBy(() -> st.floats("m")).isInstanceOf(SafeTensorsException.class).hasMessageContaining(name)
                    .hasMessageContaining("'m'").hasMessageContaining("cannot convert to float[]")
                    .hasMessageContaining("expected dtype F64/F32/F16/BF16, found U8");
            assertThatThrownBy(() -> st.doubles("m")).hasMessageContaining("found U8");
            assertThatThrownBy(() -> st.bytes("f")).hasMessageContaining("'f'").hasMessageContaining("byte[]").hasMessageContaining("found F32");
            assertThatThrownBy(() -> st.ints("f")).hasMessageContaining("int[]").hasMessageContaining("found F32");
            assertThatThrownBy(() -> st.longs("f")).hasMessageContaining("long[]").hasMessageContaining("found F32");
            assertThatThrownBy(() -> st.ints("big")).isInstanceOf(SafeTensorsException.class).hasMessageContaining(name)
                    .hasMessageContaining("'big'").hasMessageContaining("within int range").hasMessageContaining("found 1099511627776");
            assertThat(st.longs("big")).containsExactly(1L << 40);
        }
    }

    @Test
    void unknownTensorName() throws Exception {
        Path p = withHeader("{\"alpha\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"beta\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertThatThrownBy(() -> st.floats("gamma")).isInstanceOf(SafeTensorsException.class)
                    .hasMessageContaining(p.getFileName().toString()).hasMessageContaining("'gamma'")
                    .hasMessageContaining("no such tensor").hasMessageContaining("'alpha', 'beta'")
                    .satisfies(e -> assertThat(((SafeTensorsException) e).tensor()).isEqualTo("gamma"));
            assertThatThrownBy(() -> st.segment("gamma")).hasMessageContaining("2 in total");
        }
        try (SafeTensors st = SafeTensors.open(withHeader("{}", 0))) {
            assertThat(st.names()).isEmpty();
            assertThatThrownBy(() -> st.info("x")).hasMessageContaining("holds no tensors");
        }
    }

    @Test
    void arrayLimitIsReportedClearly() throws Exception {
        // 2^31 one-byte elements declared in the header; the file is sparse so it costs no disk
        long n = 1L << 31;
        byte[] h = ("{\"huge\":{\"dtype\":\"U8\",\"shape\":[" + n + "],\"data_offsets\":[0," + n + "]}}").getBytes(StandardCharsets.UTF_8);
        Path p = raw(h.length, h, new byte[0]);
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(8 + h.length);
            ch.write(ByteBuffer.wrap(new byte[] {0}), 8 + h.length + n - 1);
        }
        try (SafeTensors st = SafeTensors.open(p)) {
            assertThat(st.segment("huge").byteSize()).isEqualTo(n);
            assertThatThrownBy(() -> st.bytes("huge")).isInstanceOf(SafeTensorsException.class)
                    .hasMessageContaining("'huge'").hasMessageContaining("at most 2147483639 elements")
                    .hasMessageContaining("found 2147483648").hasMessageContaining("segment()");
        }
    }
}
