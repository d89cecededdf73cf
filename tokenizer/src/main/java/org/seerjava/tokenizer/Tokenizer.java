package org.seerjava.tokenizer;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * Text to token ids and back, as a model runtime needs it. Implementations are immutable and thread-safe (a
 * {@link StreamDecoder} is not: make one per generation).
 *
 * <ul>
 *   <li>{@link HfTokenizer}: a checkpoint's {@code tokenizer.json}, encoding and decoding exactly as the Hugging Face
 *       {@code tokenizers} library does;</li>
 *   <li>{@link ByteTokenizer}: one token per UTF-8 byte (ids 0..255), the embedded model's vocabulary.</li>
 * </ul>
 * {@link Tokenizers#forCheckpoint} picks the right one for a model directory, or refuses.
 */
public interface Tokenizer {
    /**
     * The ids of {@code text}; with {@code addSpecialTokens} the tokens the tokenizer adds around a sequence (the
     * BOS of Llama, for instance) are included. Unpaired surrogates in {@code text} are read as U+FFFD.
     */
    int[] encode(String text, boolean addSpecialTokens);

    /** {@link #encode(String, boolean)} with special tokens, as the Hugging Face library's default. */
    default int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * The text of {@code ids}. Ids the tokenizer does not know are skipped (as the Hugging Face library does); with
     * {@code skipSpecialTokens} so are special tokens. Bytes that do not form valid UTF-8 become U+FFFD.
     */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** A new incremental decoder for generated ids (see {@link StreamDecoder}). */
    default StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, skipSpecialTokens);
    }

    /** The number of distinct tokens, added tokens included (the library's {@code get_vocab_size(true)}). */
    int vocabSize();

    /** The largest id this tokenizer can produce; a model needs at least {@code maxTokenId() + 1} embeddings. */
    int maxTokenId();

    /** The beginning-of-sequence id, if the tokenizer has one. */
    OptionalInt bosId();

    /** The ids that end generation (the checkpoint's {@code eos_token_id}, which may be a list); may be empty. */
    int[] eosIds();

    /** The id of a token string (an added token's content or a vocabulary entry). */
    OptionalInt tokenToId(String token);

    /** The token string of an id. */
    Optional<String> idToToken(int id);

    /** A one-line description for logs, e.g. where the tokenizer came from and its size. */
    String description();
}
