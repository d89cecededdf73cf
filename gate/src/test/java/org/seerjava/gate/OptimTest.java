package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class OptimTest {

    @Test
    void adamwMatchesTorchFormulas() {
        double[] p = {1.0, -2.0, 0.5};
        double[] ref = p.clone();
        double[] m = new double[3];
        double[] v = new double[3];
        AdamW opt = new AdamW(List.of(p), new AdamW.Settings(0.9, 0.999, 1e-8, 0.1));
        double[][] grads = {{0.1, -0.3, 2.0}, {-0.2, 0.1, 1.0}, {0.05, 0.0, -4.0}};
        double[] lrs = {1e-2, 5e-3, 1e-3};
        for (int t = 1; t <= 3; t++) {
            double[] g = grads[t - 1];
            double lr = lrs[t - 1];
            opt.step(List.of(g.clone()), lr);
            for (int i = 0; i < 3; i++) {
                ref[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                double mh = m[i] / (1 - Math.pow(0.9, t));
                double vh = v[i] / (1 - Math.pow(0.999, t));
                ref[i] -= lr * mh / (Math.sqrt(vh) + 1e-8);
            }
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(ref[i], p[i], 1e-12);
        }
    }

    @Test
    void firstAdamStepMovesByLr() {
        double[] p = {0, 0};
        new AdamW(List.of(p), AdamW.Settings.defaults(0)).step(List.of(new double[] {3, -1e-3}), 0.01);
        assertEquals(-0.01, p[0], 1e-9);
        assertEquals(0.01, p[1], 1e-7);
    }

    @Test
    void clippingScalesToMaxNorm() {
        double[] a = {3, 0};
        double[] b = {0, 4};
        double norm = AdamW.clipGradNorm(List.of(a, b), 1.0);
        assertEquals(5, norm, 1e-12);
        assertEquals(1.0, Math.hypot(a[0], b[1]), 1e-6);
        double[] c = {0.3, 0.4};
        AdamW.clipGradNorm(List.of(c), 1.0);
        assertEquals(0.3, c[0], 0);
    }

    @Test
    void warmupThenCosine() {
        LrSchedule s = new LrSchedule(1e-3, 20, 100);
        assertEquals(0, s.at(0), 0);
        assertEquals(5e-4, s.at(10), 1e-15);
        assertEquals(1e-3, s.at(20), 1e-15);
        assertEquals(5e-4, s.at(60), 1e-12);
        assertEquals(0, s.at(100), 1e-15);
        LrSchedule none = new LrSchedule(1e-2, 0, 10);
        assertEquals(1e-2, none.at(0), 0);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(0, 1, 1));
    }
}
