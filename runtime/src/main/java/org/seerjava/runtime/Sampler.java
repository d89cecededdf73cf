package org.seerjava.runtime;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from logits: greedy (argmax), or a draw from the softmax at a temperature, optionally
 * restricted to the top-p nucleus. Deterministic for a seed: the same logits and seed give the same tokens on every
 * run and every backend that follows this algorithm.
 *
 * <p>The rule, for logits {@code ℓ} and one uniform {@code u ∈ [0, 1)} from {@link #nextUniform()}:
 * <ol>
 *   <li>greedy (temperature 0): the index of the largest logit, the lowest index among equal ones; no uniform is
 *       drawn;</li>
 *   <li>weights {@code w_i = exp((ℓ_i − max ℓ) / T)} in double, total {@code Z = Σ w_i} summed in index order;</li>
 *   <li>top-p &lt; 1: tokens ranked by weight, largest first (weights compared as float, ties by lower index); the
 *       nucleus is the shortest prefix of that ranking whose weight sum reaches {@code p · Z} (at least one token);
 *       top-p = 1: every token in index order;</li>
 *   <li>the chosen token is the first of the candidates, in that order, whose running weight sum exceeds
 *       {@code u · (sum of the candidates' weights)}.</li>
 * </ol>
 * A backend that samples on its device draws {@code u} with {@link #nextUniform()} and applies the same rule.
 * Logits holding NaN or +∞, or only −∞, are refused (never a silent choice).
 *
 * <p>Not thread-safe: one sampler per sequence.
 */
public final class Sampler {
    private final double temperature;
    private final double topP;
    private final long seed;
    private final SplittableRandom random;

    private Sampler(double temperature, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and ≥ 0 (0 = greedy), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topP = topP;
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    /**
     * The argmax rule.
     *
     * @return a greedy sampler
     */
    public static Sampler greedy() {
        return new Sampler(0, 1, 0);
    }

    /**
     * Sampling at a temperature from the top-p nucleus.
     *
     * @param temperature T ≥ 0 (0 = greedy)
     * @param topP        nucleus mass in (0, 1] (1 = every token)
     * @param seed        seed of the uniform draws
     * @return the sampler
     * @throws IllegalArgumentException naming the value out of range
     */
    public static Sampler of(double temperature, double topP, long seed) {
        return new Sampler(temperature, topP, seed);
    }

    /**
     * A sampler with the same settings and seed, from the start of its random sequence.
     *
     * @return a fresh copy
     */
    public Sampler fresh() {
        return new Sampler(temperature, topP, seed);
    }

    /**
     * Whether this is the argmax rule.
     *
     * @return true when the temperature is 0
     */
    public boolean isGreedy() {
        return temperature == 0;
    }

    /**
     * The temperature.
     *
     * @return T (0 = greedy)
     */
    public double temperature() {
        return temperature;
    }

    /**
     * The nucleus mass.
     *
     * @return p in (0, 1]
     */
    public double topP() {
        return topP;
    }

    /**
     * The seed.
     *
     * @return the seed of the uniform draws
     */
    public long seed() {
        return seed;
    }

    /**
     * Draws the next uniform of this sampler's sequence (for a backend that samples on its device).
     *
     * @return u in [0, 1)
     */
    public double nextUniform() {
        return random.nextDouble();
    }

    /**
     * Chooses a token, drawing one uniform unless greedy.
     *
     * @param logits scores of every token
     * @return the token id
     * @throws IllegalArgumentException on empty logits
     * @throws IllegalStateException    on NaN or +∞ logits, or when every logit is −∞
     */
    public int sample(float[] logits) {
        if (isGreedy()) {
            return argmax(logits);
        }
        return sample(logits, nextUniform());
    }

    /**
     * Chooses a token for a given uniform (the rule of the class description).
     *
     * @param logits scores of every token
     * @param u      a uniform in [0, 1)
     * @return the token id
     */
    public int sample(float[] logits, double u) {
        float max = max(logits);
        if (isGreedy()) {
            return argmax(logits);
        }
        if (!(u >= 0 && u < 1)) {
            throw new IllegalArgumentException("u must be in [0, 1), got " + u);
        }
        int n = logits.length;
        double[] w = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            w[i] = Math.exp((logits[i] - (double) max) / temperature);
            total += w[i];
        }
        if (topP >= 1) {
            double target = u * total;
            double acc = 0;
            int last = -1;
            for (int i = 0; i < n; i++) {
                if (w[i] > 0) {
                    acc += w[i];
                    last = i;
                    if (acc > target) {
                        return i;
                    }
                }
            }
            return last;
        }
        long[] keys = new long[n];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (w[i] > 0) {
                keys[m++] = ((long) Float.floatToRawIntBits((float) w[i]) << 32) | (Integer.MAX_VALUE - i);
            }
        }
        Arrays.sort(keys, 0, m);
        double goal = topP * total;
        double mass = 0;
        int first = m; // candidates are keys[first … m − 1], largest weight last
        while (first > 0 && (first == m || mass < goal)) {
            first--;
            mass += w[index(keys[first])];
        }
        double target = u * mass;
        double acc = 0;
        for (int j = m - 1; j >= first; j--) {
            int i = index(keys[j]);
            acc += w[i];
            if (acc > target) {
                return i;
            }
        }
        return index(keys[first]);
    }

    private static int index(long key) {
        return Integer.MAX_VALUE - (int) (key & 0xFFFFFFFFL);
    }

    /**
     * The index of the largest logit, the lowest among equal ones.
     *
     * @param logits scores
     * @return the argmax
     * @throws IllegalArgumentException on empty logits
     * @throws IllegalStateException    on NaN or +∞ logits, or when every logit is −∞
     */
    public static int argmax(float[] logits) {
        float max = max(logits);
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] == max) {
                return i;
            }
        }
        throw new AssertionError();
    }

    private static float max(float[] logits) {
        if (logits == null || logits.length == 0) {
            throw new IllegalArgumentException("logits must not be empty");
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            float x = logits[i];
            if (Float.isNaN(x) || x == Float.POSITIVE_INFINITY) {
                throw new IllegalStateException("logit " + i + " is " + x + ": the model produced a non-finite score");
            }
            max = Math.max(max, x);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalStateException("every logit is -Infinity: no token can be chosen");
        }
        return max;
    }

    @Override
    public String toString() {
        return isGreedy() ? "greedy" : "temperature " + temperature + ", top-p " + topP + ", seed " + seed;
    }
}
