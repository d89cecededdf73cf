package org.seerjava.runtime;

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
}
