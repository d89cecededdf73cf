package org.seerjava.gate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.NaiveForward;
import org.seerjava.model.TinyCheckpoint;

/**
 * A small random byte-level Llama for the drivers' tests, fast enough for mutation testing: 2 layers, hidden 32,
 * 4 query heads and 2 KV heads of head_dim 8, MLP 48, vocabulary 256 (one token a byte), RoPE θ = 10000
 * ({@link TinyCheckpoint}), with a random corpus of bytes 0–255; its logits from the independent float64 forward
 * ({@link NaiveForward}).
 */
final class TinyByteModel {
    final TinyCheckpoint checkpoint;
    final Path dir;
    final Path corpus;
    final byte[] text;

    private TinyByteModel(TinyCheckpoint checkpoint, Path dir, Path corpus, byte[] text) {
        this.checkpoint = checkpoint;
        this.dir = dir;
        this.corpus = corpus;
        this.text = text;
    }

    /** Writes the model into {@code root/model} and a corpus of {@code corpusBytes} random bytes to {@code root/corpus.bin}. */
    static TinyByteModel write(Path root, long seed, int corpusBytes) {
        TinyCheckpoint c = TinyCheckpoint.build("LlamaForCausalLM", 32, 4, 2, 48, 2, 256, false, false, seed);
        Path dir = c.write(root.resolve("model"));
        byte[] text = new byte[corpusBytes];
        new Random(seed + 1).nextBytes(text);
        Path corpus = root.resolve("corpus.bin");
        try {
            Files.write(corpus, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TinyByteModel(c, dir, corpus, text);
    }

    /** The model's dimensions. */
    ModelDims dims() {
        return ModelDims.of(config());
    }

    LlamaConfig config() {
        return LlamaConfig.parse(checkpoint.config.toString(), "tiny byte model");
    }

    /** Bytes {@code offset … offset + length} of the corpus as tokens. */
    int[] tokens(long offset, int length) {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = text[(int) offset + i] & 0xFF;
        }
        return t;
    }

    /** Σ cross-entropy in nats (float64) of predicting {@code tokens[from + 1 …]} from the float64 forward of all but the last token. */
    double nats(int[] tokens, int from) {
        int n = tokens.length - 1;
        double[] logits = NaiveForward.logits(checkpoint, config(), java.util.Arrays.copyOf(tokens, n), null);
        double nats = 0;
        for (int r = from; r < n; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < 256; v++) {
                max = Math.max(max, logits[r * 256 + v]);
            }
            double sum = 0;
            for (int v = 0; v < 256; v++) {
                sum += Math.exp(logits[r * 256 + v] - max);
            }
            nats += max + Math.log(sum) - logits[r * 256 + tokens[r + 1]];
        }
        return nats;
    }
}
