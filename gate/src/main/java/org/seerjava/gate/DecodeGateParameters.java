package org.seerjava.gate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The trainable weights of one layer's decode gate in float64 (the master copy the optimiser updates):
 * {@code W_q} (null for Qavg), {@code W_k [Hkv, kdup·D, Dg]} and, with qk norm, the norm weights {@code [Dg]}
 * (null without it).
 */
public record DecodeGateParameters(double[] wq, double[] wk, double[] qNorm, double[] kNorm) {

    public DecodeGateParameters {
        if (wk == null) {
            throw new IllegalArgumentException("W_k (attngate_linear_k) must not be null");
        }
        if ((qNorm == null) != (kNorm == null)) {
            throw new IllegalArgumentException("the q and k norm weights come together (attngate_qnorm, attngate_knorm)");
        }
    }

    /** The official initialisation: the linears normal(0, std), the norm weights 1. */
    public static DecodeGateParameters init(DecodeGateSpec spec, double std, SplittableRandom random) {
        double[] wq = spec.wqElements() == 0 ? null : gaussian(spec.wqElements(), std, random);
        double[] wk = gaussian(spec.wkElements(), std, random);
        double[] qn = null;
        double[] kn = null;
        if (spec.gate().useQkNorm()) {
            qn = new double[spec.normElements()];
            kn = new double[spec.normElements()];
            Arrays.fill(qn, 1.0);
            Arrays.fill(kn, 1.0);
        }
        return new DecodeGateParameters(wq, wk, qn, kn);
    }

    private static double[] gaussian(int n, double std, SplittableRandom random) {
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = std * GateParameters.gaussian(random);
        }
        return w;
    }

    /** Checks the sizes against the spec, naming the layer and tensor. */
    public DecodeGateParameters requireShape(DecodeGateSpec spec, int layer) {
        check(layer, "attngate_linear_q", wq, spec.wqElements(), spec.wqShape());
        check(layer, "attngate_linear_k", wk, spec.wkElements(), spec.wkShape());
        check(layer, "attngate_qnorm", qNorm, spec.normElements(), new long[] {spec.normElements()});
        check(layer, "attngate_knorm", kNorm, spec.normElements(), new long[] {spec.normElements()});
        return this;
    }

    private static void check(int layer, String name, double[] w, int expected, long[] shape) {
        int found = w == null ? 0 : w.length;
        if (found != expected) {
            throw new IllegalArgumentException("layer " + layer + ": " + name + " has " + found + " elements, expected "
                    + (expected == 0 ? "none" : Arrays.toString(shape)));
        }
    }

    /** A deep copy. */
    public DecodeGateParameters copy() {
        return new DecodeGateParameters(clone(wq), wk.clone(), clone(qNorm), clone(kNorm));
    }

    private static double[] clone(double[] x) {
        return x == null ? null : x.clone();
    }

    /** The trainable arrays in a fixed order: W_q (when present), W_k, then the norm weights (when present). */
    public java.util.List<double[]> arrays() {
        java.util.List<double[]> list = new java.util.ArrayList<>();
        for (double[] a : new double[][] {wq, wk, qNorm, kNorm}) {
            if (a != null) {
                list.add(a);
            }
        }
        return list;
    }
}
