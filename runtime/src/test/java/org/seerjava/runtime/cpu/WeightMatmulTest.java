package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.model.WeightTensor;
import org.seerjava.reference.io.BFloat16;
import org.seerjava.reference.io.DType;

/**
 * The off-heap matrix product against a double-precision product of the stored weights: odd and vector-unaligned
 * widths, every dtype, bias and residual accumulation; and the same bits for a row whatever the batch it is in.
 */
class WeightMatmulTest {

    static WeightTensor tensor(Arena arena, DType dtype, int out, int in, Random r, double[] stored) {
        MemorySegment seg = arena.allocate((long) out * in * dtype.byteSize() + 3).asSlice(3); // unaligned on purpose
        for (int i = 0; i < out * in; i++) {
            float v = (float) r.nextGaussian();
            switch (dtype) {
                case BF16 -> {
                    short b = BFloat16.floatToBf16(v);
                    seg.setAtIndex(WeightTensor.HALF, i, b);
                    stored[i] = BFloat16.bf16ToFloat(b);
                }
                case F16 -> {
                    short b = Float.floatToFloat16(v);
                    seg.setAtIndex(WeightTensor.HALF, i, b);
                    stored[i] = Float.float16ToFloat(b);
                }
                default -> {
                    seg.setAtIndex(WeightTensor.F32, i, v);
                    stored[i] = v;
                }
            }
        }
        return new WeightTensor("w", dtype, new long[] {out, in}, seg, "test");
    }

    @ParameterizedTest(name = "{0} out={1} in={2} n={3}")
    @CsvSource({
            "BF16, 70, 96, 9", "BF16, 5, 33, 3", "BF16, 130, 257, 1", "BF16, 64, 2048, 5",
            "F16, 13, 35, 6", "F32, 67, 64, 70", "F32, 3, 7, 2", "BF16, 9, 1, 4",
            "BF16, 101, 67, 37", "BF16, 48, 2048, 16", "F16, 50, 33, 300", "BF16, 3, 130, 21"})
    void matchesADoubleProduct(DType dtype, int out, int in, int n) {
        Random r = new Random(out * 31L + in);
        try (Arena arena = Arena.ofShared()) {
            double[] w = new double[out * in];
            WeightTensor t = tensor(arena, dtype, out, in, r, w);
            float[] x = new float[n * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] bias = new float[out];
            for (int i = 0; i < out; i++) {
                bias[i] = (float) r.nextGaussian();
            }
            float[] y = new float[n * out];
            float[] residual = new float[n * out];
            for (int i = 0; i < y.length; i++) {
                residual[i] = (float) r.nextGaussian();
            }
            float[] acc = residual.clone();
            WeightMatmul.apply(t, null, x, n, y, false);
            WeightMatmul.apply(t, bias, x, n, acc, true);
            for (int row = 0; row < n; row++) {
                for (int o = 0; o < out; o++) {
                    double s = 0;
                    double mag = 0;
                    for (int k = 0; k < in; k++) {
                        s += w[o * in + k] * x[row * in + k];
                        mag += Math.abs(w[o * in + k] * x[row * in + k]);
                    }
                    double tol = 1e-6 * mag + 1e-6;
                    int idx = row * out + o;
                    assertTrue(Math.abs(y[idx] - s) <= tol, "y[" + row + "," + o + "] = " + y[idx] + ", expected " + s);
                    double withBias = residual[idx] + s + bias[o];
                    assertTrue(Math.abs(acc[idx] - withBias) <= tol + 1e-6 * Math.abs(withBias),
                            "accumulated y[" + row + "," + o + "]");
                }
            }
            // below the panel path, a row's result does not depend on the rows around it; on the panel path it
            // differs from the one-row result by float32 rounding only
            for (int row = 0; row < n; row++) {
                float[] one = new float[out];
                float[] xr = java.util.Arrays.copyOfRange(x, row * in, (row + 1) * in);
                WeightMatmul.apply(t, null, xr, 1, one, false);
                float[] inBatch = java.util.Arrays.copyOfRange(y, row * out, (row + 1) * out);
                if (n < WeightMatmul.PANEL_MIN_ROWS) {
                    assertArrayEquals(inBatch, one, "row " + row);
                } else {
                    assertArrayEquals(inBatch, one, 1e-4f * (float) Math.sqrt(in), "row " + row);
                }
            }
        }
    }
}
