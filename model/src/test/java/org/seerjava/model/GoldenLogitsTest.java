package org.seerjava.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.SafeTensors;

/** Acceptance 1 of issue 5: the Java forward reproduces the golden float32 logits of the embedded model. */
class GoldenLogitsTest {
    static final Path MODEL = Path.of("../models/tiny-llama-bytes");
    static final Path GOLDEN = MODEL.resolve("reference-gates/golden-model-logits.safetensors");

    static LlamaModel model;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(MODEL);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void embeddedModelHasTheDocumentedSize() {
        assertEquals(6_491_520L, model.parameterCount());
    }

    @Test
    void denseLogits1024MatchGolden() {
        checkGolden(Engines.byName("reference"), true);
    }

    /** The same acceptance through every other engine that can run here (cpu; cuda on a GPU machine). */
    @Test
    void denseLogits1024MatchGoldenOnFasterEngines() {
        int checked = 0;
        for (var p : Engines.providers()) {
            if (!p.name().equals("reference") && p.unavailableReason() == null) {
                checkGolden(Engines.byName(p.name()), false);
                checked++;
            }
        }
        Assumptions.assumeTrue(checked > 0, "no engine other than the reference is available here");
    }

    private static void checkGolden(Engine engine, boolean checkTail) {
        int[] ids;
        float[] expected;
        try (SafeTensors g = SafeTensors.open(GOLDEN)) {
            ids = g.ints("input_ids_1024");
            expected = g.floats("logits_dense_1024");
        }
        assertEquals(1024, ids.length);
        long t0 = System.nanoTime();
        float[] logits = model.forward(ids, AttentionPolicy.dense(engine));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(expected.length, logits.length);
        double maxErr = 0;
        for (int i = 0; i < logits.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(logits[i] - expected[i]));
        }
        System.out.printf("golden logits_dense_1024: max abs error %.3g (forward %.2f s, %s)%n", maxErr, seconds,
                engine.name());
        assertTrue(maxErr <= 2e-3, engine.name() + ": max abs error " + maxErr + " > 2e-3");
        if (!checkTail) {
            return;
        }

        // logitsFrom returns the same rows
        float[] tail = model.forward(ids, AttentionPolicy.dense(engine), 1000);
        assertEquals(24 * 256, tail.length);
        for (int i = 0; i < tail.length; i++) {
            assertEquals(logits[1000 * 256 + i], tail[i], 0f);
        }
    }
}
