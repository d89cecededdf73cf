package org.seerjava.runtime;

/**
 * One sequence running on a {@link ModelRuntime}: a KV cache of fixed {@link #capacity()} and the tokens appended
 * so far, at positions {@code 0 … length() − 1}.
 *
 * <p>{@link #prefill} appends a run of tokens (a prompt) in one pass and {@link #decode} appends one; both return
 * the logits of the last position appended, i.e. the scores of the token that follows. The logits equal those of
 * one forward over every token appended so far: prefill N then decode M gives the same logits as one prefill of
 * N + M, within the backend's floating-point tolerance (float32 on the CPU, bf16 on the GPU).
 *
 * <p>Attention: the first prefill of a session (at position 0) uses the session's {@link #attention()}: dense, or
 * SeerAttention whose gate selects key blocks over the block grid of that prefill (every block of the prompt;
 * backends that split a long prompt into chunks keep the selection of the whole prompt). Decode steps use the
 * session's {@link #decodeAttention()}: dense, or SeerAttention-R, whose decode gate selects blocks of the cache for
 * each new token; with sparse decoding, logits after the prompt differ from a dense forward by what the skipped
 * blocks would have contributed. A later prefill (a continuation at position &gt; 0) of several tokens attends densely
 * to the whole cache (with sparse decoding its keys still enter the decode gate's K-compression cache); a
 * continuation of one token is a decode step.
 *
 * <p>The {@code …(…, Sampler)} forms return the next token drawn by the sampler instead of the logits; a backend
 * may sample on its device without copying the logits out (they stay available through {@link #logits()}). A
 * session is used by one thread at a time.
 */
public interface Session extends AutoCloseable {

    /**
     * The model this session runs on.
     *
     * @return its runtime
     */
    ModelRuntime runtime();

    /**
     * The most tokens the session holds.
     *
     * @return the KV cache's capacity in tokens
     */
    int capacity();

    /**
     * Tokens appended so far.
     *
     * @return the next position
     */
    int length();

    /**
     * How the first prefill computes attention.
     *
     * @return dense or SeerAttention
     */
    PrefillAttention attention();

    /**
     * How decode steps attend to the cache.
     *
     * @return dense (the default) or SeerAttention-R
     */
    default DecodeAttention decodeAttention() {
        return DecodeAttention.dense();
    }

    /**
     * The fraction of key blocks the decode steps since the last {@link #reset()} (or since the session opened)
     * attended to, over every layer and KV head: blocks attended (the selection with the first and the current
     * block) ÷ blocks in the cache. 1 for dense decoding.
     *
     * @return the density, or NaN before the first decode step
     */
    default double decodeDensity() {
        return Double.NaN;
    }

    /**
     * Appends tokens at positions {@code length() … length() + tokens.length − 1}.
     *
     * @param tokens token ids, each in [0, vocab_size); at least one
     * @return the logits {@code [vocab_size]} of the last position (a new array)
     * @throws IllegalArgumentException when tokens is empty, a token is outside the vocabulary, or
     *                                  {@code length() + tokens.length > capacity()} (nothing is appended then)
     * @throws IllegalStateException    when the session is closed
     */
    float[] prefill(int[] tokens);

    /**
     * Appends one token at position {@code length()}.
     *
     * @param token a token id in [0, vocab_size)
     * @return the logits {@code [vocab_size]} of that position (a new array)
     * @throws IllegalArgumentException when the token is outside the vocabulary or the session is full
     * @throws IllegalStateException    when the session is closed
     */
    float[] decode(int token);

    /**
     * {@link #prefill(int[])}, then the next token drawn by the sampler from the last position's logits.
     *
     * @param tokens  token ids
     * @param sampler the sampling rule (its random state advances)
     * @return the sampled token id
     */
    default int prefill(int[] tokens, Sampler sampler) {
        return sampler.sample(prefill(tokens));
    }

    /**
     * {@link #decode(int)}, then the next token drawn by the sampler.
     *
     * @param token   a token id
     * @param sampler the sampling rule (its random state advances)
     * @return the sampled token id
     */
    default int decode(int token, Sampler sampler) {
        return sampler.sample(decode(token));
    }

    /**
     * The logits of the last position appended (copied from the device where the backend keeps them there).
     *
     * @return a new array {@code [vocab_size]}
     * @throws IllegalStateException when nothing was appended yet, or the session is closed
     */
    float[] logits();

    /**
     * The fraction of causal key blocks the last prefill attended to, over every layer and head: 1 for dense
     * attention, the realised density for SeerAttention.
     *
     * @return the density, or NaN before the first prefill
     */
    double prefillDensity();

    /** Forgets every token (length 0); the cache memory is kept for the next sequence. */
    void reset();

    /** Releases the KV cache. Idempotent. */
    @Override
    void close();
}
