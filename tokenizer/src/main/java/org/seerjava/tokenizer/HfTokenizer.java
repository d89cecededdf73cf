package org.seerjava.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} (BPE model), encoding and decoding as the {@code tokenizers} library
 * (0.23) does. Encoding runs the library's pipeline:
 * <ol>
 *   <li>added tokens ({@code <|begin_of_text|>}, {@code <s>}, ...) are cut out of the text
 *       ({@link AddedVocabulary});</li>
 *   <li>every other piece is normalized ({@code NFC}, Llama 2's {@code Prepend("▁") + Replace(" ", "▁")}, ...);</li>
 *   <li>the pre-tokenizer cuts pieces into words (Llama 3 / Qwen2 split regex, GPT-2 byte-level regex, Metaspace)
 *       and maps bytes to the byte-level alphabet where asked;</li>
 *   <li>the BPE model turns each word into ids (byte fallback to {@code <0xNN>} where the vocabulary has it);</li>
 *   <li>the post-processor adds the special tokens of the template (Llama's BOS) when asked.</li>
 * </ol>
 * Decoding maps ids to token strings and runs the decoder (byte-level, or Llama 2's
 * {@code Replace + ByteFallback + Fuse + Strip}). Components outside the two common styles are refused when the file
 * is loaded (see {@link TokenizerException}), never approximated.
 *
 * <p>Immutable and thread-safe.
 */
public final class HfTokenizer implements Tokenizer {
    private final BpeModel model;
    private final AddedVocabulary added;
    private final PreTokenizer preTokenizer;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final OptionalInt bos;
    private final int[] eos;
    private final String description;

    private HfTokenizer(TokenizerJson.Parts parts, OptionalInt bos, int[] eos, String source) {
        this.model = parts.model();
        this.added = parts.added();
        this.preTokenizer = parts.preTokenizer();
        this.postProcessor = parts.postProcessor();
        this.decoder = parts.decoder();
        this.bos = bos;
        this.eos = eos;
        this.description = source + " (" + parts.kind() + ", " + vocabSize() + " tokens)";
    }

    /** Special added tokens that end a text or a turn in the common chat formats, in this order. */
    static final List<String> WELL_KNOWN_EOS = List.of("</s>", "<|end_of_text|>", "<|endoftext|>", "<|eot_id|>",
            "<|eom_id|>", "<|im_end|>");

    /**
     * Loads a tokenizer.json file. The BOS is the special token the template puts before the text, if any; the EOS
     * ids are the special added tokens among {@link #WELL_KNOWN_EOS} (use {@link #loadDirectory} to read the
     * checkpoint's own configuration instead).
     *
     * @throws TokenizerException if the file is missing, larger than 64 MiB, not JSON, or uses a component this
     *                            module does not implement (the message names the file and the component)
     */
    public static HfTokenizer load(Path tokenizerJson) throws TokenizerException {
        TokenizerJson.Doc doc = TokenizerJson.readTokenizer(tokenizerJson);
        TokenizerJson.Parts parts = TokenizerJson.build(doc, "tokenizer.json " + tokenizerJson);
        return new HfTokenizer(parts, templateBos(parts), wellKnownEos(parts), tokenizerJson.toString());
    }

    /** Parses tokenizer.json text ({@code source} names it in messages). */
    public static HfTokenizer fromJson(String json, String source) throws TokenizerException {
        TokenizerJson.Parts parts = TokenizerJson.build(
                TokenizerJson.parseTokenizer(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), source), source);
        return new HfTokenizer(parts, templateBos(parts), wellKnownEos(parts), source);
    }

    /**
     * Loads {@code dir/tokenizer.json} with the checkpoint's BOS and EOS ids, taken from the first of these that
     * gives them: {@code generation_config.json} ({@code bos_token_id}, {@code eos_token_id}: a number or a list),
     * {@code config.json} (the same keys), {@code tokenizer_config.json} ({@code bos_token}, {@code eos_token}: a
     * token string or {"content": ...}). Without them the BOS is the template's leading special token and the EOS
     * ids are the special added tokens among {@link #WELL_KNOWN_EOS}.
     */
    public static HfTokenizer loadDirectory(Path dir) throws TokenizerException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("no tokenizer.json in " + dir);
        }
        TokenizerJson.Doc doc = TokenizerJson.readTokenizer(file);
        TokenizerJson.Parts parts = TokenizerJson.build(doc, "tokenizer.json " + file);
        HfTokenizer bare = new HfTokenizer(parts, OptionalInt.empty(), new int[0], file.toString());
        OptionalInt bos = OptionalInt.empty();
        int[] eos = null;
        for (String name : new String[] {"generation_config.json", "config.json"}) {
            JsonNode cfg = optionalJson(dir.resolve(name));
            if (cfg == null) {
                continue;
            }
            if (bos.isEmpty() && cfg.hasNonNull("bos_token_id")) {
                bos = OptionalInt.of(intId(cfg.get("bos_token_id"), dir.resolve(name), "bos_token_id"));
            }
            if (eos == null && cfg.hasNonNull("eos_token_id")) {
                eos = intIds(cfg.get("eos_token_id"), dir.resolve(name));
            }
        }
        JsonNode tc = optionalJson(dir.resolve("tokenizer_config.json"));
        if (tc != null) {
            if (bos.isEmpty()) {
                bos = tokenOf(bare, tc.get("bos_token"));
            }
            if (eos == null) {
                OptionalInt e = tokenOf(bare, tc.get("eos_token"));
                if (e.isPresent()) {
                    eos = new int[] {e.getAsInt()};
                }
            }
        }
        if (bos.isEmpty()) {
            bos = templateBos(parts);
        }
        return new HfTokenizer(parts, bos, eos == null ? wellKnownEos(parts) : eos, file.toString());
    }

    private static int[] wellKnownEos(TokenizerJson.Parts parts) {
        IntList out = new IntList(4);
        for (String name : WELL_KNOWN_EOS) {
            Integer id = parts.added().tokenToId(name);
            if (id != null && parts.added().isSpecial(name)) {
                out.add(id);
            }
        }
        return out.toArray();
    }

    private static OptionalInt templateBos(TokenizerJson.Parts parts) {
        int[] lead = leadingTemplateIds(parts.postProcessor());
        return lead.length == 1 ? OptionalInt.of(lead[0]) : OptionalInt.empty();
    }

    private static int[] leadingTemplateIds(PostProcessor p) {
        if (p instanceof PostProcessor.Template t) {
            return t.leadingIds();
        }
        if (p instanceof PostProcessor.Sequence s) {
            for (PostProcessor q : s.processors()) {
                int[] lead = leadingTemplateIds(q);
                if (lead.length > 0) {
                    return lead;
                }
            }
        }
        return new int[0];
    }

    private static JsonNode optionalJson(Path file) throws TokenizerException {
        return Files.isRegularFile(file) ? TokenizerJson.readJson(file, 16L << 20, file.getFileName().toString())
                : null;
    }

    private static int intId(JsonNode n, Path file, String key) throws TokenizerException {
        if (!n.canConvertToInt() || n.asInt() < 0) {
            throw new TokenizerException(file + ": " + key + " " + n + " is not a token id");
        }
        return n.asInt();
    }

    private static int[] intIds(JsonNode n, Path file) throws TokenizerException {
        if (n.isArray()) {
            int[] out = new int[n.size()];
            for (int k = 0; k < out.length; k++) {
                out[k] = intId(n.get(k), file, "eos_token_id");
            }
            return out;
        }
        return new int[] {intId(n, file, "eos_token_id")};
    }

    private static OptionalInt tokenOf(HfTokenizer t, JsonNode n) {
        if (n == null || n.isNull()) {
            return OptionalInt.empty();
        }
        String content = n.isObject() && n.hasNonNull("content") ? n.get("content").asText() : n.asText();
        return t.tokenToId(content);
    }

    // -------------------------------------------------------------------------------------------------------------

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        return encodeWithTokens(text, addSpecialTokens).ids();
    }

    /** The ids with their token strings (see {@link Encoding}). */
    public Encoding encodeWithTokens(String text, boolean addSpecialTokens) {
        List<Piece> pieces = added.extractAndNormalize(Text.wellFormed(text));
        if (preTokenizer != null) {
            pieces = preTokenizer.apply(pieces);
        }
        IntList ids = new IntList(text.length() / 3 + 8);
        List<String> tokens = new ArrayList<>(text.length() / 3 + 8);
        for (Piece p : pieces) {
            if (p.isToken()) {
                ids.add(p.tokenId());
                tokens.add(p.text());
                continue;
            }
            int from = ids.size();
            model.tokenize(p.text(), ids);
            for (int k = from; k < ids.size(); k++) {
                tokens.add(model.idToToken(ids.get(k)));
            }
        }
        if (postProcessor == null) {
            return new Encoding(ids.toArray(), tokens);
        }
        IntList outIds = new IntList(ids.size() + 4);
        List<String> outTokens = new ArrayList<>(tokens.size() + 4);
        postProcessor.process(ids, tokens, addSpecialTokens, outIds, outTokens);
        return new Encoding(outIds.toArray(), outTokens);
    }

    /**
     * For tests: the ids without special tokens and, for each, the index of the piece it came from (the library's
     * {@code word_ids}: pieces are numbered after pre-tokenization, added tokens included).
     */
    int[][] encodeWithWordIds(String text) {
        List<Piece> pieces = added.extractAndNormalize(Text.wellFormed(text));
        if (preTokenizer != null) {
            pieces = preTokenizer.apply(pieces);
        }
        IntList ids = new IntList(16);
        IntList words = new IntList(16);
        for (int w = 0; w < pieces.size(); w++) {
            Piece p = pieces.get(w);
            int from = ids.size();
            if (p.isToken()) {
                ids.add(p.tokenId());
            } else {
                model.tokenize(p.text(), ids);
            }
            for (int k = from; k < ids.size(); k++) {
                words.add(w);
            }
        }
        return new int[][] {ids.toArray(), words.toArray()};
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            String t = added.idToToken(id);
            if (t == null) {
                t = model.idToToken(id);
            }
            if (t == null || (skipSpecialTokens && added.isSpecial(t))) {
                continue;
            }
            tokens.add(t);
        }
        return decoder == null ? String.join(" ", tokens) : decoder.decode(tokens);
    }

    @Override
    public int vocabSize() {
        return model.size() + added.size() - added.overlapWith(model);
    }

    @Override
    public int maxTokenId() {
        int max = model.maxId();
        for (int id : added.tokens().keySet()) {
            max = Math.max(max, id);
        }
        return max;
    }

    @Override
    public OptionalInt bosId() {
        return bos;
    }

    @Override
    public int[] eosIds() {
        return Arrays.copyOf(eos, eos.length);
    }

    @Override
    public OptionalInt tokenToId(String token) {
        Integer id = added.tokenToId(token);
        if (id == null) {
            id = model.tokenToId(token);
        }
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public Optional<String> idToToken(int id) {
        String t = added.idToToken(id);
        return Optional.ofNullable(t != null ? t : model.idToToken(id));
    }

    /** Whether an id is an added token marked special (skipped by {@code decode(ids, true)}). */
    public boolean isSpecial(int id) {
        AddedVocabulary.AddedToken t = added.token(id);
        return t != null && added.isSpecial(t.content());
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public String toString() {
        return description;
    }
}
