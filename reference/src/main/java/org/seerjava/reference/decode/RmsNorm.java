package org.seerjava.reference.decode;

/**
 * RMSNorm over one vector of n channels, with a learned weight (docs/SPEC.md §7.2; the official
 * {@code seer_attn/modules/common.py}):
 * <pre>
 *   y[d] = w[d] · x[d] / sqrt( (1/n) Σ_e x[e]² + eps )
 * </pre>
 * The official module rounds the normalised vector to bf16 before the weight; this float64 reference does not.
 */
public final class RmsNorm {
    private RmsNorm() {
    }

    /** Normalises {@code x[offset, offset + weight.length)} in place. */
    public static void apply(double[] x, int offset, double[] weight, double eps) {
        int n = weight.length;
        double meanSquare = 0;
        for (int d = 0; d < n; d++) {
            meanSquare += x[offset + d] * x[offset + d];
        }
        meanSquare /= n;
        double inverseRms = 1.0 / Math.sqrt(meanSquare + eps);
        for (int d = 0; d < n; d++) {
            x[offset + d] = weight[d] * (x[offset + d] * inverseRms);
        }
    }
}
