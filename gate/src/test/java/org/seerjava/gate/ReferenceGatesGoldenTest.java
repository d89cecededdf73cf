package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.SafeTensors;

/**
 * Acceptance 2 of issue 5: the reference gates on the embedded model reproduce {@code gate_scores.layer{i}} and
 * {@code logits_gate_topk0.3_2048} (top-k gate scores + diagonal + causal in every layer and head).
 */
class ReferenceGatesGoldenTest {
    static final Path MODEL = Path.of("../models/tiny-llama-bytes");
    static final Path GATES = MODEL.resolve("reference-gates/attn_gate_weights.safetensors");
    static final Path GOLDEN = MODEL.resolve("reference-gates/golden-model-logits.safetensors");

    @Test
    void gateScoresAndTopK03LogitsMatchGolden() {
        Engine engine = Engines.fromSystemProperty();
        try (LlamaModel model = LlamaModel.load(MODEL); SafeTensors golden = SafeTensors.open(GOLDEN)) {
            ModelDims dims = ModelDims.of(model.config());
            GateSet gates = GateSet.load(GATES, dims);
            assertEquals(64, gates.spec().blockSize());
            assertEquals(100000.0, gates.config().rope().theta());
            assertEquals(64, gates.config().rope().rotaryDim());
            int[] tokens = golden.ints("input_ids_2048");
            assertEquals(2048, tokens.length);
            SeerAttentionPolicy policy = SeerAttentionPolicy.gate(engine, gates, 0.3);
            float[] logits = model.forward(tokens, policy, 2048 - 256);
            float[] expected = golden.floats("logits_gate_topk0.3_2048", new long[] {256, 256});
            assertEquals(expected.length, logits.length);
            double maxAbs = 0;
            for (int i = 0; i < expected.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(expected[i] - logits[i]));
            }
            System.out.printf("logits_gate_topk0.3_2048: max abs error %.3e (engine %s)%n", maxAbs, engine.name());
            assertTrue(maxAbs <= 2e-3, "max abs error " + maxAbs);

            // The golden scores are those of the dense forward pass (the model's hidden states without sparsity);
            // under the sparse pass, layers >= 1 see slightly different inputs.
            GateSelection sel = GateSelection.topK(engine, gates, 0.3);
            org.seerjava.model.AttentionPolicy dense = org.seerjava.model.AttentionPolicy.dense(engine);
            model.forward(tokens, (layer, in, out) -> {
                sel.select(layer, in);
                dense.attend(layer, in, out);
            }, 2047);
            for (int layer = 0; layer < dims.layers(); layer++) {
                float[] want = golden.floats("gate_scores.layer" + layer, new long[] {6, 32, 32});
                float[] got = sel.lastScores(layer);
                double num = 0;
                double den = 0;
                for (int i = 0; i < want.length; i++) {
                    num += (got[i] - want[i]) * (double) (got[i] - want[i]);
                    den += want[i] * (double) want[i];
                }
                double rel = Math.sqrt(num / den);
                System.out.printf("gate_scores.layer%d: relative error %.3e%n", layer, rel);
                assertTrue(rel <= 1e-4, "gate_scores.layer" + layer + " relative error " + rel);
            }
            // k = int((1 − √0.7) · 32) = 5 per row plus the diagonal: realised density well below dense.
            assertTrue(policy.density() < 0.5 && policy.density() > 0.2, "density " + policy.density());
            assertArrayEquals(new double[] {policy.density()}, new double[] {
                    java.util.Arrays.stream(policy.densityPerLayer()).average().orElseThrow()}, 1e-12);
        }
    }
}
