package org.seerjava.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a tokenizer.json into the pipeline's components. Every component is either built exactly or refused with a
 * message naming it and its place in the file ("pre_tokenizer.pretokenizers[0]: ..."); unknown fields are ignored, as
 * the library ignores them.
 */
final class TokenizerJson {
    /** The largest tokenizer.json read (Llama 3's is 9 MB, Qwen2's 7 MB). */
    static final long MAX_BYTES = 64L << 20;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TokenizerJson() {
    }

    /** Reads a JSON file no larger than {@code maxBytes}; errors name the file. */
    static JsonNode readJson(Path file, long maxBytes, String what) throws TokenizerException {
        requireRegularFile(file, what);
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new TokenizerException(what + " " + file + " cannot be read: " + e, e);
        }
        if (size > maxBytes) {
            throw new TokenizerException(what + " " + file + " is " + size + " bytes; the limit is " + maxBytes
                    + " bytes");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TokenizerException(what + " " + file + " cannot be read: " + e, e);
        }
        return parse(new String(bytes, StandardCharsets.UTF_8), what + " " + file);
    }

    /**
     * Refuses what is not a regular file before it is opened: a FIFO would block the reader, and a device such as
     * /dev/zero reports size 0 and never ends, so the size cap would not hold.
     */
    static void requireRegularFile(Path file, String what) throws TokenizerException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new TokenizerException(what + " " + file + " is not a regular file ("
                    + (Files.isDirectory(file) ? "a directory" : "a device, pipe or socket") + ")");
        }
    }

    static JsonNode parse(String json, String source) throws TokenizerException {
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || !node.isObject()) {
                throw new TokenizerException(source + " is not a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new TokenizerException(source + " is not valid JSON: " + e.getOriginalMessage() + " (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")", e);
        }
    }

    /**
     * A tokenizer.json as read: the document without the model's {@code vocab} and {@code merges}, which are streamed
     * straight into their final form (a tree of a 128k-token vocabulary and 280k merges would cost far more memory
     * and time than the tokenizer itself).
     */
    record Doc(JsonNode root, Map<String, Integer> vocab, List<String[]> merges) {
    }

    static Doc readTokenizer(Path file) throws TokenizerException {
        requireRegularFile(file, "tokenizer.json");
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new TokenizerException("tokenizer.json " + file + " cannot be read: " + e, e);
        }
        if (size > MAX_BYTES) {
            throw new TokenizerException("tokenizer.json " + file + " is " + size + " bytes; the limit is "
                    + MAX_BYTES + " bytes");
        }
        try {
            return parseTokenizer(Files.readAllBytes(file), "tokenizer.json " + file);
        } catch (TokenizerException e) {
            throw e;
        } catch (IOException e) {
            throw new TokenizerException("tokenizer.json " + file + " cannot be read: " + e, e);
        }
    }

    static Doc parseTokenizer(byte[] json, String source) throws TokenizerException {
        try (JsonParser p = MAPPER.getFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerException(source + " is not a JSON object");
            }
            ObjectNode root = MAPPER.createObjectNode();
            Map<String, Integer> vocab = null;
            List<String[]> merges = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (!name.equals("model") || value != JsonToken.START_OBJECT) {
                    root.set(name, MAPPER.readTree(p));
                    continue;
                }
                ObjectNode model = MAPPER.createObjectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken v = p.nextToken();
                    if (field.equals("vocab") && v == JsonToken.START_OBJECT) {
                        vocab = new HashMap<>();
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String token = p.currentName();
                            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
                                throw new TokenizerException(source + ": model.vocab: the id of "
                                        + OnigRegex.quote(token) + " is not an integer");
                            }
                            vocab.put(token, p.getIntValue());
                        }
                    } else if (field.equals("merges") && v == JsonToken.START_ARRAY) {
                        merges = new ArrayList<>();
                        readMerges(p, merges, source);
                    } else {
                        model.set(field, MAPPER.readTree(p));
                    }
                }
                root.set("model", model);
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                throw new TokenizerException(source + " is not valid JSON: unexpected " + p.currentToken());
            }
            return new Doc(root, vocab, merges);
        } catch (JsonProcessingException e) {
            throw new TokenizerException(source + " is not valid JSON: " + e.getOriginalMessage() + " (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")", e);
        } catch (TokenizerException e) {
            throw e;
        } catch (IOException e) {
            throw new TokenizerException(source + " cannot be read: " + e, e);
        }
    }

    /** Merges as {@code "a b"} lines (lines starting with "#version" skipped) or {@code ["a", "b"]} pairs. */
    private static void readMerges(JsonParser p, List<String[]> merges, String source) throws IOException {
        int index = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken(), index++) {
            if (t == JsonToken.VALUE_STRING) {
                String line = p.getText();
                if (line.startsWith("#version")) {
                    continue;
                }
                int space = line.indexOf(' ');
                if (space < 0 || line.indexOf(' ', space + 1) >= 0) {
                    throw new TokenizerException(source + ": model.merges[" + index + "]: " + OnigRegex.quote(line)
                            + " is not two tokens separated by one space");
                }
                merges.add(new String[] {line.substring(0, space), line.substring(space + 1)});
            } else if (t == JsonToken.START_ARRAY) {
                String[] pair = new String[2];
                int k = 0;
                for (JsonToken u = p.nextToken(); u != JsonToken.END_ARRAY; u = p.nextToken()) {
                    if (u != JsonToken.VALUE_STRING || k == 2) {
                        throw new TokenizerException(source + ": model.merges[" + index + "] is not a pair of "
                                + "strings");
                    }
                    pair[k++] = p.getText();
                }
                if (k != 2) {
                    throw new TokenizerException(source + ": model.merges[" + index + "] is not a pair of strings");
                }
                merges.add(pair);
            } else {
                throw new TokenizerException(source + ": model.merges[" + index + "] is neither \"a b\" nor "
                        + "[\"a\", \"b\"]");
            }
        }
    }

    /** The parts of a tokenizer, as read. */
    record Parts(BpeModel model, AddedVocabulary added, Normalizer normalizer, PreTokenizer preTokenizer,
                 PostProcessor postProcessor, Decoder decoder, String kind) {
    }

    /** Builds the components; {@link IllegalArgumentException}s carry the component's path. */
    static Parts build(Doc doc, String source) throws TokenizerException {
        try {
            return buildUnchecked(doc);
        } catch (IllegalArgumentException e) {
            throw new TokenizerException(source + ": " + e.getMessage(), e);
        }
    }

    private static Parts buildUnchecked(Doc doc) {
        JsonNode root = doc.root();
        JsonNode version = root.get("version");
        if (version != null && !version.isNull() && !"1.0".equals(version.asText())) {
            throw new IllegalArgumentException("unknown tokenizer version '" + version.asText() + "'");
        }
        if (present(root.get("truncation"))) {
            throw new IllegalArgumentException("truncation is set; encoding would cut the text, not supported");
        }
        JsonNode padding = root.get("padding");
        if (present(padding)) {
            JsonNode strategy = padding.get("strategy");
            boolean longest = strategy != null && strategy.isTextual() && strategy.asText().equals("BatchLongest");
            if (!longest || present(padding.get("pad_to_multiple_of"))) {
                throw new IllegalArgumentException("padding " + padding
                        + " would add tokens to a single encoding; not supported");
            }
        }
        Normalizer normalizer = normalizer(root.get("normalizer"), "normalizer");
        PreTokenizer pre = preTokenizer(root.get("pre_tokenizer"), "pre_tokenizer");
        BpeModel model = model(root.get("model"), doc.vocab(), doc.merges());
        AddedVocabulary added = addedTokens(root.get("added_tokens"), model, normalizer);
        PostProcessor post = postProcessor(root.get("post_processor"), "post_processor");
        Decoder decoder = decoder(root.get("decoder"), "decoder");
        checkMetaspaceFirst(pre, normalizer, added);
        String kind = containsByteLevel(pre) ? "byte-level BPE"
                : model.byteFallback() ? "BPE with byte fallback" : "BPE";
        return new Parts(model, added, normalizer, pre, post, decoder, kind);
    }

    private static boolean containsByteLevel(PreTokenizer p) {
        if (p instanceof PreTokenizer.ByteLevel) {
            return true;
        }
        if (p instanceof PreTokenizer.Sequence s) {
            return s.steps().stream().anyMatch(TokenizerJson::containsByteLevel);
        }
        return false;
    }

    /**
     * Metaspace's "first" scheme needs each piece's offset in the original text. Pieces are tracked exactly except
     * after a normalizer has changed their length and a split has then cut them: that case is refused.
     */
    private static void checkMetaspaceFirst(PreTokenizer pre, Normalizer normalizer, AddedVocabulary added) {
        if (normalizer == null || pre == null) {
            return;
        }
        List<PreTokenizer> steps = pre instanceof PreTokenizer.Sequence s ? s.steps() : List.of(pre);
        for (int k = 0; k < steps.size(); k++) {
            if (steps.get(k) instanceof PreTokenizer.Metaspace m && m.prependScheme().equals("first")
                    && (k > 0 || added.anyNormalized())) {
                throw new IllegalArgumentException("pre_tokenizer: Metaspace with prepend_scheme \"first\" after "
                        + "another split of normalized text is not supported (original offsets are not tracked)");
            }
        }
    }

    private static boolean present(JsonNode n) {
        return n != null && !n.isNull();
    }

    private static String type(JsonNode n, String where) {
        JsonNode t = n.get("type");
        if (t == null || !t.isTextual()) {
            throw new IllegalArgumentException(where + ": no \"type\"");
        }
        return t.asText();
    }

    private static JsonNode field(JsonNode n, String name, String where) {
        JsonNode f = n.get(name);
        if (f == null || f.isNull()) {
            throw new IllegalArgumentException(where + ": missing \"" + name + "\"");
        }
        return f;
    }

    private static boolean bool(JsonNode n, String name, String where) {
        JsonNode f = field(n, name, where);
        if (!f.isBoolean()) {
            throw new IllegalArgumentException(where + ": \"" + name + "\" is not a boolean");
        }
        return f.asBoolean();
    }

    private static boolean bool(JsonNode n, String name, boolean dflt, String where) {
        JsonNode f = n.get(name);
        return f == null || f.isNull() ? dflt : bool(n, name, where);
    }

    private static String text(JsonNode n, String name, String where) {
        JsonNode f = field(n, name, where);
        if (!f.isTextual()) {
            throw new IllegalArgumentException(where + ": \"" + name + "\" is not a string");
        }
        return f.asText();
    }

    private static int oneChar(String s, String where) {
        if (s.isEmpty() || s.codePointCount(0, s.length()) != 1) {
            throw new IllegalArgumentException(where + ": " + OnigRegex.quote(s) + " is not one character");
        }
        return s.codePointAt(0);
    }

    private static SplitPattern pattern(JsonNode n, String where) {
        JsonNode p = field(n, "pattern", where);
        try {
            if (p.has("String")) {
                return SplitPattern.literal(p.get("String").asText());
            }
            if (p.has("Regex")) {
                return SplitPattern.regex(p.get("Regex").asText());
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ".pattern: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException(where + ".pattern: neither {\"String\": ...} nor {\"Regex\": ...}");
    }

    private static IllegalArgumentException unsupported(String where, String what) {
        return new IllegalArgumentException(where + ": " + what + " is not supported by seer-tokenizer (it "
                + "implements the components of byte-level BPE and Metaspace BPE tokenizers: Llama 2/3, Mistral, "
                + "Qwen2 and the like)");
    }

    // ---------------------------------------------------------------------------------------------------------
    // normalizer
    // ---------------------------------------------------------------------------------------------------------

    static Normalizer normalizer(JsonNode n, String where) {
        if (!present(n)) {
            return null;
        }
        String type = type(n, where);
        return switch (type) {
            case "NFC" -> new Normalizer.Unicode(Form.NFC);
            case "NFD" -> new Normalizer.Unicode(Form.NFD);
            case "NFKC" -> new Normalizer.Unicode(Form.NFKC);
            case "NFKD" -> new Normalizer.Unicode(Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Prepend" -> new Normalizer.Prepend(text(n, "prepend", where));
            case "Replace" -> new Normalizer.Replace(pattern(n, where), text(n, "content", where));
            case "Strip" -> new Normalizer.Strip(bool(n, "strip_left", where), bool(n, "strip_right", where));
            case "Sequence" -> {
                List<Normalizer> list = new ArrayList<>();
                JsonNode items = field(n, "normalizers", where);
                for (int k = 0; k < items.size(); k++) {
                    Normalizer x = normalizer(items.get(k), where + ".normalizers[" + k + "]");
                    if (x != null) {
                        list.add(x);
                    }
                }
                yield new Normalizer.Sequence(List.copyOf(list));
            }
            default -> throw unsupported(where, "the normalizer " + type);
        };
    }

    // ---------------------------------------------------------------------------------------------------------
    // pre_tokenizer
    // ---------------------------------------------------------------------------------------------------------

    static PreTokenizer preTokenizer(JsonNode n, String where) {
        if (!present(n)) {
            return null;
        }
        String type = type(n, where);
        return switch (type) {
            case "Split" -> new PreTokenizer.Split(pattern(n, where),
                    behavior(text(n, "behavior", where), where), bool(n, "invert", where));
            case "ByteLevel" -> new PreTokenizer.ByteLevel(bool(n, "add_prefix_space", where),
                    bool(n, "use_regex", true, where));
            case "Metaspace" -> {
                String[] scheme = metaspaceScheme(n, where);
                yield new PreTokenizer.Metaspace(scheme[0], scheme[1], bool(n, "split", true, where));
            }
            case "Sequence" -> {
                List<PreTokenizer> list = new ArrayList<>();
                JsonNode items = field(n, "pretokenizers", where);
                for (int k = 0; k < items.size(); k++) {
                    PreTokenizer x = preTokenizer(items.get(k), where + ".pretokenizers[" + k + "]");
                    if (x != null) {
                        list.add(x);
                    }
                }
                yield new PreTokenizer.Sequence(List.copyOf(list));
            }
            default -> throw unsupported(where, "the pre-tokenizer " + type);
        };
    }

    private static PreTokenizer.Behavior behavior(String name, String where) {
        try {
            return PreTokenizer.Behavior.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /** {replacement, prepend scheme} of a Metaspace pre-tokenizer or decoder, legacy add_prefix_space included. */
    private static String[] metaspaceScheme(JsonNode n, String where) {
        String replacement = text(n, "replacement", where);
        oneChar(replacement, where + ".replacement");
        String scheme = n.hasNonNull("prepend_scheme") ? text(n, "prepend_scheme", where) : "always";
        if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never")) {
            throw new IllegalArgumentException(where + ": unknown prepend_scheme '" + scheme + "'");
        }
        if (n.hasNonNull("add_prefix_space") && !bool(n, "add_prefix_space", where)) {
            if (!scheme.equals("never")) {
                if (n.hasNonNull("prepend_scheme")) {
                    throw new IllegalArgumentException(where + ": add_prefix_space does not match declared "
                            + "prepend_scheme");
                }
                scheme = "never";
            }
        }
        return new String[] {replacement, scheme};
    }

    // ---------------------------------------------------------------------------------------------------------
    // model
    // ---------------------------------------------------------------------------------------------------------

    private static BpeModel model(JsonNode n, Map<String, Integer> vocab, List<String[]> merges) {
        String where = "model";
        if (!present(n)) {
            throw new IllegalArgumentException("model: missing");
        }
        String type = n.hasNonNull("type") ? text(n, "type", where) : (merges != null ? "BPE" : "?");
        if (!type.equals("BPE")) {
            throw unsupported(where, "the model " + type + " (only BPE)");
        }
        JsonNode dropout = n.get("dropout");
        if (present(dropout) && dropout.asDouble() != 0.0) {
            throw unsupported(where, "BPE dropout " + dropout + " (random encodings)");
        }
        for (String f : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            if (present(n.get(f)) && !n.get(f).asText().isEmpty()) {
                throw unsupported(where, f + " " + n.get(f));
            }
        }
        if (vocab == null) {
            throw new IllegalArgumentException("model: missing \"vocab\" (an object)");
        }
        if (merges == null) {
            throw new IllegalArgumentException("model: missing \"merges\" (an array)");
        }
        String unk = present(n.get("unk_token")) ? text(n, "unk_token", where) : null;
        try {
            return new BpeModel(vocab, merges.toArray(new String[0][]), unk, bool(n, "fuse_unk", false, where),
                    bool(n, "byte_fallback", false, where), bool(n, "ignore_merges", false, where));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model: " + e.getMessage(), e);
        }
    }

    private static AddedVocabulary addedTokens(JsonNode n, BpeModel model, Normalizer normalizer) {
        List<AddedVocabulary.AddedToken> tokens = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        if (present(n)) {
            for (int k = 0; k < n.size(); k++) {
                JsonNode t = n.get(k);
                String where = "added_tokens[" + k + "]";
                JsonNode id = field(t, "id", where);
                if (!id.canConvertToInt() || id.asInt() < 0) {
                    throw new IllegalArgumentException(where + ": id " + id + " is not a non-negative integer");
                }
                boolean special = bool(t, "special", false, where);
                tokens.add(new AddedVocabulary.AddedToken(text(t, "content", where),
                        bool(t, "single_word", false, where), bool(t, "lstrip", false, where),
                        bool(t, "rstrip", false, where), bool(t, "normalized", !special, where), special));
                ids.add(id.asInt());
            }
        }
        try {
            return new AddedVocabulary(tokens, ids.stream().mapToInt(Integer::intValue).toArray(), model,
                    normalizer);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("added_tokens: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // post_processor
    // ---------------------------------------------------------------------------------------------------------

    static PostProcessor postProcessor(JsonNode n, String where) {
        if (!present(n)) {
            return null;
        }
        String type = type(n, where);
        return switch (type) {
            case "ByteLevel" -> new PostProcessor.ByteLevel();
            case "TemplateProcessing" -> template(n, where);
            case "Sequence" -> {
                List<PostProcessor> list = new ArrayList<>();
                JsonNode items = field(n, "processors", where);
                for (int k = 0; k < items.size(); k++) {
                    PostProcessor x = postProcessor(items.get(k), where + ".processors[" + k + "]");
                    if (x != null) {
                        list.add(x);
                    }
                }
                yield new PostProcessor.Sequence(List.copyOf(list));
            }
            default -> throw unsupported(where, "the post-processor " + type);
        };
    }

    private static PostProcessor.Template template(JsonNode n, String where) {
        JsonNode specials = n.get("special_tokens");
        List<PostProcessor.Template.Item> items = new ArrayList<>();
        JsonNode single = field(n, "single", where);
        for (int k = 0; k < single.size(); k++) {
            JsonNode piece = single.get(k);
            String at = where + ".single[" + k + "]";
            if (piece.has("Sequence")) {
                String id = text(piece.get("Sequence"), "id", at);
                if (!id.equals("A")) {
                    throw new IllegalArgumentException(at + ": a single-sequence template refers to $" + id);
                }
                items.add(new PostProcessor.Template.Item(null, List.of()));
            } else if (piece.has("SpecialToken")) {
                String id = text(piece.get("SpecialToken"), "id", at);
                JsonNode sp = specials == null ? null : specials.get(id);
                if (sp == null) {
                    throw new IllegalArgumentException(at + ": special token " + OnigRegex.quote(id)
                            + " is missing from special_tokens");
                }
                JsonNode idsNode = field(sp, "ids", where + ".special_tokens." + id);
                JsonNode toksNode = field(sp, "tokens", where + ".special_tokens." + id);
                int[] ids = new int[idsNode.size()];
                List<String> toks = new ArrayList<>();
                for (int j = 0; j < ids.length; j++) {
                    ids[j] = idsNode.get(j).asInt();
                }
                for (JsonNode t : toksNode) {
                    toks.add(t.asText());
                }
                if (toks.size() != ids.length) {
                    throw new IllegalArgumentException(where + ".special_tokens." + id + ": " + ids.length
                            + " ids but " + toks.size() + " tokens");
                }
                items.add(new PostProcessor.Template.Item(ids, List.copyOf(toks)));
            } else {
                throw new IllegalArgumentException(at + ": neither Sequence nor SpecialToken");
            }
        }
        return new PostProcessor.Template(List.copyOf(items));
    }

    // ---------------------------------------------------------------------------------------------------------
    // decoder
    // ---------------------------------------------------------------------------------------------------------

    static Decoder decoder(JsonNode n, String where) {
        if (!present(n)) {
            return null;
        }
        String type = type(n, where);
        return switch (type) {
            case "ByteLevel" -> new Decoder.ByteLevel();
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Strip" -> {
                int content = oneChar(text(n, "content", where), where + ".content");
                JsonNode start = field(n, "start", where);
                JsonNode stop = field(n, "stop", where);
                if (!start.canConvertToInt() || !stop.canConvertToInt() || start.asInt() < 0 || stop.asInt() < 0) {
                    throw new IllegalArgumentException(where + ": start and stop must be non-negative integers");
                }
                yield new Decoder.Strip(content, start.asInt(), stop.asInt());
            }
            case "Replace" -> new Decoder.Replace(pattern(n, where), text(n, "content", where));
            case "Metaspace" -> {
                String[] scheme = metaspaceScheme(n, where);
                yield new Decoder.Metaspace(scheme[0].codePointAt(0), !scheme[1].equals("never"));
            }
            case "Sequence" -> {
                List<Decoder> list = new ArrayList<>();
                JsonNode items = field(n, "decoders", where);
                for (int k = 0; k < items.size(); k++) {
                    Decoder x = decoder(items.get(k), where + ".decoders[" + k + "]");
                    if (x != null) {
                        list.add(x);
                    }
                }
                yield new Decoder.Sequence(List.copyOf(list));
            }
            default -> throw unsupported(where, "the decoder " + type);
        };
    }
}
