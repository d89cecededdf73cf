package org.seerjava.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One token per UTF-8 byte: the id of a byte is its unsigned value (0..255). This is the vocabulary of the embedded
 * model {@code models/tiny-llama-bytes} (vocab_size 256, no BOS or EOS). There are no special tokens; decoding
 * replaces each maximal invalid UTF-8 subsequence by U+FFFD and skips ids outside 0..255.
 */
public final class ByteTokenizer implements Tokenizer {
    /** The vocabulary size of a byte-level model. */
    public static final int VOCAB_SIZE = 256;

    private static final ByteTokenizer INSTANCE = new ByteTokenizer();

    private ByteTokenizer() {
    }

    public static ByteTokenizer instance() {
        return INSTANCE;
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        byte[] bytes = Text.wellFormed(text).getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        byte[] bytes = new byte[ids.length];
        int n = 0;
        for (int id : ids) {
            if (id >= 0 && id < VOCAB_SIZE) {
                bytes[n++] = (byte) id;
            }
        }
        return Text.decodeLossy(bytes, 0, n);
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int maxTokenId() {
        return VOCAB_SIZE - 1;
    }

    @Override
    public OptionalInt bosId() {
        return OptionalInt.empty();
    }

    @Override
    public int[] eosIds() {
        return new int[0];
    }

    /** A token of this tokenizer is written {@code <0xNN>} (the convention of byte-fallback vocabularies). */
    @Override
    public OptionalInt tokenToId(String token) {
        int b = Decoder.ByteFallback.byteToken(token);
        return b >= 0 && token.charAt(3) != '+' ? OptionalInt.of(b) : OptionalInt.empty();
    }

    @Override
    public Optional<String> idToToken(int id) {
        return id >= 0 && id < VOCAB_SIZE ? Optional.of(String.format("<0x%02X>", id)) : Optional.empty();
    }

    @Override
    public String description() {
        return "byte tokenizer (one token per UTF-8 byte, 256 ids)";
    }
}
