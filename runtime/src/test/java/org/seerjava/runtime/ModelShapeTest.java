package org.seerjava.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.seerjava.model.LlamaConfig;
import org.seerjava.reference.RopeConfig;

/** The registry of named shapes: published parameter counts, config.json round trip, the embedded model's shape. */
class ModelShapeTest {

    @Test
    void parameterCountsMatchThePublishedModels() {
        assertEquals(8_030_261_248L, ModelShape.named("llama-3.1-8b").parameterCount());
        assertEquals(1_235_814_400L, ModelShape.named("llama-3.2-1b").parameterCount());
    }

    @Test
    void configJsonReadsBackToTheSameConfig() {
        for (String name : ModelShape.names()) {
            ModelShape s = ModelShape.named(name);
            assertEquals(s.config(), LlamaConfig.parse(s.configJson(), name), name);
        }
        assertTrue(ModelShape.named("llama-3.1-8b").config().rope().scaling() instanceof RopeConfig.Scaling.Llama3);
    }

    @Test
    void tinyShapeIsTheEmbeddedModel() {
        assertEquals(LlamaConfig.load(Path.of("../models/tiny-llama-bytes/config.json")),
                ModelShape.named("tiny-llama-bytes").config());
    }

    @Test
    void unknownShapeListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelShape.named("gpt-5"));
        assertTrue(e.getMessage().contains("gpt-5") && e.getMessage().contains("llama-3.1-8b"), e.getMessage());
    }

    @Test
    void unknownBackendIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelRuntime.open(ModelSource.random("tiny-llama-bytes"), RuntimeOptions.defaults().backend("tpu")));
        assertTrue(e.getMessage().contains("'tpu'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RuntimeOptions.defaults().prefillChunk(-1));
    }
}
