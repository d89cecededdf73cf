package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The linear layer's register tiles against {@code y[r, o] = Σ_k x[r, k] · W[o, k] + b[o]} in float64: every row (4-row
 * tiles and the rows left over), every column of panels whose last vector is partial or past the last column, with
 * and without bias, overwriting and accumulating into y. Elements past {@code out} in a panel must not be written.
 */
class LinearTilesTest {
    static final int PW = LinearTiles.PW;

    @ParameterizedTest(name = "n={0} in={1} out={2} bias={3} accumulate={4}")
    @CsvSource({
        "7, 13, 0, true, false",
        "7, 13, 0, false, true",
        "4, 5, 1, true, true",
        "9, 33, 2, false, false",
        "1, 8, 3, true, false"})
    void tilesEqualTheProductWrittenOut(int n, int in, int outCase, boolean withBias, boolean accumulate) {
        int l = PW / 3;
        // 0: two panels and 5 columns; 1: one full vector and 3 columns; 2: exactly two panels; 3: 1 column
        int out = switch (outCase) {
            case 0 -> 2 * PW + 5;
            case 1 -> l + 3;
            case 2 -> 2 * PW;
            default -> 1;
        };
        Random r = new Random(31L * n + in + out);
        float[] w = new float[out * in];
        float[] x = new float[n * in];
        float[] bias = new float[out];
        float[] y0 = new float[n * out];
        for (float[] a : new float[][] {w, x, bias, y0}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        }
        int panels = (out + PW - 1) / PW;
        float[] packed = new float[panels * in * PW];
        for (int p = 0; p < panels; p++) {
            for (int k = 0; k < in; k++) {
                for (int j = 0; j < PW && p * PW + j < out; j++) {
                    packed[(p * in + k) * PW + j] = w[(p * PW + j) * in + k];
                }
            }
        }
        float[] y = accumulate ? y0.clone() : new float[n * out];
        if (!accumulate) {
            java.util.Arrays.fill(y, Float.NaN);          // every element must be written
        }
        for (int p = 0; p < panels; p++) {
            int row = 0;
            for (; row + 4 <= n; row += 4) {
                LinearTiles.rows4(packed, p * in * PW, in, x, row, y, p * PW, out, withBias ? bias : null, accumulate);
            }
            for (; row < n; row++) {
                LinearTiles.row1(packed, p * in * PW, in, x, row, y, p * PW, out, withBias ? bias : null, accumulate);
            }
        }
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double want = (withBias ? bias[o] : 0) + (accumulate ? y0[i * out + o] : 0);
                double mag = Math.abs(want);
                for (int k = 0; k < in; k++) {
                    want += (double) x[i * in + k] * w[o * in + k];
                    mag += Math.abs((double) x[i * in + k] * w[o * in + k]);
                }
                assertThat((double) y[i * out + o]).as("y[%d, %d]", i, o)
                        .isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * mag + 1e-30));
            }
        }
    }
}
