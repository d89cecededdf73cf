package org.seerjava.runtime;

import java.util.Set;

/**
 * What {@link Generator#generate} produces.
 *
 * @param maxNewTokens the most tokens to generate, ≥ 1
 * @param sampler      how each token is chosen
 * @param stopTokens   generation ends after any of these (e.g. the checkpoint's {@code eos_token_id}s)
 */
public record GenerationOptions(int maxNewTokens, Sampler sampler, Set<Integer> stopTokens) {

    /** Checks and copies. */
    public GenerationOptions {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max new tokens must be ≥ 1, got " + maxNewTokens);
        }
        if (sampler == null) {
            throw new IllegalArgumentException("sampler must not be null");
        }
        stopTokens = stopTokens == null ? Set.of() : Set.copyOf(stopTokens);
    }

    /**
     * Greedy generation of up to {@code maxNewTokens}, no stop tokens.
     *
     * @param maxNewTokens the most tokens
     * @return the options
     */
    public static GenerationOptions greedy(int maxNewTokens) {
        return new GenerationOptions(maxNewTokens, Sampler.greedy(), Set.of());
    }

    /**
     * These options with stop tokens.
     *
     * @param tokens token ids that end generation
     * @return a copy
     */
    public GenerationOptions stopAt(Set<Integer> tokens) {
        return new GenerationOptions(maxNewTokens, sampler, tokens);
    }
}
