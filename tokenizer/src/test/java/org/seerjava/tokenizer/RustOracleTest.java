package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Random strings against the Rust {@code tokenizers} library itself (0.21, through DJL's JNI binding, a test-only
 * dependency whose jar carries the native library): for every fixture tokenizer.json, a few thousand strings drawn
 * with a fixed seed from scripts, whitespace, digits, marks, emoji and special-token strings. Compared: the ids with
 * and without special tokens, the word ids (which piece of the pre-tokenization each token came from, so a split
 * in a different place shows even where the ids agree), and both decodings; plus decodings of random id sequences.
 * Skips, saying why, where the native library cannot be loaded.
 */
class RustOracleTest {
    static final int STRINGS = 1500;

    /** Code point ranges assigned for many Unicode versions (so that both libraries' tables agree). */
    static final int[][] RANGES = {
        {0x20, 0x7E}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x3FF}, {0x400, 0x4FF}, {0x591, 0x5F4},
        {0x600, 0x6FF}, {0x900, 0x97F}, {0xE00, 0xE5B}, {0x1E00, 0x1EFF}, {0x2000, 0x206F}, {0x20A0, 0x20BF},
        {0x2100, 0x214F}, {0x2190, 0x22FF}, {0x3000, 0x30FF}, {0x4E00, 0x4FFF}, {0xAC00, 0xACFF},
        {0xFF00, 0xFFEF}, {0x1D400, 0x1D7FF}, {0x1F300, 0x1F64F}};

    static final String[] ATOMS = {" ", " ", " ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "'s", "'S", "'ll",
        "'\u017f", "123", "4567", "e\u0301", "\u200d", "\ufe0f", "\u2581", "\u0120", "<s>", "</s>", "<unk>",
        "<|begin_of_text|>", "<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<tool_call>", "<mask>", "[INST]",
        "hello world", "Hello World", "ell", "--", "the", " the", "ing"};

    static String randomString(SplittableRandom r) {
        int n = 1 + r.nextInt(r.nextInt(4) == 0 ? 60 : 16);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int kind = r.nextInt(10);
            if (kind < 3) {
                b.append(ATOMS[r.nextInt(ATOMS.length)]);
            } else if (kind < 6) {
                b.append((char) (kind == 3 ? '0' + r.nextInt(10) : 'a' + r.nextInt(26)));
            } else {
                int[] range = RANGES[r.nextInt(RANGES.length)];
                int cp = range[0] + r.nextInt(range[1] - range[0] + 1);
                if (Character.isDefined(cp) && Character.getType(cp) != Character.PRIVATE_USE) {
                    b.appendCodePoint(cp);
                }
            }
        }
        return b.toString();
    }

    static long[] longs(int[] a) {
        return Arrays.stream(a).asLongStream().toArray();
    }

    @TestFactory
    Stream<DynamicTest> randomStringsEncodeAsTheRustLibrary() throws IOException {
        Path fixtures = HfFixturesTest.fixtures();
        return HfFixturesTest.names().stream().map(name -> DynamicTest.dynamicTest(name, () -> {
            Path json = fixtures.resolve(name).resolve("tokenizer.json");
            HuggingFaceTokenizer rust = rust(json);
            HfTokenizer ours = HfTokenizer.load(json);
            List<String> bad = new ArrayList<>();
            SplittableRandom r = new SplittableRandom(20261204L + name.hashCode());
            for (int i = 0; i < STRINGS; i++) {
                String s = randomString(r);
                String where = name + " string " + i + " " + OnigRegex.quote(s);
                var withSpecial = rust.encode(s, true, false);
                var plain = rust.encode(s, false, false);
                int[][] idsWords = ours.encodeWithWordIds(s);
                check(bad, where + " ids", withSpecial.getIds(), longs(ours.encode(s, true)));
                check(bad, where + " ids without special tokens", plain.getIds(), longs(idsWords[0]));
                check(bad, where + " word ids", plain.getWordIds(), longs(idsWords[1]));
                long[] ids = withSpecial.getIds();
                int[] intIds = Arrays.stream(ids).mapToInt(x -> (int) x).toArray();
                check(bad, where + " decode", rust.decode(ids, false), ours.decode(intIds, false));
                check(bad, where + " decode skipping special tokens", rust.decode(ids, true), ours.decode(intIds, true));
                if (bad.size() > 20) {
                    break;
                }
            }
            int limit = ours.maxTokenId() + 3;
            for (int i = 0; i < 300; i++) {
                int[] ids = r.ints(1 + r.nextInt(8), 0, limit).toArray();
                check(bad, name + " decode of " + Arrays.toString(ids), rust.decode(longs(ids), false),
                        ours.decode(ids, false));
            }
            assertThat(bad).as(bad.size() + " differences from the Rust library; the first ones")
                    .isEmpty();
        }));
    }

    private static HuggingFaceTokenizer rust(Path json) throws IOException {
        try {
            return HuggingFaceTokenizer.newInstance(json, Map.of());
        } catch (Throwable e) {
            String why = "the Rust tokenizers library (DJL JNI) cannot be loaded here: " + e;
            System.out.println("RustOracleTest skipped: " + why);
            Assumptions.abort(why);
            throw new AssertionError(e);
        }
    }

    private static void check(List<String> bad, String what, Object want, Object got) {
        boolean same = want instanceof long[] a && got instanceof long[] b ? Arrays.equals(a, b) : want.equals(got);
        if (!same) {
            bad.add(what + ": expected " + (want instanceof long[] a ? Arrays.toString(a) : OnigRegex.quote(
                    (String) want)) + ", got " + (got instanceof long[] b ? Arrays.toString(b) : OnigRegex.quote(
                    (String) got)));
        }
    }
}
