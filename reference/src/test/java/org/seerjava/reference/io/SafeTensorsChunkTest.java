package org.seerjava.reference.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a floating-point tensor in chunks gives exactly the elements of the whole-array read, for every dtype. */
class SafeTensorsChunkTest {
    @Test
    void chunksEqualTheWholeReadForEveryFloatDtype(@TempDir Path dir) {
        Random r = new Random(3);
        float[] x = new float[1001];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() * 100;
        }
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F64}) {
            w.add(t.name(), t, new long[] {7, 143}, x);
        }
        w.add("ints", DType.I32, new long[] {2}, new int[] {1, 2});
        Path f = dir.resolve("x.safetensors");
        w.write(f);
        try (SafeTensors st = SafeTensors.open(f)) {
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F64}) {
                float[] whole = st.floats(t.name());
                float[] chunked = new float[whole.length + 5];
                for (int from = 0; from < whole.length; from += 64) {
                    int n = Math.min(64, whole.length - from);
                    st.floats(t.name(), from, chunked, from + 5, n);
                }
                assertThat(Arrays.copyOfRange(chunked, 5, chunked.length)).as(t.name()).containsExactly(whole);
            }
            assertThatThrownBy(() -> st.floats("F32", 1000, new float[2], 0, 2))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> st.floats("ints", 0, new float[2], 0, 2))
                    .isInstanceOf(SafeTensorsException.class).hasMessageContaining("cannot convert to float[]");
        }
    }
}
