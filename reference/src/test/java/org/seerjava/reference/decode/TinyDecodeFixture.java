package org.seerjava.reference.decode;

import java.util.Random;

import org.seerjava.reference.Rope;
import org.seerjava.reference.Tiny;
import org.seerjava.reference.RopeConfig;

/**
 * The shared tiny configuration of docs/SPEC.md §10: B = 4, Hq = 2, Hkv = 1 (g = 2), D = Dg = 4, RoPE θ = 10000
 * over 4 channels (rotate-half), and its deterministic inputs.
 */
final class TinyDecodeFixture {
    static final int B = 4;
    static final int HQ = 2;
    static final int HKV = 1;
    static final int D = 4;
    static final double THETA = 10000;

    private TinyDecodeFixture() {
    }

    /** {@code q_nope[t, h, d] = sin(0.1·(t+1) + 0.3·h + 0.7·d)}, {@code [1, L, Hq, D]} (the prefill fixture's). */
    static double[] qNope(int length) {
        return Tiny.qNope(length, HQ);
    }

    /** {@code k_nope[t, 0, d] = cos(0.2·(t+1) − 0.5·d)}, {@code [1, L, 1, D]}. */
    static double[] kNope(int length) {
        return Tiny.kNope(length);
    }

    /** {@code v[t, 0, d] = sin(0.3·t − 0.2·d + 0.5)}. */
    static double[] v(int length) {
        return Tiny.v(length);
    }

    /** {@code WqD[kh, j, i, o] = 0.5·cos(0.3 + 0.5·kh + 0.9·j + 0.23·i − 0.41·o)}, {@code [1, 2, 4, 4]}. */
    static double[] wqDecode() {
        double[] w = new double[HKV * 2 * D * D];
        for (int kh = 0; kh < HKV; kh++) {
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < D; i++) {
                    for (int o = 0; o < D; o++) {
                        w[((kh * 2 + j) * D + i) * D + o] = 0.5 * Math.cos(0.3 + 0.5 * kh + 0.9 * j + 0.23 * i - 0.41 * o);
                    }
                }
            }
        }
        return w;
    }

    /** {@code WkD[kh, i, o] = 0.5·sin(2 + kh + 0.29·i − 0.7·o)}, {@code [1, 12, 4]}. */
    static double[] wkDecode() {
        double[] w = new double[HKV * 12 * D];
        for (int kh = 0; kh < HKV; kh++) {
            for (int i = 0; i < 12; i++) {
                for (int o = 0; o < D; o++) {
                    w[(kh * 12 + i) * D + o] = 0.5 * Math.sin(2 + kh + 0.29 * i - 0.7 * o);
                }
            }
        }
        return w;
    }

    /** Rotates {@code x [1, L, heads, D]} token t to position t. */
    static double[] postRope(double[] x, int length, int heads) {
        double[] out = x.clone();
        new Rope(RopeConfig.of(THETA, D)).apply(out, 1, length, heads, D, Rope.positions(length));
        return out;
    }

    /** The G5 gate: Qproj, Kmaxminavg, no qk norm, RoPE on, with the given decode key position. */
    static DecodeGate gate(CompressedKeyPosition position) {
        DecodeGateConfig config = DecodeGateConfig.of(B, D, THETA).withDecodeKeyPosition(position);
        return new DecodeGate(HQ, HKV, D, config, wqDecode(), wkDecode(), null, null);
    }

    /** Uniform values in [−scale, scale). */
    static double[] random(Random random, int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = scale * (2 * random.nextDouble() - 1);
        }
        return x;
    }

    /** Rows {@code [from, to)} of the token axis of {@code x [batch, L, width]} for one sequence b. */
    static double[] tokens(double[] x, int b, int length, int width, int from, int to) {
        double[] out = new double[(to - from) * width];
        System.arraycopy(x, (b * length + from) * width, out, 0, (to - from) * width);
        return out;
    }
}
