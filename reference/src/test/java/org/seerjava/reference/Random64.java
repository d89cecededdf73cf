package org.seerjava.reference;

import java.util.Random;

/** Seeded random inputs for property tests. */
final class Random64 {
    private Random64() {
    }

    static double[] normal(Random rng, int n, double std) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextGaussian() * std;
        }
        return x;
    }

    /** A random causal block mask; each causal block kept with probability {@code p}. */
    static BlockMask randomCausalMask(Random rng, int batch, int heads, int blocks, double p) {
        byte[] bits = new byte[batch * heads * blocks * blocks];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int i = 0; i < blocks; i++) {
                for (int j = 0; j <= i; j++) {
                    bits[(bh * blocks + i) * blocks + j] = (byte) (rng.nextDouble() < p ? 1 : 0);
                }
            }
        }
        return BlockMask.of(batch, heads, blocks, bits);
    }

    static double maxAbsDiff(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
