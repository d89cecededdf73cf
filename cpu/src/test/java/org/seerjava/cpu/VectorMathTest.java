package org.seerjava.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** SwiGLU's gating: the vector body equals the scalar formula bit for bit, and both are accurate. */
class VectorMathTest {
    @Test
    void siluMulIsAccurateAndVectorEqualsScalar() {
        Random r = new Random(5);
        int n = 10_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((r.nextDouble() * 2 - 1) * (i % 3 == 0 ? 90 : 12));
        }
        x[0] = 0f;
        x[1] = -0f;
        x[2] = 88f;
        x[3] = -87f;
        float[] ones = new float[n];
        Arrays.fill(ones, 1f);
        float[] g = x.clone();
        VectorMath.siluMul(g, ones, 0, n);
        for (int i = 0; i < n; i++) {
            float a = x[i];
            float scalar = a / (VectorMath.exp(-a) + 1f);
            assertEquals(Float.floatToIntBits(scalar), Float.floatToIntBits(g[i]), "vector and scalar silu differ at " + a);
            if (a >= -87f && a <= 88f) {
                double exact = Math.exp(a);
                float e = VectorMath.exp(a);
                assertTrue(Math.abs(e - exact) <= 3 * Math.ulp((float) exact), "exp(" + a + ") = " + e + ", exact " + exact);
            }
            double silu = a / (1 + Math.exp(-(double) a));
            assertEquals(silu, g[i], 4 * Math.ulp((float) silu) + 1e-30, "silu(" + a + ")");
        }
    }

    @Test
    void siluMulMultipliesByUpOnlyInsideTheRange() {
        float[] g = {1f, 2f, -3f, 4f, 5f};
        float[] u = {10f, 10f, 0.5f, 10f, 10f};
        VectorMath.siluMul(g, u, 1, 3);
        assertEquals(1f, g[0]);
        assertEquals(2f / (VectorMath.exp(-2f) + 1f) * 10f, g[1]);
        assertEquals(-3f / (VectorMath.exp(3f) + 1f) * 0.5f, g[2]);
        assertEquals(4f, g[3]);
    }
}
