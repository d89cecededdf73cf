package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.seerjava.reference.io.SafeTensors;

/**
 * Bits per byte computed from the embedded model's golden logits (float32 logits made outside Java, see
 * models/tiny-llama-bytes/README.md), in float64 here, without the project's model or metrics code: the values the
 * commands' dense rows must reproduce.
 */
final class GoldenBits {
    private GoldenBits() {
    }

    /**
     * Dense bits per byte of the first 1,024 bytes of {@code corpus/eval-moby.bin}, predicting bytes 1 … 1,024:
     * mean over positions of (logsumexp(logits_i) − logits_i[byte_(i+1)]) / ln 2.
     */
    static double denseFirst1024(Path project) throws Exception {
        int[] ids;
        float[] logits;
        try (SafeTensors g = SafeTensors.open(project.resolve(
                "models/tiny-llama-bytes/reference-gates/golden-model-logits.safetensors"))) {
            ids = g.ints("input_ids_1024");
            logits = g.floats("logits_dense_1024");
        }
        byte[] text = Files.readAllBytes(project.resolve("corpus/eval-moby.bin"));
        for (int i = 0; i < 1024; i++) {
            assertThat(ids[i]).as("golden input id %d is byte %d of eval-moby.bin", i, i).isEqualTo(text[i] & 0xFF);
        }
        double nats = 0;
        for (int i = 0; i < 1024; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < 256; v++) {
                max = Math.max(max, logits[i * 256 + v]);
            }
            double sum = 0;
            for (int v = 0; v < 256; v++) {
                sum += Math.exp(logits[i * 256 + v] - max);
            }
            nats += max + Math.log(sum) - logits[i * 256 + (text[i + 1] & 0xFF)];
        }
        return nats / 1024 / Math.log(2);
    }
}
