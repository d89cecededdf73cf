package org.seerjava.tests.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.tokenizer.HfTokenizer;
import org.seerjava.tokenizer.TokenizerException;

/**
 * The tokenizer.json loader under mutated files: a tokenizer that then encodes and decodes a mixed text, or a
 * {@link TokenizerException} naming the source. Never another type, an {@link OutOfMemoryError} or a hang.
 */
class TokenizerFuzzTest {
    static final Path FIXTURES = Path.of("../tokenizer/src/test/resources/hf-fixtures");

    static final String TEXT = "Call me Ishmael. Some years ago — never mind how long precisely — 1,024 ¥ 🐋\n\tend";

    @Test
    void mutatedTokenizerJson(@TempDir Path dir) throws Exception {
        String[] seeds = {
                Files.readString(FIXTURES.resolve("llama3-style/tokenizer.json")),
                Files.readString(FIXTURES.resolve("llama2-style/tokenizer.json")),
                Files.readString(FIXTURES.resolve("gpt2-addedflags/tokenizer.json"))};
        int[] loaded = new int[1];
        Fuzz.run("tokenizer-load", 200, Duration.ofSeconds(90), dir, (random, i) -> {
            String json = mutate(new Mutator(random), seeds[random.nextInt(seeds.length)], random.nextInt(4));
            try {
                HfTokenizer t = HfTokenizer.fromJson(json, "fuzz/tokenizer.json");
                loaded[0]++;
                int[] ids = t.encode(TEXT);
                t.decode(ids, false);
            } catch (TokenizerException e) {
                Fuzz.documented(e, "fuzz/tokenizer.json", TokenizerException.class);
            } catch (AssertionError e) {
                Fuzz.keep("tokenizer-load", i, json.getBytes(StandardCharsets.UTF_8));
                throw e;
            }
        });
        assertThat(loaded[0]).as("tokenizers loaded").isGreaterThan(20);
    }

    /** Mutations of the small parts (the pipeline around the vocabulary), or of the whole text. */
    static String mutate(Mutator m, String json, int where) {
        int vocab = json.indexOf("\"vocab\"");
        if (where == 0 || vocab < 0) {
            return m.json(json);
        }
        return m.json(json.substring(0, vocab)) + json.substring(vocab);
    }
}
