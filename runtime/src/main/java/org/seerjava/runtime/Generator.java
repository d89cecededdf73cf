package org.seerjava.runtime;

import java.util.Arrays;

/**
 * Generation on a {@link Session}: prefill the prompt, then repeatedly choose a token with the sampler, report it
 * to the listener and feed it back with a decode step, until a stop token, {@code maxNewTokens}, or the listener
 * says stop. Prefill and decode are timed separately (the listener's time is not counted).
 */
public final class Generator {
    private Generator() {
    }

    /**
     * The session capacity a generation needs.
     *
     * @param promptTokens the prompt's length
     * @param maxNewTokens the most tokens generated
     * @return {@code promptTokens + maxNewTokens − 1} (the last generated token is not fed back)
     */
    public static int capacityFor(int promptTokens, int maxNewTokens) {
        return Math.addExact(promptTokens, Math.max(maxNewTokens - 1, 0));
    }

    /**
     * Generates from a prompt, appended to whatever the session already holds.
     *
     * @param session  the session (its length grows by the prompt and the generated tokens but the last)
     * @param prompt   token ids, at least one
     * @param options  the most tokens, the sampler, the stop tokens
     * @param listener receives each token as it is chosen
     * @return the tokens, the reason generation stopped, timings and memory
     * @throws IllegalArgumentException when the prompt is empty or the session cannot hold the prompt plus
     *                                  {@code maxNewTokens − 1} tokens (the message gives the numbers)
     */
    public static GenerationResult generate(Session session, int[] prompt, GenerationOptions options,
                                            TokenListener listener) {
        if (session == null || options == null || listener == null) {
            throw new IllegalArgumentException("session, options and listener must not be null");
        }
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token");
        }
        long needed = (long) session.length() + capacityFor(prompt.length, options.maxNewTokens());
        if (needed > session.capacity()) {
            throw new IllegalArgumentException("the session holds " + session.length() + " tokens and has a capacity of "
                    + session.capacity() + ": a prompt of " + prompt.length + " tokens and " + options.maxNewTokens()
                    + " new tokens need " + needed);
        }
        Sampler sampler = options.sampler();
        long t0 = System.nanoTime();
        int next = session.prefill(prompt, sampler);
        long prefill = System.nanoTime() - t0;
        int[] out = new int[options.maxNewTokens()];
        int count = 0;
        long decode = 0;
        GenerationResult.StopReason reason;
        while (true) {
            out[count++] = next;
            boolean stop = options.stopTokens().contains(next);
            boolean goOn = listener.onToken(next);
            if (stop) {
                reason = GenerationResult.StopReason.STOP_TOKEN;
                break;
            }
            if (!goOn) {
                reason = GenerationResult.StopReason.LISTENER;
                break;
            }
            if (count == out.length) {
                reason = GenerationResult.StopReason.MAX_TOKENS;
                break;
            }
            long t = System.nanoTime();
            next = session.decode(next, sampler);
            decode += System.nanoTime() - t;
        }
        return new GenerationResult(prompt.length, Arrays.copyOf(out, count), reason, prefill, decode, count - 1,
                session.runtime().memory());
    }
}
