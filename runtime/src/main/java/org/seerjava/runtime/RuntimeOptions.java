package org.seerjava.runtime;

import org.seerjava.model.LlamaConfig;

/**
 * How a {@link ModelRuntime} is opened.
 *
 * @param backend                  {@code cpu}, {@code cuda} or {@code auto} (the highest-priority available)
 * @param prefillChunk             the most tokens a backend processes in one step of a prefill (a longer prompt is
 *                                 split into chunks with the same result); 0 = the backend's default
 * @param allowBeyondMaxPositions  let a session's capacity exceed the config's {@code max_position_embeddings}
 *                                 (refused by default: the model was not trained there; when allowed, a warning is
 *                                 logged once per session)
 */
public record RuntimeOptions(String backend, int prefillChunk, boolean allowBeyondMaxPositions) {

    /** Checks the values. */
    public RuntimeOptions {
        if (backend == null || backend.isBlank()) {
            throw new IllegalArgumentException("backend must be named (cpu, cuda or auto)");
        }
        if (prefillChunk < 0) {
            throw new IllegalArgumentException("prefillChunk must be ≥ 0 (0 = the backend's default), got " + prefillChunk);
        }
    }

    /**
     * The defaults: backend {@code auto}, the backend's chunk, capacity limited by max_position_embeddings.
     *
     * @return the options
     */
    public static RuntimeOptions defaults() {
        return new RuntimeOptions("auto", 0, false);
    }

    /**
     * These options with another backend.
     *
     * @param name {@code cpu}, {@code cuda} or {@code auto}
     * @return a copy
     */
    public RuntimeOptions backend(String name) {
        return new RuntimeOptions(name, prefillChunk, allowBeyondMaxPositions);
    }

    /**
     * These options with another prefill chunk.
     *
     * @param tokens tokens per chunk, 0 = default
     * @return a copy
     */
    public RuntimeOptions prefillChunk(int tokens) {
        return new RuntimeOptions(backend, tokens, allowBeyondMaxPositions);
    }

    /**
     * These options allowing (or not) capacities beyond max_position_embeddings.
     *
     * @param allow whether to allow
     * @return a copy
     */
    public RuntimeOptions allowBeyondMaxPositions(boolean allow) {
        return new RuntimeOptions(backend, prefillChunk, allow);
    }

    /**
     * The checks every backend makes before it opens a session: a prefill attention is given, the capacity is at
     * least one token and within the config's {@code max_position_embeddings} unless these options allow more (then
     * a warning is logged), and SeerAttention's gates and SeerAttention-R's decode gates were made for this model.
     *
     * @param config    the model's configuration
     * @param capacity  the session's capacity in tokens
     * @param attention how its prefill computes attention
     * @param decode    how its decode steps attend to the cache
     * @throws IllegalArgumentException naming the value that is wrong and the limit
     */
    public void checkSession(LlamaConfig config, int capacity, PrefillAttention attention, DecodeAttention decode) {
        if (attention == null) {
            throw new IllegalArgumentException("prefill attention must not be null (PrefillAttention.dense() for dense)");
        }
        if (decode == null) {
            throw new IllegalArgumentException("decode attention must not be null (DecodeAttention.dense() for dense)");
        }
        if (capacity < 1) {
            throw new IllegalArgumentException("session capacity must be ≥ 1 token, got " + capacity);
        }
        if (capacity > config.maxPositionEmbeddings()) {
            String msg = "a session of " + capacity + " tokens exceeds the model's max_position_embeddings = "
                    + config.maxPositionEmbeddings();
            if (!allowBeyondMaxPositions) {
                throw new IllegalArgumentException(msg + " (RuntimeOptions.allowBeyondMaxPositions(true) allows it)");
            }
            System.getLogger("org.seerjava.runtime").log(System.Logger.Level.WARNING,
                    msg + ": positions beyond it were not trained");
        }
        if (attention instanceof PrefillAttention.Seer seer) {
            seer.requireFits(config);
        }
        if (decode instanceof DecodeAttention.Sparse sparse) {
            sparse.requireFits(config);
        }
    }
}
