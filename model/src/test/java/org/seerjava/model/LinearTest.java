package org.seerjava.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The packed Vector API matmul against a float64 triple loop, on sizes that are not multiples of the tiles. */
class LinearTest {
    @ParameterizedTest(name = "n={0} in={1} out={2} bias={3} accumulate={4}")
    @CsvSource({"1, 1, 1, false, false", "3, 7, 5, true, false", "4, 16, 48, false, true", "67, 33, 100, true, true",
            "130, 384, 1024, false, false", "9, 64, 47, true, false", "5, 20, 49, false, true"})
    void matchesFloat64(int n, int in, int out, boolean bias, boolean accumulate) {
        Random r = new Random(n * 1000L + in * 10L + out);
        float[] w = rnd(r, out * in);
        float[] b = bias ? rnd(r, out) : null;
        float[] x = rnd(r, n * in);
        float[] y0 = rnd(r, n * out + 3);
        float[] y = y0.clone();
        new Linear(w, b, out, in).apply(x, n, y, accumulate);
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double s = (bias ? b[o] : 0) + (accumulate ? y0[i * out + o] : 0);
                double abs = Math.abs(s);
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * w[o * in + k];
                    abs += Math.abs((double) x[i * in + k] * w[o * in + k]);
                }
                assertEquals(s, y[i * out + o], 1e-6 * abs + 1e-7, "y[" + i + ", " + o + "]");
            }
        }
        for (int i = n * out; i < y.length; i++) {
            assertEquals(y0[i], y[i], "beyond the output is untouched");
        }
    }

    private static float[] rnd(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }
}
