package org.seerjava.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** Builds small tokenizer.json documents for hand-checked tests. */
final class Tiny {
    static final ObjectMapper M = new ObjectMapper();

    final ObjectNode root = M.createObjectNode();
    final ObjectNode model = M.createObjectNode();
    final ObjectNode vocab = M.createObjectNode();
    final ArrayNode merges = M.createArrayNode();
    final ArrayNode added = M.createArrayNode();

    Tiny() {
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.set("added_tokens", added);
        root.putNull("normalizer");
        root.putNull("pre_tokenizer");
        root.putNull("post_processor");
        root.putNull("decoder");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        model.set("vocab", vocab);
        model.set("merges", merges);
        root.set("model", model);
    }

    /** Adds tokens to the vocabulary with the next ids. */
    Tiny vocab(String... tokens) {
        for (String t : tokens) {
            vocab.put(t, vocab.size());
        }
        return this;
    }

    /** Adds the 256 byte tokens {@code <0x00>..<0xFF>}. */
    Tiny byteTokens() {
        for (int b = 0; b < 256; b++) {
            vocab(String.format("<0x%02X>", b));
        }
        return this;
    }

    /** Adds the 256 characters of the byte-level alphabet. */
    Tiny byteLevelAlphabet() {
        for (int b = 0; b < 256; b++) {
            vocab(String.valueOf(ByteLevelAlphabet.charOf(b)));
        }
        return this;
    }

    /** Merges written "a b"; the merged token is added to the vocab if missing. */
    Tiny merges(String... pairs) {
        for (String p : pairs) {
            merges.add(p);
            String merged = p.replace(" ", "");
            if (!vocab.has(merged)) {
                vocab(merged);
            }
        }
        return this;
    }

    Tiny model(String key, Object value) {
        model.set(key, M.valueToTree(value));
        return this;
    }

    Tiny set(String key, String json) {
        try {
            root.set(key, M.readTree(json));
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
        return this;
    }

    /** An added token with the next free id after the vocabulary and previous added tokens. */
    Tiny added(String content, boolean special, boolean normalized, boolean lstrip, boolean rstrip,
               boolean singleWord) {
        int id = vocab.has(content) ? vocab.get(content).asInt() : vocab.size() + countNew();
        ObjectNode t = M.createObjectNode();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", singleWord);
        t.put("lstrip", lstrip);
        t.put("rstrip", rstrip);
        t.put("normalized", normalized);
        t.put("special", special);
        added.add(t);
        return this;
    }

    Tiny special(String content) {
        return added(content, true, false, false, false, false);
    }

    private int countNew() {
        int n = 0;
        for (var t : added) {
            if (!vocab.has(t.get("content").asText())) {
                n++;
            }
        }
        return n;
    }

    String json() {
        return root.toString();
    }

    HfTokenizer build() {
        try {
            return HfTokenizer.fromJson(json(), "tiny");
        } catch (TokenizerException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    int id(String token) {
        return vocab.get(token).asInt();
    }

    int[] ids(String... tokens) {
        int[] out = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            out[i] = id(tokens[i]);
        }
        return out;
    }

    static List<String> texts(List<Piece> pieces) {
        return pieces.stream().map(Piece::text).toList();
    }
}
