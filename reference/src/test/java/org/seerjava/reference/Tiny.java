package org.seerjava.reference;

/**
 * The shared tiny configuration of docs/SPEC.md §10: block 4, Hq = 2, Hkv = 1, D = Dg = 4, RoPE θ =
 * 10000 over 4 channels, deterministic inputs.
 */
public final class Tiny {
    static final int BLOCK = 4;
    static final int HQ = 2;
    static final int HKV = 1;
    static final int D = 4;
    static final RopeConfig ROPE = RopeConfig.of(10000, 4);

    private Tiny() {
    }

    /** q_nope[t, h, d] = sin(0.1·(t+1) + 0.3·h + 0.7·d), laid out [1, L, heads, D]. */
    public static double[] qNope(int length, int heads) {
        double[] q = new double[length * heads * D];
        for (int t = 0; t < length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int d = 0; d < D; d++) {
                    q[(t * heads + h) * D + d] = Math.sin(0.1 * (t + 1) + 0.3 * h + 0.7 * d);
                }
            }
        }
        return q;
    }

    /** k_nope[t, 0, d] = cos(0.2·(t+1) − 0.5·d). */
    public static double[] kNope(int length) {
        double[] k = new double[length * D];
        for (int t = 0; t < length; t++) {
            for (int d = 0; d < D; d++) {
                k[t * D + d] = Math.cos(0.2 * (t + 1) - 0.5 * d);
            }
        }
        return k;
    }

    /** v[t, 0, d] = sin(0.3·t − 0.2·d + 0.5). */
    public static double[] v(int length) {
        double[] v = new double[length * D];
        for (int t = 0; t < length; t++) {
            for (int d = 0; d < D; d++) {
                v[t * D + d] = Math.sin(0.3 * t - 0.2 * d + 0.5);
            }
        }
        return v;
    }

    /** WkP[h, i, o] = 0.5·sin(1 + h + 0.37·i + 1.3·o), [2, 12, 4]. */
    static double[] prefillWk() {
        double[] w = new double[HQ * 12 * D];
        for (int h = 0; h < HQ; h++) {
            for (int i = 0; i < 12; i++) {
                for (int o = 0; o < D; o++) {
                    w[(h * 12 + i) * D + o] = 0.5 * Math.sin(1 + h + 0.37 * i + 1.3 * o);
                }
            }
        }
        return w;
    }

    /** The G2 gate: Qavg_Kmaxminavg, case B (no Q linear). */
    static AttnGate gate(int length) {
        AttentionShape shape = new AttentionShape(1, length, HQ, HKV, D);
        GateConfig config = new GateConfig(GateType.DEFAULT, BLOCK, D, false, ROPE);
        return new AttnGate(shape, config, null, prefillWk());
    }

    /** x rotated to positions 0..L−1 (the "post-RoPE" q or k). */
    /** q rotated at positions 0 … length − 1, {@code [1, length, heads, D]}. */
    static double[] postRopeQ(int length, int heads) {
        return rope(qNope(length, heads), length, heads);
    }

    /** k rotated at positions 0 … length − 1, {@code [1, length, 1, D]}. */
    static double[] postRopeK(int length) {
        return rope(kNope(length), length, 1);
    }

    static double[] rope(double[] x, int length, int heads) {
        double[] y = x.clone();
        new Rope(ROPE).apply(y, 1, length, heads, D, Rope.positions(length));
        return y;
    }
}
