package org.seerjava.gpu.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Matmul;
import org.seerjava.gpu.Stream;

/**
 * y = x·Wᵀ through cuBLASLt (and cublasGemmEx) against the host product in double of the same bf16 values: fp32
 * output within fp32 summation error, bf16 output within one bf16 unit, the accumulating form adds to y. A mix-up of
 * the row-major / column-major mapping (a transposed operand, a wrong leading dimension) fails every shape whose
 * M, N, K differ.
 */
class MatmulTest {
    @BeforeEach
    void gpu() {
        Dev.assume(true);
    }

    @ParameterizedTest
    @CsvSource({"1, 8, 8", "7, 24, 40", "130, 136, 264", "1, 4096, 4096", "333, 1024, 384", "64, 256, 14336"})
    void productMatchesTheHost(int m, int n, int k) {
        Random r = new Random(m * 7L + n * 3L + k);
        float[] x = Dev.uniform(r, m * k, 1f);
        float[] w = Dev.uniform(r, n * k, 1f);
        float[] y0 = Dev.uniform(r, m * n, 4f);
        double[] want = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int kk = 0; kk < k; kk++) {
                    acc += (double) x[i * k + kk] * w[j * k + kk];
                }
                want[i * n + j] = acc;
            }
        }
        double tol = Math.sqrt(k) * 4e-5;                    // fp32 accumulation of k unit-size products
        try (Matmul mm = new Matmul(); Stream s = new Stream(); DeviceBuffer xb = Dev.bf16Buffer(x);
             DeviceBuffer wb = Dev.bf16Buffer(w); DeviceBuffer f = DeviceBuffer.allocate((long) m * n * 4);
             DeviceBuffer acc = DeviceBuffer.of(y0); DeviceBuffer h = DeviceBuffer.allocate((long) m * n * 2);
             DeviceBuffer ex = DeviceBuffer.allocate((long) m * n * 4)) {
            mm.linear(s, xb.pointer(), wb.pointer(), f.pointer(), m, n, k, Matmul.Out.F32);
            mm.linear(s, xb.pointer(), wb.pointer(), acc.pointer(), m, n, k, Matmul.Out.F32_ACCUMULATE);
            mm.linear(s, xb.pointer(), wb.pointer(), h.pointer(), m, n, k, Matmul.Out.BF16);
            mm.linearGemmEx(s, xb.pointer(), wb.pointer(), ex.pointer(), m, n, k, Matmul.Out.F32);
            s.synchronize();
            float[] yf = Dev.readF32(f, m * n);
            float[] ya = Dev.readF32(acc, m * n);
            float[] yh = Dev.readBf16(h, m * n);
            float[] ye = Dev.readF32(ex, m * n);
            int bfOff = 0;
            for (int i = 0; i < m * n; i++) {
                assertEquals(want[i], yf[i], tol + 1e-6 * Math.abs(want[i]), "f32 element " + i);
                assertEquals(want[i], ye[i], tol + 1e-6 * Math.abs(want[i]), "gemmEx element " + i);
                assertEquals(want[i] + y0[i], ya[i], tol + 1e-6 * Math.abs(want[i] + y0[i]), "accumulate element " + i);
                assertEquals(want[i], yh[i], tol + Math.abs(want[i]) / 256, "bf16 element " + i);
                bfOff += Dev.bf16(yf[i]) == yh[i] ? 0 : 1;
            }
            System.out.printf("[seer-gpu] matmul %dx%dx%d: f32, accumulate, gemmEx within %.1e; bf16 output ≠ bf16(f32 output)"
                    + " at %d elements%n", m, n, k, tol, bfOff);
        }
    }
}
