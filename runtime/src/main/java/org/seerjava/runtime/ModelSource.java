package org.seerjava.runtime;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a {@link ModelRuntime} opens: a Hugging Face checkpoint directory, or a named {@link ModelShape} with random
 * weights (for benchmarks that need no checkpoint file).
 */
public sealed interface ModelSource {

    /**
     * A checkpoint directory: {@code config.json} and {@code model.safetensors} (or shards with
     * {@code model.safetensors.index.json}), and optionally {@code tokenizer.json}.
     *
     * @param directory the directory
     */
    record Checkpoint(Path directory) implements ModelSource {
        /** Checks that the directory exists. */
        public Checkpoint {
            if (directory == null || !Files.isDirectory(directory)) {
                throw new IllegalArgumentException("model directory " + directory + " does not exist or is not a directory");
            }
        }

        @Override
        public String toString() {
            return directory.toString();
        }
    }

    /**
     * Random bf16 weights of a named shape. Every matrix (embeddings, projections, lm_head) has mean 0 and standard
     * deviation 0.02 (Hugging Face's {@code initializer_range}), every RMSNorm weight is 1, every bias 0. The values
     * depend on the seed and may depend on the backend (the CUDA backend draws them on the device); the CPU backend
     * uses {@link RandomWeights}.
     *
     * @param shape the model's shape
     * @param seed  the random seed
     */
    record RandomWeights(ModelShape shape, long seed) implements ModelSource {
        /** Checks the shape. */
        public RandomWeights {
            if (shape == null) {
                throw new IllegalArgumentException("shape must not be null");
            }
        }

        @Override
        public String toString() {
            return shape.name() + " (random bf16 weights, seed " + seed + ")";
        }
    }

    /**
     * A checkpoint directory.
     *
     * @param directory the directory
     * @return the source
     */
    static ModelSource checkpoint(Path directory) {
        return new Checkpoint(directory);
    }

    /**
     * Random weights of a named shape, seed 0.
     *
     * @param shapeName a name of {@link ModelShape#names()}
     * @return the source
     */
    static ModelSource random(String shapeName) {
        return new RandomWeights(ModelShape.named(shapeName), 0);
    }
}
