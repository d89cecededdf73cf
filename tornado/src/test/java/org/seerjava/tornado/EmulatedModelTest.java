package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.engine.ReferenceEngine;

/**
 * The embedded model's SeerAttention prefill (gate scores, selection and block-sparse attention in every layer)
 * through the TornadoVM engine — its graphs run by the KernelContext emulator — against the same prefill through the
 * float64 reference engine: what {@code seer demo --backend tornado} runs, without a GPU.
 */
class EmulatedModelTest {
    @Test
    void seerAttentionPrefillMatchesTheReferenceEngine() throws Exception {
        Path home = Path.of(System.getProperty("seer.home", "..")).toAbsolutePath().normalize();
        Path model = home.resolve("models/tiny-llama-bytes");
        Path gates = model.resolve("reference-gates/attn_gate_weights.safetensors");
        Assumptions.assumeTrue(Files.exists(gates), "no embedded model at " + model);
        byte[] text = ("Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in "
                + "my purse, and nothing particular to interest me on shore, I thought I would sail about a little "
                + "and see the watery part of the world. It is a way I have of driving off the spleen, and "
                + "regulating the circulation.").getBytes(StandardCharsets.US_ASCII);
        int[] tokens = new int[text.length - 1];
        int[] targets = new int[text.length - 1];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = text[i] & 0xFF;
            targets[i] = text[i + 1] & 0xFF;
        }
        try (LlamaModel m = LlamaModel.load(model)) {
            GateSet gateSet = GateSet.load(gates, ModelDims.of(m.config()));
            float[] ref = m.forward(tokens, SeerAttentionPolicy.gate(new ReferenceEngine(), gateSet, 0.5));
            SeerAttentionPolicy ours = SeerAttentionPolicy.gate(EmulatedEngine.create(), gateSet, 0.5);
            float[] logits = m.forward(tokens, ours);
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < ref.length; i++) {
                diff += (logits[i] - ref[i]) * (double) (logits[i] - ref[i]);
                norm += ref[i] * (double) ref[i];
            }
            double bitsRef = Metrics.bitsPerByte(ref, targets);
            double bitsOurs = Metrics.bitsPerByte(logits, targets);
            System.out.printf("embedded model, %d tokens, SeerAttention at density %.3f: logits relative difference "
                    + "%.2e, bits per byte %.5f (reference engine %.5f)%n", tokens.length, ours.density(),
                    Math.sqrt(diff / norm), bitsOurs, bitsRef);
            assertThat(ours.density()).isLessThan(1.0);
            assertThat(Math.sqrt(diff / norm)).isLessThan(1e-4);
            assertThat(bitsOurs).isCloseTo(bitsRef, org.assertj.core.data.Offset.offset(1e-4));
        }
    }
}
