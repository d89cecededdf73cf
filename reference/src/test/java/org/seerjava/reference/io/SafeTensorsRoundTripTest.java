package org.seerjava.reference.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {

    private static final Path GOLDEN = Path.of("../golden-data/golden-partial-block.safetensors");

    @TempDir
    Path dir;

    @Test
    void everyDtypeRoundTripsWithMetadata() throws Exception {
        float[] f = {1.0f, -2.5f, 3.14159265f, 1e-3f, Float.MAX_VALUE, Float.NEGATIVE_INFINITY};
        double[] d = {Math.PI, -1e300, 0.0, Double.MIN_VALUE};
        byte[] u8 = {0, 1, (byte) 200, (byte) 255};
        byte[] i8 = {-128, -1, 0, 127};
        byte[] bool = {0, 1, 1, 0};
        int[] i32 = {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE, 42, 7};
        int[] i16 = {Short.MIN_VALUE, -1, 0, Short.MAX_VALUE};
        long[] i64 = {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE};
        Path file = dir.resolve("all.safetensors");
        new SafeTensorsWriter()
                .metadata("format", "pt")
                .metadata("note", "ünïcode ✓ \"quoted\"")
                .add("f32", DType.F32, new long[] {2, 3}, f)
                .add("bf16", DType.BF16, new long[] {6}, f)
                .add("f16", DType.F16, new long[] {3, 2}, f)
                .add("f64", new long[] {2, 2}, d)
                .addDoubles("f32_from_doubles", DType.F32, new long[] {4}, d)
                .add("u8", new long[] {2, 2}, u8)
                .add("i8", DType.I8, new long[] {4}, i8)
                .add("bool", DType.BOOL, new long[] {4}, bool)
                .add("i32", new long[] {3, 2}, i32)
                .add("i16", DType.I16, new long[] {4}, i16)
                .add("i64", new long[] {4}, i64)
                .add("scalar", new long[] {}, new float[] {7f})
                .add("empty", new long[] {0, 3}, new float[0])
                .write(file);

        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.path()).isEqualTo(file);
            assertThat(st.metadata()).containsExactly(Map.entry("format", "pt"), Map.entry("note", "ünïcode ✓ \"quoted\""));
            assertThat(st.names()).containsExactly("f32", "bf16", "f16", "f64", "f32_from_doubles", "u8", "i8", "bool", "i32", "i16", "i64",
                    "scalar", "empty");
            assertThat(st.contains("f32")).isTrue();
            assertThat(st.contains("__metadata__")).isFalse();

            TensorInfo info = st.info("f32");
            assertThat(info.dtype()).isEqualTo(DType.F32);
            assertThat(info.shape()).containsExactly(2, 3);
            assertThat(info.begin()).isZero();
            assertThat(info.end()).isEqualTo(24);
            assertThat(info.elementCount()).isEqualTo(6);
            assertThat(info.byteLength()).isEqualTo(24);
            assertThat(st.shape("i32")).containsExactly(3, 2);
            assertThat(st.dtype("bf16")).isEqualTo(DType.BF16);

            assertThat(st.floats("f32")).containsExactly(f);
            float[] bf = st.floats("bf16");
            for (int i = 0; i < f.length; i++) {
                assertThat(bf[i]).isEqualTo(BFloat16.round(f[i]));
            }
            float[] h = st.floats("f16");
            for (int i = 0; i < f.length; i++) {
                assertThat(h[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(f[i])));
            }
            assertThat(h[4]).isEqualTo(Float.POSITIVE_INFINITY); // MAX_VALUE overflows half
            assertThat(st.doubles("f64")).containsExactly(d);
            assertThat(st.floats("f64")).containsExactly((float) d[0], (float) d[1], 0f, 0f);
            assertThat(st.doubles("f32")[2]).isEqualTo((double) f[2]);
            assertThat(st.doubles("bf16")[1]).isEqualTo(-2.5);
            assertThat(st.doubles("f16")[0]).isEqualTo(1.0);
            assertThat(st.floats("f32_from_doubles")).containsExactly((float) d[0], (float) d[1], 0f, 0f);

            assertThat(st.bytes("u8")).containsExactly(u8);
            assertThat(st.ints("u8")).containsExactly(0, 1, 200, 255);
            assertThat(st.longs("u8")).containsExactly(0, 1, 200, 255);
            assertThat(st.bytes("i8")).containsExactly(i8);
            assertThat(st.ints("i8")).containsExactly(-128, -1, 0, 127);
            assertThat(st.bytes("bool")).containsExactly(bool);
            assertThat(st.ints("bool")).containsExactly(0, 1, 1, 0);
            assertThat(st.ints("i32")).containsExactly(i32);
            assertThat(st.longs("i32")).containsExactly(Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE, 42, 7);
            assertThat(st.ints("i16")).containsExactly(i16);
            assertThat(st.longs("i16")).containsExactly(Short.MIN_VALUE, -1, 0, Short.MAX_VALUE);
            assertThat(st.longs("i64")).containsExactly(i64);

            assertThat(st.info("scalar").shape()).isEmpty();
            assertThat(st.floats("scalar")).containsExactly(7f);
            assertThat(st.floats("empty")).isEmpty();
            assertThat(st.info("empty").byteLength()).isZero();

            MemorySegment seg = st.segment("i32");
            assertThat(seg.byteSize()).isEqualTo(24);
            assertThat(seg.isReadOnly()).isTrue();
            assertThat(seg.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 16)).isEqualTo(42);
        }
    }

    @Test
    void headerIsPaddedToEightBytesAndDataIsLittleEndian() throws Exception {
        Path file = dir.resolve("pad.safetensors");
        new SafeTensorsWriter().add("x", DType.F32, new long[] {2}, new float[] {1f, -2f})
                .add("y", DType.BF16, new long[] {1}, new float[] {1f}).write(file);
        byte[] raw = Files.readAllBytes(file);
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long n = bb.getLong(0);
        assertThat(n % 8).isZero();
        assertThat(raw.length).isEqualTo(8 + n + 8 + 2);
        String header = new String(raw, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(header).startsWith("{").endsWith(" ".repeat(header.length() - header.stripTrailing().length()));
        JsonNode json = new ObjectMapper().readTree(header);
        assertThat(json.get("x").get("data_offsets").toString()).isEqualTo("[0,8]");
        assertThat(json.get("y").get("data_offsets").toString()).isEqualTo("[8,10]");
        assertThat(json.has("__metadata__")).isFalse();
        assertThat(bb.getFloat((int) (8 + n))).isEqualTo(1f);
        assertThat(bb.getFloat((int) (8 + n + 4))).isEqualTo(-2f);
        assertThat(bb.getShort((int) (8 + n + 8))).isEqualTo((short) 0x3F80);
    }

    @Test
    void readsTheGoldenFile() throws Exception {
        try (SafeTensors st = SafeTensors.open(GOLDEN)) {
            assertThat(st.names()).contains("q", "k", "v", "mask.threshold", "loss.kl", "gate.scores");
            assertThat(st.info("q").dtype()).isEqualTo(DType.F32);
            assertThat(st.shape("q")).containsExactly(1, 200, 2, 32);
            assertThat(st.shape("gate.scores")).containsExactly(1, 2, 4, 4);
            assertThat(st.shape("weight.mask_linear_k.weight")).containsExactly(2, 32, 32);
            assertThat(st.info("mask.threshold").dtype()).isEqualTo(DType.U8);
            assertThat(st.shape("loss.kl")).containsExactly(1);

            float[] q = st.floats("q", new long[] {1, 200, 2, 32});
            assertThat(q).hasSize(200 * 2 * 32);
            for (float x : q) {
                assertThat(Float.isFinite(x)).isTrue();
            }
            double[] qd = st.doubles("q");
            assertThat(qd[123]).isEqualTo((double) q[123]);
            for (int m : st.ints("mask.threshold")) {
                assertThat(m).isIn(0, 1);
            }
            assertThat(st.floats("loss.kl")[0]).isFinite();

            String caseJson = st.metadata().get("case");
            assertThat(caseJson).isNotNull();
            JsonNode c = new ObjectMapper().readTree(caseJson);
            assertThat(c.get("batch").asInt()).isEqualTo(1);
            assertThat(c.get("seq_len").asInt()).isEqualTo(200);
            assertThat(c.get("block_size").asInt()).isEqualTo(64);
            assertThat(c.get("num_q_heads").asInt()).isEqualTo(2);
            assertThat(c.get("gate_type").asText()).isEqualTo("Qavg_Kmax");

            assertThatThrownBy(() -> st.floats("q", new long[] {1, 200, 2, 64}))
                    .isInstanceOf(SafeTensorsException.class)
                    .hasMessageContaining("golden-partial-block.safetensors")
                    .hasMessageContaining("'q'")
                    .hasMessageContaining("expected shape [1, 200, 2, 64], found [1, 200, 2, 32]");
        }
    }

    @Test
    void goldenFileRewrittenByTheWriterReadsBackTheSame() throws Exception {
        Path copy = dir.resolve("copy.safetensors");
        try (SafeTensors st = SafeTensors.open(GOLDEN)) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            st.metadata().forEach(w::metadata);
            for (String n : st.names()) {
                TensorInfo t = st.info(n);
                switch (t.dtype()) {
                    case F32 -> w.add(n, DType.F32, t.shape(), st.floats(n));
                    case U8 -> w.add(n, t.shape(), st.bytes(n));
                    default -> throw new AssertionError(t);
                }
            }
            w.write(copy);
            try (SafeTensors back = SafeTensors.open(copy)) {
                assertThat(back.names()).isEqualTo(st.names());
                assertThat(back.metadata()).isEqualTo(st.metadata());
                for (String n : st.names()) {
                    assertThat(back.info(n).shape()).isEqualTo(st.info(n).shape());
                    assertThat(back.segment(n).mismatch(st.segment(n))).isEqualTo(-1L);
                }
            }
        }
    }

    @Test
    void closedFileRejectsAccessButArraysSurvive() {
        Path file = dir.resolve("c.safetensors");
        new SafeTensorsWriter().add("x", new long[] {2}, new float[] {1f, 2f}).write(file);
        SafeTensors st = SafeTensors.open(file);
        float[] x = st.floats("x");
        MemorySegment seg = st.segment("x");
        st.close();
        st.close(); // idempotent
        assertThat(x).containsExactly(1f, 2f);
        assertThatThrownBy(() -> st.floats("x")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> seg.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
        assertThat(st.info("x").dtype()).isEqualTo(DType.F32); // header stays readable
    }

    @Test
    void tensorInfoEqualityUsesShapeContents() {
        TensorInfo a = new TensorInfo("a", DType.F32, new long[] {2, 3}, 0, 24);
        TensorInfo b = new TensorInfo("a", DType.F32, new long[] {2, 3}, 0, 24);
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a.toString()).contains("[2, 3]");
        long[] s = a.shape();
        s[0] = 99;
        assertThat(a.shape()).containsExactly(2, 3);
        assertThat(List.of(DType.values())).hasSize(11);
        assertThat(DType.parse("BF16")).isEqualTo(DType.BF16);
        assertThat(DType.F64.byteSize()).isEqualTo(8);
        assertThat(DType.BOOL.byteSize()).isEqualTo(1);
        assertThat(DType.parse("U64").byteSize()).as("device counters share the enum").isEqualTo(8);
        assertThatThrownBy(() -> DType.parse("bf16")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'bf16'").hasMessageContaining("upper case");
        assertThatThrownBy(() -> DType.parse("F8_E4M3")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown dtype 'F8_E4M3'").hasMessageContaining("F32");
    }
}
