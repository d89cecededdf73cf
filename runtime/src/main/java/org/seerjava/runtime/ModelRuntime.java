package org.seerjava.runtime;

import java.nio.file.Path;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.ModelFamily;

/**
 * A Llama-family model loaded on one backend, ready to run {@link Session}s: its weights stay in their stored dtype
 * (memory-mapped bf16/f16/f32 on the CPU, bf16/f16 on the GPU), and every session owns a KV cache of one sequence.
 *
 * <pre>{@code
 * try (ModelRuntime model = ModelRuntime.open(ModelSource.checkpoint(dir), RuntimeOptions.defaults().backend("cpu"));
 *      Session session = model.newSession(prompt.length + 64, PrefillAttention.dense())) {
 *     GenerationResult r = Generator.generate(session, prompt, GenerationOptions.greedy(64), token -> true);
 * }
 * }</pre>
 *
 * <p>Implementations are found by {@link RuntimeBackend} (a {@link java.util.ServiceLoader} service): {@code cpu}
 * in this module, {@code cuda} beside it. A runtime may be used by one thread at a time per session; sessions of
 * one runtime share its weights. Closing the runtime closes its open sessions and releases every off-heap or
 * device allocation.
 */
public interface ModelRuntime extends AutoCloseable {

    /**
     * Opens a model on the backend named in the options ({@code auto}: the highest-priority backend available).
     *
     * @param source  a checkpoint directory or a named shape with random weights
     * @param options backend and tuning
     * @return the open model
     * @throws IllegalArgumentException when the backend is unknown or unavailable (with the reason), the config
     *                                  or weights are invalid (naming the file, tensor or field), or the source is
     *                                  not supported by the backend
     */
    static ModelRuntime open(ModelSource source, RuntimeOptions options) {
        if (source == null || options == null) {
            throw new IllegalArgumentException("source and options must not be null");
        }
        return RuntimeBackend.named(options.backend()).open(source, options);
    }

    /**
     * Opens a checkpoint directory with the default options.
     *
     * @param checkpoint a Hugging Face checkpoint directory
     * @return the open model
     */
    static ModelRuntime open(Path checkpoint) {
        return open(ModelSource.checkpoint(checkpoint), RuntimeOptions.defaults());
    }

    /**
     * What was opened.
     *
     * @return the source given to {@link #open}
     */
    ModelSource source();

    /**
     * The configuration.
     *
     * @return the checkpoint's config.json, or the shape's config
     */
    LlamaConfig config();

    /**
     * The family (what differs between Llama, Mistral, Qwen2, Qwen3).
     *
     * @return {@code config().family()}
     */
    default ModelFamily family() {
        return config().family();
    }

    /**
     * The backend's name.
     *
     * @return {@code cpu} or {@code cuda}
     */
    String backend();

    /**
     * What it runs on and how the weights are held, for logs.
     *
     * @return e.g. the vector width and threads, or the GPU
     */
    String description();

    /**
     * Bytes of weights as the backend holds them.
     *
     * @return the byte count
     */
    long weightBytes();

    /**
     * Bytes of weights read to decode one token (every layer and lm_head, one embedding row): the numerator of
     * the memory-bandwidth bound on decode speed.
     *
     * @return the byte count
     */
    long weightBytesPerToken();

    /**
     * Opens a session: a KV cache for {@code capacity} tokens of one sequence.
     *
     * @param capacity  the most tokens the session will hold (prompt plus generated tokens), ≥ 1
     * @param prefill   how prefill computes attention: dense or SeerAttention with gates
     * @param decode    how decode steps attend to the cache: dense, or SeerAttention-R with decode gates
     * @return a new empty session; close it to release its cache
     * @throws IllegalArgumentException when the capacity is not positive, exceeds {@code max_position_embeddings}
     *                                  (unless {@link RuntimeOptions#allowBeyondMaxPositions()}), the gates do not fit
     *                                  the model, the backend does not support the decode attention asked for, or the
     *                                  cache does not fit in memory (bytes needed and available)
     * @throws IllegalStateException    when the runtime is closed
     */
    Session newSession(int capacity, PrefillAttention prefill, DecodeAttention decode);

    /**
     * A session whose decode steps attend densely.
     *
     * @param capacity  the most tokens the session will hold (prompt plus generated tokens), ≥ 1
     * @param attention how prefill computes attention: dense or SeerAttention with gates
     * @return a new empty session
     */
    default Session newSession(int capacity, PrefillAttention attention) {
        return newSession(capacity, attention, DecodeAttention.dense());
    }

    /**
     * A session with dense prefill.
     *
     * @param capacity the most tokens the session will hold
     * @return a new empty session
     */
    default Session newSession(int capacity) {
        return newSession(capacity, PrefillAttention.dense());
    }

    /**
     * Memory held now and the peak so far.
     *
     * @return weights, caches, workspace and peak
     */
    MemoryUse memory();

    /** Closes every open session and releases the weights. Idempotent. */
    @Override
    void close();
}
