package org.seerjava.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 functions built only from IEEE-exact Vector API operations (add, mul, fma, min, max, compare, blend,
 * conversions, shifts, rearrange), so that every lane gives the same bits whether the code is interpreted, C1- or
 * C2-compiled, and the scalar twins give the same bits as the vector versions. The intrinsics they replace do not:
 * {@code lanewise(EXP)} is SVML when C2-compiled and {@code Math.exp} per lane otherwise, and
 * {@code reduceLanes(ADD)} is a tree when compiled and a left-to-right sum otherwise.
 */
public final class VectorMath {
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in a part with few mantissa bits (exact products with n) and the rest (Cephes). */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 · 2^23: adding and subtracting it rounds a float of magnitude &lt; 2^22 to the nearest integer. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
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
     * e^x in float32 (Cephes {@code expf}: x = n·ln2 + r, |r| ≤ ln2/2, degree-7 polynomial, times 2^n), about
     * 1 ulp for x in [−87, 88]; x &gt; 88 gives e^88, x &lt; −87 (−∞ included) gives exactly 0, NaN gives NaN.
     * Any species.
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector c = x.min(MAX_X);
        return scaled(c, c.mul(LOG2E).add(ROUND), x.compare(VectorOperators.LT, MIN_X));
    }

    /**
     * e^x for x ≤ 0 (−∞ included), as in a softmax, where x = s − max s: {@link #exp(FloatVector)} without the clamp
     * at 88 (Java's {@code min} costs C2 five instructions, to honour NaN and −0), and with the range reduction's
     * multiply-add fused; about 1 ulp, exactly 0 below −87, NaN for NaN. Positive arguments are not supported (above
     * 88 the result is wrong).
     */
    public static FloatVector expNonPositive(FloatVector x) {
        return scaled(x, x.fma(x.broadcast(LOG2E), x.broadcast(ROUND)), x.compare(VectorOperators.LT, MIN_X));
    }

    /**
     * e^c given t = c·log2 e + 1.5·2^23, whose low mantissa bits hold n = round(c·log2 e): c = n·ln 2 + r with
     * |r| ≤ ln 2 / 2 (Cody–Waite, ln 2 in two parts), e^r = 1 + r + r²·P(r), times 2^n built in the exponent bits;
     * 0 in the lanes of {@code under} (below −87, −∞ included), whatever the rest gives there.
     */
    private static FloatVector scaled(FloatVector c, FloatVector t, VectorMask<Float> under) {
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(c.broadcast(-LN2_HI), c);
        r = n.fma(c.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(c.broadcast(P0), c.broadcast(P1));   // P0·r + P1, as the scalar fma(r, P0, P1)
        p = p.fma(r, c.broadcast(P2));
        p = p.fma(r, c.broadcast(P3));
        p = p.fma(r, c.broadcast(P4));
        p = p.fma(r, c.broadcast(P5));
        FloatVector r2 = r.mul(r);
        FloatVector y = p.fma(r2, r.add(1f));
        IntVector bits = t.reinterpretAsInts().sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23);   // 2^n
        return y.mul(bits.reinterpretAsFloats()).blend(0f, under);
    }

    /** {@link #expNonPositive(FloatVector)} on one float, operation for operation. */
    public static float expNonPositive(float x) {
        return x < MIN_X ? 0f : scaled(x, Math.fma(x, LOG2E, ROUND));
    }

    /** The same computation on one float, operation for operation ({@link Math#fma} is exact like the vector fma). */
    public static float exp(float x) {
        if (x < MIN_X) {
            return 0f;
        }
        float c = Math.min(x, MAX_X);
        return scaled(c, c * LOG2E + ROUND);
    }

    /** {@link #scaled(FloatVector, FloatVector, VectorMask)} on one float. */
    private static float scaled(float c, float t) {
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, c);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float r2 = r * r;
        float y = Math.fma(p, r2, r + 1f);
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUND_BITS - 127)) << 23);
    }

    /**
     * SwiGLU's gating in place, {@code g[i] ← silu(g[i]) · u[i] = g[i] / (1 + e^−g[i]) · u[i]} for i in [from, to),
     * with {@link #exp(FloatVector)}: the vector body and the scalar tail give the same bits.
     */
    public static void siluMul(float[] g, float[] u, int from, int to) {
        VectorSpecies<Float> s = Vec.F;
        int i = from;
        for (int bound = from + s.loopBound(to - from); i < bound; i += s.length()) {
            FloatVector a = FloatVector.fromArray(s, g, i);
            a.div(exp(a.neg()).add(1f)).mul(FloatVector.fromArray(s, u, i)).intoArray(g, i);
        }
        for (; i < to; i++) {
            float a = g[i];
            g[i] = a / (exp(-a) + 1f) * u[i];
        }
    }

    /**
     * Σ lanes of v in a fixed order: a butterfly (lane i += lane i xor s, for s = L/2, L/4, …, 1), so every tier
     * adds the same pairs in the same order; about as cheap as {@code reduceLanes(ADD)}.
     */
    public static float sum(FloatVector v) {
        VectorShuffle<Float>[] steps = butterfly(v.species());
        for (VectorShuffle<Float> s : steps) {
            v = v.add(v.rearrange(s));
        }
        return v.lane(0);
    }

    private static final VectorShuffle<Float>[] B128 = shuffles(FloatVector.SPECIES_128);
    private static final VectorShuffle<Float>[] B256 = shuffles(FloatVector.SPECIES_256);
    private static final VectorShuffle<Float>[] B512 = shuffles(FloatVector.SPECIES_512);
    private static final VectorShuffle<Float>[] B64 = shuffles(FloatVector.SPECIES_64);

    private static VectorShuffle<Float>[] butterfly(VectorSpecies<Float> s) {
        return switch (s.length()) {
            case 2 -> B64;
            case 4 -> B128;
            case 8 -> B256;
            case 16 -> B512;
            default -> shuffles(s);
        };
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] shuffles(VectorSpecies<Float> s) {
        int l = s.length();
        int steps = Integer.numberOfTrailingZeros(l);
        VectorShuffle<Float>[] out = new VectorShuffle[steps];
        for (int k = 0, step = l / 2; k < steps; k++, step /= 2) {
            int[] idx = new int[l];
            for (int i = 0; i < l; i++) {
                idx[i] = i ^ step;
            }
            out[k] = VectorShuffle.fromArray(s, idx, 0);
        }
        return out;
    }
}
