package org.seerjava.gate;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as {@code torch.optim.AdamW} computes it, on float64 parameter arrays:
 * <pre>
 *   p ← p · (1 − lr · wd)                       (decoupled weight decay)
 *   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * </pre>
 * Defaults β = (0.9, 0.999), ε = 1e-8 (Hugging Face {@code adamw_torch}).
 */
public final class AdamW {
    /** Hyper-parameters. */
    public record Settings(double beta1, double beta2, double eps, double weightDecay) {
        public Settings {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW needs 0 <= beta < 1, eps > 0, weight decay >= 0, got "
                        + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
            }
        }

        /** β = (0.9, 0.999), ε = 1e-8 and the given weight decay. */
        public static Settings defaults(double weightDecay) {
            return new Settings(0.9, 0.999, 1e-8, weightDecay);
        }
    }

    private final Settings settings;
    private final List<double[]> params;
    private final List<double[]> m = new ArrayList<>();
    private final List<double[]> v = new ArrayList<>();
    private long step;

    /** An optimiser for these parameter arrays (updated in place). */
    public AdamW(List<double[]> params, Settings settings) {
        this.settings = settings;
        this.params = List.copyOf(params);
        for (double[] p : this.params) {
            m.add(new double[p.length]);
            v.add(new double[p.length]);
        }
    }

    /** Steps taken so far. */
    public long steps() {
        return step;
    }

    /** One update with learning rate {@code lr}; {@code grads} in the order of the parameters. */
    public void step(List<double[]> grads, double lr) {
        if (grads.size() != params.size()) {
            throw new IllegalArgumentException(grads.size() + " gradients for " + params.size() + " parameters");
        }
        step++;
        double bc1 = 1 - Math.pow(settings.beta1(), step);
        double bc2 = 1 - Math.pow(settings.beta2(), step);
        double stepSize = lr / bc1;
        double sqrtBc2 = Math.sqrt(bc2);
        double b1 = settings.beta1();
        double b2 = settings.beta2();
        double decay = 1 - lr * settings.weightDecay();
        for (int t = 0; t < params.size(); t++) {
            double[] p = params.get(t);
            double[] g = grads.get(t);
            if (g.length != p.length) {
                throw new IllegalArgumentException("gradient " + t + " has " + g.length + " elements, parameter has "
                        + p.length);
            }
            double[] mt = m.get(t);
            double[] vt = v.get(t);
            for (int i = 0; i < p.length; i++) {
                p[i] *= decay;
                mt[i] = b1 * mt[i] + (1 - b1) * g[i];
                vt[i] = b2 * vt[i] + (1 - b2) * g[i] * g[i];
                p[i] -= stepSize * mt[i] / (Math.sqrt(vt[i]) / sqrtBc2 + settings.eps());
            }
        }
    }

    /**
     * Global gradient-norm clipping as {@code torch.nn.utils.clip_grad_norm_}: when ‖g‖₂ over all arrays exceeds
     * {@code maxNorm}, every gradient is multiplied by {@code maxNorm / (‖g‖ + 1e-6)}.
     *
     * @return the norm before clipping
     */
    public static double clipGradNorm(List<double[]> grads, double maxNorm) {
        double norm = gradNorm(grads);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            for (double[] g : grads) {
                for (int i = 0; i < g.length; i++) {
                    g[i] *= coef;
                }
            }
        }
        return norm;
    }

    /** The global gradient norm ‖g‖₂ over all arrays. */
    public static double gradNorm(List<double[]> grads) {
        double sq = 0;
        for (double[] g : grads) {
            for (double x : g) {
                sq += x * x;
            }
        }
        return Math.sqrt(sq);
    }
}
