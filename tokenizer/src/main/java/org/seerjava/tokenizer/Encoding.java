package org.seerjava.tokenizer;

import java.util.List;

/**
 * An encoded text: the ids and, for each, the token string as the Hugging Face library reports it (the vocabulary
 * entry, e.g. {@code "Ġworld"} or {@code "▁world"}; for an added token, the text it matched).
 */
public record Encoding(int[] ids, List<String> tokens) {
    public Encoding {
        if (ids.length != tokens.size()) {
            throw new IllegalArgumentException(ids.length + " ids but " + tokens.size() + " tokens");
        }
        tokens = List.copyOf(tokens);
    }
}
