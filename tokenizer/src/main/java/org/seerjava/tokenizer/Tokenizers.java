package org.seerjava.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Chooses the tokenizer of a checkpoint directory. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * The tokenizer for the model in {@code dir} whose embedding has {@code vocabSize} rows:
     * <ul>
     *   <li>{@code dir/tokenizer.json} if present ({@link HfTokenizer#loadDirectory}), provided every id it can
     *       produce is below {@code vocabSize};</li>
     *   <li>otherwise the {@link ByteTokenizer} when the model's vocabulary is the byte vocabulary (256, as the
     *       embedded model {@code models/tiny-llama-bytes});</li>
     *   <li>otherwise a refusal: raw bytes fed to a larger vocabulary would be meaningless.</li>
     * </ul>
     *
     * @throws TokenizerException naming the directory and the reason
     */
    public static Tokenizer forCheckpoint(Path dir, int vocabSize) throws TokenizerException {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be positive, got " + vocabSize);
        }
        if (!Files.isDirectory(dir)) {
            throw new TokenizerException("model directory " + dir + " does not exist");
        }
        Path json = dir.resolve("tokenizer.json");
        if (Files.exists(json)) {
            HfTokenizer t = HfTokenizer.loadDirectory(dir);
            if (t.maxTokenId() >= vocabSize) {
                throw new TokenizerException("tokenizer.json " + json + " produces ids up to " + t.maxTokenId()
                        + " but model " + dir + " has a " + vocabSize + "-token vocabulary");
            }
            return t;
        }
        if (vocabSize == ByteTokenizer.VOCAB_SIZE) {
            return ByteTokenizer.instance();
        }
        String hint = Files.exists(dir.resolve("tokenizer.model"))
                ? " (it has a sentencepiece tokenizer.model: convert it to tokenizer.json with Hugging Face"
                        + " transformers, e.g. AutoTokenizer.from_pretrained(dir).save_pretrained(dir))"
                : "";
        throw new TokenizerException("model " + dir + " has a " + vocabSize + "-token vocabulary but no"
                + " tokenizer.json: cannot tokenize text for it" + hint);
    }
}
