package org.seerjava.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise float32 functions built only from IEEE-exact Vector API operations (add, mul, fma, min, max,
 * conversions, shifts), so that every lane gives the same bits whether the code is interpreted, C1- or C2-compiled,
 * and the scalar tail gives the same bits as the vector body. The exponential is the cpu module's
 * {@link org.seerjava.cpu.VectorMath}.
 */
final class VectorMath {
    private static final VectorSpecies<Float> S = Linear.S;

    private VectorMath() {
    }

    /**
     * e^x in float32, {@link org.seerjava.cpu.VectorMath#exp(FloatVector)} (Cephes {@code expf}, about 1 ulp on
     * [−87, 88], 0 below −87, e^88 above 88; the same bits in every JIT tier and in the scalar twin).
     */
    static FloatVector exp(FloatVector x) {
        return org.seerjava.cpu.VectorMath.exp(x);
    }

    /** The scalar twin, bit-identical to the vector lanes. */
    static float exp(float x) {
        return org.seerjava.cpu.VectorMath.exp(x);
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
