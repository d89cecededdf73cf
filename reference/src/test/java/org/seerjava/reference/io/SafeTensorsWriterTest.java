package org.seerjava.reference.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsWriterTest {

    @TempDir
    Path dir;

    private List<String> listDir(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void rejectsShapeDataMismatch() {
        SafeTensorsWriter w = new SafeTensorsWriter();
        assertThatThrownBy(() -> w.add("w", DType.F32, new long[] {2, 3}, new float[5])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'w'").hasMessageContaining("[2, 3] holds 6 elements, but the data array has 5");
        assertThatThrownBy(() -> w.add("b", new long[] {4}, new byte[3])).hasMessageContaining("'b'");
        assertThatThrownBy(() -> w.add("i", new long[] {1}, new int[3])).hasMessageContaining("'i'");
        assertThatThrownBy(() -> w.add("l", new long[] {}, new long[0])).hasMessageContaining("'l'").hasMessageContaining("holds 1 elements");
        assertThatThrownBy(() -> w.addDoubles("d", DType.F64, new long[] {-1, -2}, new double[2])).hasMessageContaining("'d'")
                .hasMessageContaining("non-negative");
        assertThat(w.size()).isZero();
    }

    @Test
    void rejectsDuplicateAndReservedNames() {
        SafeTensorsWriter w = new SafeTensorsWriter().add("x", new long[] {1}, new float[1]);
        assertThatThrownBy(() -> w.add("x", new long[] {1}, new int[1])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'x' was already added");
        assertThatThrownBy(() -> w.add("__metadata__", new long[] {1}, new float[1])).hasMessageContaining("reserved");
        assertThat(w.contains("x")).isTrue();
        assertThat(w.size()).isEqualTo(1);
    }

    @Test
    void rejectsUnsupportedDtypesAndOutOfRangeValues() {
        SafeTensorsWriter w = new SafeTensorsWriter();
        assertThatThrownBy(() -> w.add("f", DType.I32, new long[] {1}, new float[1])).hasMessageContaining("'f'")
                .hasMessageContaining("cannot store float[] as I32");
        assertThatThrownBy(() -> w.add("b", DType.F32, new long[] {1}, new byte[1])).hasMessageContaining("cannot store byte[] as F32");
        assertThatThrownBy(() -> w.add("i", DType.I16, new long[] {2}, new int[] {1, 40000})).hasMessageContaining("'i'")
                .hasMessageContaining("I16 values in [-32768, 32767], found 40000 at flat index 1");
        assertThatThrownBy(() -> w.add("u", DType.U8, new long[] {1}, new int[] {-1})).hasMessageContaining("found -1");
        assertThatThrownBy(() -> w.add("l", DType.I32, new long[] {1}, new long[] {1L << 33})).hasMessageContaining("I32 values");
        assertThatThrownBy(() -> w.add("t", DType.BOOL, new long[] {2}, new byte[] {1, 2})).hasMessageContaining("BOOL bytes 0 or 1, found 2");
        assertThat(w.size()).isZero();
    }

    @Test
    void narrowingIntegerOverloadsRoundTrip() {
        Path file = dir.resolve("n.safetensors");
        new SafeTensorsWriter()
                .add("a", DType.I8, new long[] {3}, new int[] {-128, 0, 127})
                .add("b", DType.U8, new long[] {2}, new long[] {0, 255})
                .add("c", DType.I64, new long[] {2}, new int[] {-5, 5})
                .add("d", DType.I16, new long[] {2}, new long[] {-300, 300})
                .add("e", DType.BOOL, new long[] {2}, new int[] {1, 0})
                .add("f", DType.I32, new long[] {2}, new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE})
                .add("g", DType.I32, new long[] {2}, new int[] {-7, 7})
                .add("h", DType.I64, new long[] {2}, new long[] {Long.MIN_VALUE, Long.MAX_VALUE})
                .add("i", DType.I16, new long[] {2}, new int[] {-32768, 32767})
                .write(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.ints("a")).containsExactly(-128, 0, 127);
            assertThat(st.ints("b")).containsExactly(0, 255);
            assertThat(st.longs("c")).containsExactly(-5, 5);
            assertThat(st.ints("c")).containsExactly(-5, 5);
            assertThat(st.ints("d")).containsExactly(-300, 300);
            assertThat(st.bytes("e")).containsExactly(1, 0);
            assertThat(st.ints("f")).containsExactly(Integer.MIN_VALUE, Integer.MAX_VALUE);
            assertThat(st.ints("g")).containsExactly(-7, 7);
            assertThat(st.longs("h")).containsExactly(Long.MIN_VALUE, Long.MAX_VALUE);
            assertThat(st.ints("i")).containsExactly(-32768, 32767);
            assertThat(st.longs("a")).containsExactly(-128, 0, 127);                          // I8, sign-extended
            assertThat(st.longs("b")).containsExactly(0, 255);                                // U8, zero-extended
            assertThat(st.longs("d")).containsExactly(-300, 300);                             // I16
            assertThat(st.longs("e")).containsExactly(1, 0);                                  // BOOL
            assertThat(st.longs("f")).containsExactly(Integer.MIN_VALUE, Integer.MAX_VALUE);  // I32
            assertThat(st.ints("e")).containsExactly(1, 0);
        }
        SafeTensorsWriter w = new SafeTensorsWriter();
        assertThatThrownBy(() -> w.add("x", DType.F32, new long[] {1}, new int[] {1}))
                .hasMessageContaining("'x'").hasMessageContaining("int[]");
        assertThatThrownBy(() -> w.add("y", DType.I32, new long[] {1}, new long[] {1L << 40}))
                .hasMessageContaining("found 1099511627776 at flat index 0");
    }

    @Test
    void atomicWriteLeavesNoTempFileAndReplacesExisting() throws Exception {
        Path file = dir.resolve("out.safetensors");
        Files.writeString(file, "old contents");
        new SafeTensorsWriter().metadata("k", "v").add("x", new long[] {3}, new float[] {1, 2, 3}).write(file);
        assertThat(listDir(dir)).containsExactly("out.safetensors");
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.floats("x")).containsExactly(1, 2, 3);
            assertThat(st.metadata()).containsEntry("k", "v");
        }
    }

    @Test
    void failedWriteLeavesNoTempFileAndKeepsTheTarget() throws Exception {
        // the target is a non-empty directory: the final rename must fail
        Path target = dir.resolve("target.safetensors");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "keep");
        SafeTensorsWriter w = new SafeTensorsWriter().add("x", new long[] {2}, new float[] {1, 2});
        assertThatThrownBy(() -> w.write(target)).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("target.safetensors");
        assertThat(listDir(dir)).containsExactly("target.safetensors");
        assertThat(listDir(target)).containsExactly("keep.txt");

        Path missingDir = dir.resolve("no/such/dir/x.safetensors");
        assertThatThrownBy(() -> w.write(missingDir)).isInstanceOf(UncheckedIOException.class).hasMessageContaining("x.safetensors");
        assertThat(listDir(dir)).containsExactly("target.safetensors");
    }

    @Test
    void largeTensorSpansSeveralChunks() {
        int n = 700_000; // > 1 MiB as F32 and as F64
        float[] f = new float[n];
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            f[i] = i * 0.5f - 7;
            d[i] = i * 0.25 - 3;
        }
        Path file = dir.resolve("big.safetensors");
        new SafeTensorsWriter().add("f", DType.F32, new long[] {n}, f).add("h", DType.BF16, new long[] {n}, f)
                .add("d", new long[] {700, 1000}, d).write(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.floats("f")).isEqualTo(f);
            assertThat(st.doubles("d")).isEqualTo(d);
            float[] h = st.floats("h");
            for (int i = 0; i < n; i += 997) {
                assertThat(h[i]).isEqualTo(BFloat16.round(f[i]));
            }
            assertThat(h[n - 1]).isEqualTo(BFloat16.round(f[n - 1]));
        }
    }
}
