package org.seerjava.gate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The trainable weights of one layer's AttnGate, in float64 (the master copy the optimiser updates):
 * {@code W_q [Hq, qdup·D, Dg]} (null when the gate has no Q linear) and {@code W_k [heads, kdup·D, Dg]}.
 */
public record GateParameters(double[] wq, double[] wk) {

    public GateParameters {
        if (wk == null) {
            throw new IllegalArgumentException("W_k (mask_linear_k) must not be null");
        }
    }

    /** normal(0, std) initialisation (docs/SPEC.md §2.2: {@code initializer_range = 0.02}). */
    public static GateParameters init(GateSpec spec, double std, SplittableRandom random) {
        double[] wq = spec.hasQLinear() ? gaussian(spec.wqElements(), std, random) : null;
        double[] wk = gaussian(spec.wkElements(), std, random);
        return new GateParameters(wq, wk);
    }

    private static double[] gaussian(int n, double std, SplittableRandom random) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = std * gaussian(random);
        }
        return w;
    }

    /** A standard normal sample (Box–Muller; deterministic for a given generator state). */
    static double gaussian(SplittableRandom random) {
        double u1 = random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Checks the sizes against the spec. */
    public GateParameters requireShape(GateSpec spec, int layer) {
        if (spec.hasQLinear() != (wq != null)) {
            throw new IllegalArgumentException("layer " + layer + ": gate " + spec.gate().type() + " with Dg = "
                    + spec.gate().hiddenSize() + ", D = " + spec.headDim()
                    + (spec.hasQLinear() ? " needs a Q linear (mask_linear_q), none given"
                    : " has no Q linear, but mask_linear_q was given"));
        }
        if (wq != null && wq.length != spec.wqElements()) {
            throw new IllegalArgumentException("layer " + layer + ": mask_linear_q has " + wq.length
                    + " elements, expected " + Arrays.toString(spec.wqShape()));
        }
        if (wk.length != spec.wkElements()) {
            throw new IllegalArgumentException("layer " + layer + ": mask_linear_k has " + wk.length
                    + " elements, expected " + Arrays.toString(spec.wkShape()));
        }
        return this;
    }

    /** A deep copy. */
    public GateParameters copy() {
        return new GateParameters(wq == null ? null : wq.clone(), wk.clone());
    }

    /** float32 copy of W_q (null when absent), as the engines take it. */
    public float[] wqFloats() {
        return wq == null ? null : toFloat(wq);
    }

    /** float32 copy of W_k. */
    public float[] wkFloats() {
        return toFloat(wk);
    }

    static float[] toFloat(double[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (float) x[i];
        }
        return y;
    }
}
