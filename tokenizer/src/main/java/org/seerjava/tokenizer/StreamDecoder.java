package org.seerjava.tokenizer;

import java.util.Arrays;

/**
 * Incremental decoding for generation: feed ids one at a time and print what comes back. Text is released only
 * when it is final: a byte-level or byte-fallback token that ends inside a multi-byte character yields nothing until
 * the character is complete, and decoders that look at neighbouring tokens (the leading-space strip of Llama 2 /
 * Mistral) see the same context as a full decode.
 *
 * <p>The algorithm is the Hugging Face library's {@code DecodeStream}: keep the ids since the last released chunk
 * plus a few before it (the "prefix"); decode them all at each step; if the result is longer than the prefix's
 * decoding and does not end in U+FFFD, release the difference. The concatenation of all chunks equals
 * {@code decode(allIds)} whenever that decoding does not end in U+FFFD. Not thread-safe; one per generation.
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids = new int[16];
    private int size;
    private String prefix = "";
    private int prefixIndex;

    public StreamDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /**
     * Adds the next id; returns the text that became final with it, or the empty string when there is none yet.
     *
     * @throws IllegalStateException if the decoding of the ids so far no longer starts with the text already
     *                               released (the library raises the same error)
     */
    public String step(int id) {
        if (prefix.isEmpty() && size > 0) {
            String newPrefix = decode(0, size);
            if (!newPrefix.endsWith("\uFFFD")) {
                prefix = newPrefix;
                prefixIndex = size;
            }
        }
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        String string = decode(0, size);
        if (Text.utf8Length(string) > Text.utf8Length(prefix) && !string.endsWith("\uFFFD")) {
            if (!string.startsWith(prefix)) {
                throw new IllegalStateException("stream decoding: the text so far " + OnigRegex.quote(string)
                        + " does not start with the text already released " + OnigRegex.quote(prefix)
                        + " (last id " + id + ")");
            }
            String newText = string.substring(prefix.length());
            int newPrefixIndex = size - prefixIndex;
            System.arraycopy(ids, prefixIndex, ids, 0, size - prefixIndex);
            size -= prefixIndex;
            prefix = decode(0, size);
            prefixIndex = newPrefixIndex;
            return newText;
        }
        return "";
    }

    /**
     * The text still held back, for the end of a generation: what the ids fed so far decode to beyond the text
     * already released, incomplete characters included (as U+FFFD). Not part of the library's DecodeStream. The
     * decoder then starts afresh, as a new one would.
     */
    public String flush() {
        String string = decode(0, size);
        String rest = string.startsWith(prefix) ? string.substring(prefix.length()) : "";
        size = 0;
        prefix = "";
        prefixIndex = 0;
        return rest;
    }

    private String decode(int from, int to) {
        return tokenizer.decode(Arrays.copyOfRange(ids, from, to), skipSpecialTokens);
    }
}
