package org.seerjava.tests.fuzz;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;
import org.seerjava.reference.io.TensorInfo;

/**
 * The safetensors reader under mutated and generated files. Documented outcomes: the file opens and every tensor
 * reads back through the conversion its dtype allows, or a {@link SafeTensorsException} naming the file. Never an
 * {@link OutOfMemoryError}, another exception type, a hang, or a file left behind.
 */
class SafeTensorsFuzzTest {
    static final List<byte[]> SEEDS = new ArrayList<>();

    @TempDir
    static Path seeds;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeSeeds() throws IOException {
        SafeTensorsWriter a = new SafeTensorsWriter();
        a.metadata("format", "pt");
        a.metadata("gate_type", "Qavg_Kmaxminavg");
        a.add("w", DType.F32, new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, 1e-3f, 7});
        a.add("h", DType.BF16, new long[] {4}, new float[] {1, 2, 3, 4});
        a.add("f", DType.F16, new long[] {1, 2}, new float[] {0.5f, -0.25f});
        a.add("empty", DType.F32, new long[] {0, 5}, new float[0]);
        a.add("scalar", DType.F32, new long[0], new float[] {42});
        SafeTensorsWriter b = new SafeTensorsWriter();
        b.add("ids", DType.I64, new long[] {3}, new long[] {1, -5, 1L << 40});
        b.add("bytes", DType.U8, new long[] {4}, new byte[] {1, 2, (byte) 200, 0});
        b.add("mask", DType.BOOL, new long[] {2}, new byte[] {0, 1});
        b.add("i32", DType.I32, new long[] {2}, new int[] {7, -7});
        b.add("d", DType.F64, new long[] {2}, new float[] {(float) Math.PI, -1e30f});
        for (SafeTensorsWriter w : new SafeTensorsWriter[] {a, b}) {
            Path f = seeds.resolve("seed" + SEEDS.size() + ".safetensors");
            w.write(f);
            SEEDS.add(Files.readAllBytes(f));
        }
    }

    /** Opens the file and reads every tensor small enough to read; returns normally for a documented outcome. */
    static void readAll(Path file, int[] outcomes) {
        try (SafeTensors st = SafeTensors.open(file)) {
            outcomes[0]++;
            st.metadata().forEach((k, v) -> { });
            for (String name : st.names()) {
                TensorInfo t = st.info(name);
                if (t.elementCount() > 1 << 20) {
                    continue;                                   // valid but large: the segment is all we need
                }
                st.segment(name);
                if (t.dtype().isFloatingPoint()) {
                    st.floats(name);
                    st.doubles(name);
                } else {
                    try {
                        st.ints(name);
                    } catch (SafeTensorsException e) {
                        Fuzz.documented(e, file.getFileName().toString(), SafeTensorsException.class);
                    }
                    st.longs(name);
                }
                try {
                    st.bytes(name);
                } catch (SafeTensorsException e) {
                    Fuzz.documented(e, file.getFileName().toString(), SafeTensorsException.class);
                }
            }
        } catch (SafeTensorsException e) {
            outcomes[1]++;
            Fuzz.documented(e, file.getFileName().toString(), SafeTensorsException.class);
        }
    }

    /** The cases reach both outcomes often: the mutations are neither all harmless nor all fatal to the header. */
    static void bothOutcomes(int[] outcomes) {
        int all = outcomes[0] + outcomes[1];
        org.assertj.core.api.Assertions.assertThat(outcomes[0]).as("files opened of " + all).isGreaterThan(all / 20);
        org.assertj.core.api.Assertions.assertThat(outcomes[1]).as("files refused of " + all).isGreaterThan(all / 20);
    }

    @Test
    void mutatedFiles() {
        Path file = dir.resolve("case.safetensors");
        int[] outcomes = new int[2];
        Fuzz.run("safetensors-mutated", 1500, Duration.ofSeconds(60), dir, (random, i) -> {
            byte[] seed = SEEDS.get(random.nextInt(SEEDS.size()));
            byte[] input = new Mutator(random).bytes(seed);
            if (random.nextInt(4) == 0) {                       // the data section only: the header stays valid
                int header = 8 + (int) ByteBuffer.wrap(seed).order(ByteOrder.LITTLE_ENDIAN).getLong();
                input = seed.clone();
                for (int k = 0; k < 4 && header < input.length; k++) {
                    input[header + random.nextInt(input.length - header)] = (byte) random.nextInt(256);
                }
            }
            Files.write(file, input);
            try {
                readAll(file, outcomes);
            } catch (AssertionError e) {
                Fuzz.keep("safetensors-mutated", i, input);
                throw e;
            } finally {
                Files.delete(file);
            }
        });
        bothOutcomes(outcomes);
    }

    static final String[] DTYPES = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64",
            "F8_E4M3", "f32", "", "X"};

    /** Headers written from random fields: dtypes (some unknown), shapes with boundary dimensions, any offsets. */
    @Test
    void generatedHeaders() {
        Path file = dir.resolve("gen.safetensors");
        int[] outcomes = new int[2];
        Fuzz.run("safetensors-generated", 1500, Duration.ofSeconds(60), dir, (random, i) -> {
            byte[] input = generated(random);
            Files.write(file, input);
            try {
                readAll(file, outcomes);
            } catch (AssertionError e) {
                Fuzz.keep("safetensors-generated", i, input);
                throw e;
            } finally {
                Files.delete(file);
            }
        });
        bothOutcomes(outcomes);
    }

    static byte[] generated(SplittableRandom r) {
        StringBuilder h = new StringBuilder("{");
        int tensors = r.nextInt(5);
        long offset = 0;
        for (int t = 0; t < tensors; t++) {
            String dtype = DTYPES[r.nextInt(DTYPES.length)];
            int rank = r.nextInt(5);
            StringBuilder shape = new StringBuilder();
            long count = 1;
            for (int d = 0; d < rank; d++) {
                String dim = r.nextInt(4) == 0 ? Mutator.NUMBERS[r.nextInt(Mutator.NUMBERS.length)]
                        : Integer.toString(r.nextInt(6));
                shape.append(d > 0 ? "," : "").append(dim);
                try {
                    count = Math.multiplyExact(count, Long.parseLong(dim));
                } catch (NumberFormatException | ArithmeticException e) {
                    count = -1;
                }
            }
            long bytes = count < 0 ? r.nextInt(64) : count * 4;
            long begin = r.nextInt(8) == 0 ? r.nextLong() : offset;
            long end = r.nextInt(8) == 0 ? r.nextLong(Long.MAX_VALUE) : begin + bytes;
            h.append(t > 0 ? "," : "").append("\"t").append(t).append("\":{\"dtype\":\"").append(dtype)
                    .append("\",\"shape\":[").append(shape).append("],\"data_offsets\":[").append(begin).append(',')
                    .append(end).append("]}");
            offset = Math.max(offset, end);
        }
        if (r.nextBoolean()) {
            h.append(tensors > 0 ? "," : "").append("\"__metadata__\":{\"k\":")
                    .append(r.nextBoolean() ? "\"v\"" : Mutator.VALUES[r.nextInt(Mutator.VALUES.length)]).append('}');
        }
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        int data = (int) Math.min(Math.max(0, offset), 4096) + r.nextInt(-4, 5);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + Math.max(0, data)).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(r.nextInt(16) == 0 ? r.nextLong() : header.length).put(header);
        return b.array();
    }
}
