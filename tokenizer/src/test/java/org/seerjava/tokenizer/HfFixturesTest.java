package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Equality with the Hugging Face {@code tokenizers} library (0.23.2), on the fixtures written by
 * {@code tokenizer/scripts/make_fixtures.py} (see {@code src/test/resources/hf-fixtures/README.md}): for every
 * tokenizer.json there and every case string, the ids with and without special tokens, the decoded text with and
 * without skipping special tokens, the token strings and the DecodeStream chunks of the lines and edge cases, and
 * the decodings of random id sequences.
 */
class HfFixturesTest {
    static final ObjectMapper M = new ObjectMapper();

    static Path fixtures() {
        try {
            return Path.of(Objects.requireNonNull(HfFixturesTest.class.getResource("/hf-fixtures/cases.json"),
                    "hf-fixtures/cases.json is missing from the test resources").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode read(Path file) throws IOException {
        try (InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(file))
                : Files.newInputStream(file)) {
            return M.readTree(in);
        }
    }

    static List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(fixtures())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("expected-"))
                    .map(n -> n.substring("expected-".length()).replaceAll("\\.json(\\.gz)?$", "")).sorted()
                    .toList();
        }
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    @Test
    void theFixturesCoverBothStylesAndEnoughText() throws IOException {
        assertThat(names()).contains("llama3-style", "qwen2-style", "llama2-style", "mistral-style");
        JsonNode cases = read(fixtures().resolve("cases.json")).get("cases");
        int chars = 0;
        for (JsonNode c : cases) {
            chars += c.get("text").asText().length();
        }
        assertThat(cases.size()).isGreaterThan(400);
        assertThat(chars).isGreaterThan(10_000);
    }

    @Test
    void bosAndEosComeFromTheCheckpointFiles() throws IOException {
        Path f = fixtures();
        // generation_config.json: an EOS list (end_of_text, eom_id, eot_id)
        HfTokenizer llama3 = HfTokenizer.loadDirectory(f.resolve("llama3-style"));
        assertThat(llama3.bosId()).hasValue(2600);
        assertThat(llama3.eosIds()).containsExactly(2601, 2608, 2609);
        assertThat(llama3.idToToken(2609)).contains("<|eot_id|>");
        // Qwen2 has no BOS at all
        HfTokenizer qwen2 = HfTokenizer.loadDirectory(f.resolve("qwen2-style"));
        assertThat(qwen2.bosId()).isEmpty();
        assertThat(qwen2.eosIds()).containsExactly(2602, 2600);
        // tokenizer_config.json only: token strings
        HfTokenizer gpt2 = HfTokenizer.loadDirectory(f.resolve("gpt2-addedflags"));
        assertThat(gpt2.bosId()).hasValue(2600);
        assertThat(gpt2.eosIds()).containsExactly(2601);
        HfTokenizer llama2 = HfTokenizer.loadDirectory(f.resolve("llama2-style"));
        assertThat(llama2.bosId()).hasValue(1);
        assertThat(llama2.eosIds()).containsExactly(2);
        // no configuration: the template's BOS (none here) and the well-known special tokens
        HfTokenizer bare = HfTokenizer.loadDirectory(f.resolve("metaspace-unk"));
        assertThat(bare.bosId()).isEmpty();
        assertThat(bare.eosIds()).containsExactly(2);
        HfTokenizer file = HfTokenizer.load(f.resolve("llama3-style").resolve("tokenizer.json"));
        assertThat(file.bosId()).hasValue(2600);
        assertThat(file.eosIds()).containsExactly(2601, 2609, 2608);
    }

    @TestFactory
    Stream<DynamicTest> encodingsAndDecodingsEqualTheLibrarys() throws IOException {
        JsonNode cases = read(fixtures().resolve("cases.json")).get("cases");
        return names().stream().map(name -> DynamicTest.dynamicTest(name, () -> check(name, cases)));
    }

    private static void check(String name, JsonNode cases) throws IOException {
        Path dir = fixtures().resolve(name);
        Path exp = Files.exists(fixtures().resolve("expected-" + name + ".json"))
                ? fixtures().resolve("expected-" + name + ".json")
                : fixtures().resolve("expected-" + name + ".json.gz");
        JsonNode expected = read(exp);
        HfTokenizer tok = HfTokenizer.loadDirectory(dir);
        List<String> bad = new ArrayList<>();
        assertThat(tok.vocabSize()).as(name + " vocab size").isEqualTo(expected.get("vocab_size_with_added").asInt());
        JsonNode rows = expected.get("cases");
        assertThat(rows.size()).isEqualTo(cases.size());
        for (int i = 0; i < rows.size(); i++) {
            String text = cases.get(i).get("text").asText();
            String where = name + " case " + i + " (" + cases.get(i).get("kind").asText() + ") "
                    + OnigRegex.quote(text.length() > 60 ? text.substring(0, 60) + "..." : text);
            JsonNode row = rows.get(i);
            int[] ids = ints(row.get("ids"));
            compare(bad, where + " ids", ids, tok.encode(text, true));
            compare(bad, where + " ids without special tokens", ints(row.get("ids_plain")), tok.encode(text, false));
            String decoded = row.get("decoded").isNull() ? text : row.get("decoded").asText();
            String decodedSkip = row.get("decoded_skip").isNull() ? decoded : row.get("decoded_skip").asText();
            compare(bad, where + " decode", decoded, tok.decode(ids, false));
            compare(bad, where + " decode skipping special tokens", decodedSkip, tok.decode(ids, true));
            if (row.has("tokens")) {
                List<String> tokens = new ArrayList<>();
                row.get("tokens").forEach(t -> tokens.add(t.asText()));
                compare(bad, where + " tokens", tokens, tok.encodeWithTokens(text, false).tokens());
            }
            for (String key : new String[] {"stream", "stream_skip"}) {
                if (row.has(key)) {
                    StreamDecoder d = tok.streamDecoder(key.equals("stream_skip"));
                    List<String> want = new ArrayList<>();
                    List<String> got = new ArrayList<>();
                    for (int k = 0; k < ids.length; k++) {
                        JsonNode w = row.get(key).get(k);
                        want.add(w.isNull() ? "" : w.asText());
                        got.add(d.step(ids[k]));
                    }
                    compare(bad, where + " " + key, want, got);
                }
            }
            if (row.has("stream_error")) {
                bad.add(where + ": the library's DecodeStream failed (" + row.get("stream_error").asText() + ")");
            }
        }
        JsonNode decodes = expected.get("decodes");
        for (int i = 0; i < decodes.size(); i++) {
            JsonNode row = decodes.get(i);
            int[] ids = ints(row.get("ids"));
            String where = name + " decode " + i + " " + Arrays.toString(ids);
            compare(bad, where, row.get("decoded").asText(), tok.decode(ids, false));
            compare(bad, where + " skipping special tokens", row.get("decoded_skip").asText(), tok.decode(ids, true));
        }
        expected.get("token_to_id").fields().forEachRemaining(e -> compare(bad, name + " token_to_id " + e.getKey(),
                e.getValue().isNull() ? null : e.getValue().asInt(),
                tok.tokenToId(e.getKey()).isPresent() ? tok.tokenToId(e.getKey()).getAsInt() : null));
        expected.get("id_to_token").fields().forEachRemaining(e -> compare(bad, name + " id_to_token " + e.getKey(),
                e.getValue().isNull() ? null : e.getValue().asText(),
                tok.idToToken(Integer.parseInt(e.getKey())).orElse(null)));
        expected.get("specials").fields().forEachRemaining(e -> compare(bad, name + " added token " + e.getKey(),
                e.getValue().asInt(), tok.tokenToId(e.getKey()).orElse(-1)));
        if (!bad.isEmpty()) {
            throw new AssertionError(bad.size() + " differences from the Hugging Face library in " + name
                    + "; the first ones:\n" + String.join("\n", bad.subList(0, Math.min(12, bad.size()))));
        }
    }

    private static void compare(List<String> bad, String what, Object want, Object got) {
        boolean same = want instanceof int[] a && got instanceof int[] b ? Arrays.equals(a, b) : Objects.equals(want,
                got);
        if (!same) {
            bad.add(what + ":\n    expected " + show(want) + "\n    actual   " + show(got));
        }
    }

    private static String show(Object o) {
        if (o instanceof int[] a) {
            return Arrays.toString(a);
        }
        if (o instanceof String s) {
            return OnigRegex.quote(s);
        }
        if (o instanceof List<?> l) {
            return l.stream().map(x -> x == null ? "null" : OnigRegex.quote(x.toString())).toList().toString();
        }
        return String.valueOf(o);
    }
}
