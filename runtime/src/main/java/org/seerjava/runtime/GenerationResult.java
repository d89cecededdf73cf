package org.seerjava.runtime;

/**
 * The outcome of {@link Generator#generate}.
 *
 * @param promptTokens the prompt's length
 * @param tokens       the generated token ids (a final stop token included)
 * @param stopReason   why generation ended
 * @param prefillNanos time of the prefill and the first token's choice
 * @param decodeNanos  time spent in decode steps (listener time excluded)
 * @param decodeSteps  decode steps taken ({@code tokens.length − 1}: the last token is not fed back)
 * @param memory       the runtime's memory after generating
 */
public record GenerationResult(int promptTokens, int[] tokens, StopReason stopReason, long prefillNanos,
                               long decodeNanos, int decodeSteps, MemoryUse memory) {

    /** Why generation ended. */
    public enum StopReason {
        /** A stop token was generated. */
        STOP_TOKEN,
        /** {@code maxNewTokens} were generated. */
        MAX_TOKENS,
        /** The listener asked to stop. */
        LISTENER
    }

    /**
     * Prefill speed.
     *
     * @return prompt tokens per second of prefill
     */
    public double prefillTokensPerSecond() {
        return promptTokens / (prefillNanos / 1e9);
    }

    /**
     * Decode speed.
     *
     * @return decode steps per second, NaN when there were none
     */
    public double decodeTokensPerSecond() {
        return decodeSteps == 0 ? Double.NaN : decodeSteps / (decodeNanos / 1e9);
    }
}
