package org.seerjava.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The sampling rule: argmax, softmax at a temperature, the top-p nucleus, determinism, refusals. */
class SamplerTest {

    static float[] logitsOf(double... probabilities) {
        float[] l = new float[probabilities.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) Math.log(probabilities[i]);
        }
        return l;
    }

    static double[] frequencies(Sampler s, float[] logits, int draws) {
        double[] f = new double[logits.length];
        for (int i = 0; i < draws; i++) {
            f[s.sample(logits)]++;
        }
        for (int i = 0; i < f.length; i++) {
            f[i] /= draws;
        }
        return f;
    }

    @Test
    void greedyIsTheFirstLargestAndDrawsNothing() {
        Sampler g = Sampler.greedy();
        assertEquals(2, g.sample(new float[] {1, 3, 5, 5, -2}));
        assertEquals(2, Sampler.argmax(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, -1e30f}));
        Sampler zeroT = Sampler.of(0, 0.5, 42);
        assertTrue(zeroT.isGreedy());
        assertEquals(1, zeroT.sample(new float[] {0, 9, 1}));
        // greedy consumes no uniforms: the next uniform is the first of the seed's sequence
        assertEquals(Sampler.of(0, 1, 42).nextUniform(), zeroT.nextUniform());
    }

    @Test
    void temperatureOneFollowsTheSoftmax() {
        double[] f = frequencies(Sampler.of(1.0, 1.0, 1), logitsOf(0.5, 0.3, 0.2), 40_000);
        assertArrayEquals(new double[] {0.5, 0.3, 0.2}, f, 0.01);
    }

    @Test
    void temperatureTwoFlattensAsTheSquareRoot() {
        // p^(1/2) normalised: 0.7071, 0.5477, 0.4472 → 0.4056, 0.3142, 0.2565 (2.8 % wrong for T ignored)
        double[] f = frequencies(Sampler.of(2.0, 1.0, 2), logitsOf(0.5, 0.3, 0.2), 40_000);
        double z = Math.sqrt(0.5) + Math.sqrt(0.3) + Math.sqrt(0.2);
        assertArrayEquals(new double[] {Math.sqrt(0.5) / z, Math.sqrt(0.3) / z, Math.sqrt(0.2) / z}, f, 0.01);
    }

    @Test
    void topPKeepsTheShortestPrefixReachingTheMass() {
        float[] l = logitsOf(0.15, 0.5, 0.05, 0.3); // ranked: 1 (0.5), 3 (0.3), 0 (0.15), 2 (0.05)
        double[] f = frequencies(Sampler.of(1.0, 0.7, 3), l, 40_000);
        assertEquals(0.0, f[0]);
        assertEquals(0.0, f[2]);
        assertEquals(0.5 / 0.8, f[1], 0.01);
        assertEquals(0.3 / 0.8, f[3], 0.01);
        // a nucleus reached by the first token alone
        double[] one = frequencies(Sampler.of(1.0, 0.5, 4), l, 2_000);
        assertEquals(1.0, one[1]);
        // 0.95 needs three tokens
        double[] three = frequencies(Sampler.of(1.0, 0.95, 5), l, 40_000);
        assertEquals(0.0, three[2]);
        assertEquals(0.15 / 0.95, three[0], 0.01);
    }

    @Test
    void theRuleForAGivenUniform() {
        Sampler s = Sampler.of(1.0, 1.0, 0);
        float[] l = logitsOf(0.25, 0.25, 0.5);
        assertEquals(0, s.sample(l, 0.0));
        assertEquals(0, s.sample(l, 0.2499));
        assertEquals(1, s.sample(l, 0.2501));
        assertEquals(2, s.sample(l, 0.5001));
        assertEquals(2, s.sample(l, 0.999999));
        Sampler p = Sampler.of(1.0, 0.6, 0); // nucleus {2, then 0 (tie with 1 broken by the lower index)}
        assertEquals(2, p.sample(l, 0.0));
        assertEquals(2, p.sample(l, 0.66));
        assertEquals(0, p.sample(l, 0.67));
        assertThrows(IllegalArgumentException.class, () -> s.sample(l, 1.0));
    }

    @Test
    void deterministicForASeed() {
        float[] l = logitsOf(0.1, 0.2, 0.3, 0.4);
        int[] a = new int[200];
        int[] b = new int[200];
        int[] c = new int[200];
        Sampler sa = Sampler.of(0.8, 0.9, 7);
        Sampler sb = Sampler.of(0.8, 0.9, 7);
        Sampler sc = Sampler.of(0.8, 0.9, 8);
        for (int i = 0; i < a.length; i++) {
            a[i] = sa.sample(l);
            b[i] = sb.sample(l);
            c[i] = sc.sample(l);
        }
        assertArrayEquals(a, b);
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
        Sampler again = sa.fresh();
        assertEquals(a[0], again.sample(l));
    }

    @Test
    void nonFiniteLogitsAndBadSettingsAreRefused() {
        Sampler s = Sampler.of(1, 1, 0);
        IllegalStateException nan = assertThrows(IllegalStateException.class, () -> s.sample(new float[] {0, Float.NaN}));
        assertTrue(nan.getMessage().contains("logit 1 is NaN"), nan.getMessage());
        assertThrows(IllegalStateException.class, () -> Sampler.greedy().sample(new float[] {Float.POSITIVE_INFINITY}));
        assertThrows(IllegalStateException.class, () -> s.sample(new float[] {Float.NEGATIVE_INFINITY}));
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[0]));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampler.of(-1, 1, 0)).getMessage()
                .contains("temperature"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, 0, 0)).getMessage()
                .contains("top-p"));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, 1.5, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(Double.NaN, 1, 0));
    }
}
