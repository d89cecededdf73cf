package org.seerjava.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise float32 functions built only from IEEE-exact Vector API operations (add, mul, fma, min, max,
 * conversions, shifts), so that every lane gives the same bits whether the code is interpreted, C1- or C2-compiled,
 * and the scalar tail gives the same bits as the vector body.
 */
final class VectorMath {
    private static final VectorSpecies<Float> S = Linear.S;
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in a part with few mantissa bits (exact products with n) and the rest (Cephes). */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 · 2^23: adding and subtracting it rounds a float of magnitude &lt; 2^22 to the nearest integer. */
    private static final float ROUND = 12582912f;
    private static final float MAX_X = 88.0f;
    private static final float MIN_X = -87.0f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private VectorMath() {
    }

    /**
     * e^x in float32 (Cephes {@code expf}: x = n·ln2 + r, |r| ≤ ln2/2, degree-7 polynomial, times 2^n), about 1 ulp,
     * with x clamped to [−87, 88] (so e^x stays a normal float; silu does not need more).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(MIN_X).min(MAX_X);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, P0);
        p = p.fma(r, FloatVector.broadcast(S, P1));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        FloatVector r2 = r.mul(r);
        FloatVector y = p.fma(r2, r.add(1f));
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }

    /** The same computation on one float, operation for operation ({@link Math#fma} is exact like the vector fma). */
    static float exp(float x) {
        x = Math.min(Math.max(x, MIN_X), MAX_X);
        float n = x * LOG2E + ROUND - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = P0;
        p = Math.fma(p, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float r2 = r * r;
        float y = Math.fma(p, r2, r + 1f);
        return y * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** {@code g[i] ← g[i] / (1 + e^−g[i]) · u[i]} for i in [from, to). */
    static void silu(float[] g, float[] u, int from, int to) {
        int i = from;
        for (int bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
            FloatVector a = FloatVector.fromArray(S, g, i);
            FloatVector e = exp(a.neg());
            a.div(e.add(1f)).mul(FloatVector.fromArray(S, u, i)).intoArray(g, i);
        }
        for (; i < to; i++) {
            float a = g[i];
            g[i] = a / (exp(-a) + 1f) * u[i];
        }
    }
}
