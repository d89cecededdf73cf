package org.seerjava.gate;

import java.nio.file.Path;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.LlamaModel;

/**
 * The corpus files of distillation and evaluation are raw bytes, fed to the model as token ids 0–255 and scored in
 * bits per byte. Only a model whose vocabulary is those 256 bytes reads them as text; any other model is refused
 * before it is loaded (bytes fed to a larger vocabulary would give meaningless gates and numbers).
 */
public final class ByteText {
    /** The byte vocabulary's size. */
    public static final int VOCABULARY = 256;

    private ByteText() {
    }

    /**
     * Checks, from its config.json alone, that a model reads bytes as text.
     *
     * @param modelDir the checkpoint directory
     * @param command  what refuses, for the message (e.g. {@code distill})
     * @throws IllegalArgumentException naming the model and its vocabulary when it is not the byte vocabulary
     */
    public static void requireByteModel(Path modelDir, String command) {
        LlamaConfig c = LlamaConfig.load(modelDir.resolve(LlamaModel.CONFIG));
        if (c.vocabSize() != VOCABULARY) {
            throw new IllegalArgumentException(command + ": model " + modelDir + " has a " + c.vocabSize()
                    + "-token vocabulary, but " + command + " feeds the corpus as bytes (token ids 0–255), which only"
                    + " a byte-level model (vocab_size = 256) reads as text; tokenized corpora are not supported yet");
        }
    }
}
