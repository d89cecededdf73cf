package org.seerjava.model;

/**
 * Language-modelling metrics from logits: cross-entropy with a log-softmax computed in double precision.
 *
 * <p>Logits are laid out {@code [M, vocab]} (row r scores the token that follows input position r), and
 * {@code targets[r]} is the token that should follow. With byte-level tokens (the embedded model) bits per token are
 * bits per byte.
 */
public final class Metrics {
    private Metrics() {
    }

    /**
     * A summed cross-entropy.
     *
     * @param nats   Σ −ln p(target), in nats
     * @param tokens the number of predicted tokens
     */
    public record CrossEntropy(double nats, long tokens) {
        /**
         * Σ −log2 p(target) = nats / ln 2.
         *
         * @return the summed cross-entropy in bits
         */
        public double bits() {
            return nats / Math.log(2);
        }

        /**
         * Mean bits per predicted token (bits per byte for byte-level models).
         *
         * @return bits / tokens, NaN when there are no tokens
         */
        public double bitsPerToken() {
            return tokens == 0 ? Double.NaN : bits() / tokens;
        }

        /**
         * Mean nats per predicted token.
         *
         * @return nats / tokens, NaN when there are no tokens
         */
        public double natsPerToken() {
            return tokens == 0 ? Double.NaN : nats / tokens;
        }

        /**
         * The sum of two cross-entropies (e.g. over evaluation windows).
         *
         * @param other the other sum
         * @return both added
         */
        public CrossEntropy plus(CrossEntropy other) {
            return new CrossEntropy(nats + other.nats, tokens + other.tokens);
        }

        /**
         * The empty sum.
         *
         * @return zero nats over zero tokens
         */
        public static CrossEntropy zero() {
            return new CrossEntropy(0, 0);
        }
    }

    /**
     * Summed cross-entropy of {@code targets} under {@code logits [targets.length, vocab]}, where
     * {@code vocab = logits.length / targets.length}.
     *
     * @param logits  {@code [M, vocab]} float32 logits
     * @param targets the M target token ids
     * @return the summed cross-entropy
     * @throws IllegalArgumentException when the sizes do not match, a target is outside [0, vocab), or a logit is NaN
     */
    public static CrossEntropy crossEntropy(float[] logits, int[] targets) {
        if (logits == null || targets == null) {
            throw new IllegalArgumentException("logits and targets must not be null");
        }
        if (targets.length == 0 || logits.length % targets.length != 0) {
            throw new IllegalArgumentException("logits has " + logits.length + " elements, expected a multiple of "
                    + targets.length + " (targets) × vocab");
        }
        return crossEntropy(logits, logits.length / targets.length, targets);
    }

    /**
     * Summed cross-entropy of {@code targets} under {@code logits [targets.length, vocab]}:
     * {@code Σ_r logsumexp(logits[r]) − logits[r, targets[r]]}, in double.
     *
     * @param logits  {@code [M, vocab]} float32 logits
     * @param vocab   the vocabulary size
     * @param targets the M target token ids
     * @return the summed cross-entropy
     * @throws IllegalArgumentException when the sizes do not match, a target is outside [0, vocab), or a logit is NaN
     */
    public static CrossEntropy crossEntropy(float[] logits, int vocab, int[] targets) {
        if (vocab <= 0) {
            throw new IllegalArgumentException("vocab must be > 0, got " + vocab);
        }
        if (logits == null || targets == null || (long) targets.length * vocab != logits.length) {
            throw new IllegalArgumentException("logits must have targets.length × vocab = "
                    + (targets == null ? "?" : (long) targets.length * vocab) + " elements, got "
                    + (logits == null ? "null" : logits.length));
        }
        double nats = 0;
        for (int r = 0; r < targets.length; r++) {
            int t = targets[r];
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("target " + r + " = " + t + " is outside [0, " + vocab + ")");
            }
            int base = r * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                float x = logits[base + j];
                if (Float.isNaN(x)) {
                    throw new IllegalArgumentException("logit [" + r + ", " + j + "] is NaN");
                }
                max = Math.max(max, x);
            }
            double sum = 0;
            for (int j = 0; j < vocab; j++) {
                sum += Math.exp(logits[base + j] - max);
            }
            nats += max + Math.log(sum) - logits[base + t];
        }
        return new CrossEntropy(nats, targets.length);
    }

    /**
     * Mean bits per token (per byte for byte-level models): {@code crossEntropy(logits, targets).bitsPerToken()}.
     *
     * @param logits  {@code [M, vocab]} float32 logits
     * @param targets the M target token ids
     * @return summed nats / ln 2 / M
     */
    public static double bitsPerByte(float[] logits, int[] targets) {
        return crossEntropy(logits, targets).bitsPerToken();
    }
}
