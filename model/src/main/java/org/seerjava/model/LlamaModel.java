package org.seerjava.model;

import java.nio.file.Path;

/**
 * A Hugging Face Llama-family decoder ({@link LlamaConfig}) loaded from safetensors, with a float32 prefill forward
 * pass whose attention is pluggable ({@link AttentionPolicy}). Batch is 1.
 */
public final class LlamaModel implements AutoCloseable {
    private final LlamaConfig config;

    private LlamaModel(LlamaConfig config) {
        this.config = config;
    }

    /**
     * Loads {@code dir/config.json} and the weights of {@code dir/model.safetensors} (or the shards listed by
     * {@code dir/model.safetensors.index.json}).
     */
    public static LlamaModel load(Path dir) {
        throw new UnsupportedOperationException("not yet");
    }

    /** The configuration. */
    public LlamaConfig config() {
        return config;
    }

    /** Logits {@code [N, vocab]} of every position. */
    public float[] forward(int[] tokens, AttentionPolicy policy) {
        return forward(tokens, policy, 0);
    }

    /** Logits {@code [N − logitsFrom, vocab]} of positions ≥ logitsFrom. */
    public float[] forward(int[] tokens, AttentionPolicy policy, int logitsFrom) {
        throw new UnsupportedOperationException("not yet");
    }

    @Override
    public void close() {
    }
}
