package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Pre-tokenizers and the translated split regexes, on strings whose pieces follow from the patterns by hand. */
class PreTokenizerTest {
    static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    static List<String> split(PreTokenizer p, String text) {
        return Tiny.texts(p.apply(List.of(Piece.text(text, true))));
    }

    static List<String> llama3(String text) {
        return split(new PreTokenizer.Split(SplitPattern.regex(LLAMA3), PreTokenizer.Behavior.ISOLATED, false),
                text);
    }

    @Test
    void llama3SplitsDigitsInRunsOfAtMostThree() {
        assertThat(llama3("12345 1234567")).containsExactly("123", "45", " ", "123", "456", "7");
        assertThat(split(new PreTokenizer.Split(SplitPattern.regex(QWEN2), PreTokenizer.Behavior.ISOLATED, false),
                "2026")).containsExactly("2", "0", "2", "6");
    }

    @Test
    void llama3ContractionsAreCaseInsensitiveIncludingUnicodeFolds() {
        assertThat(llama3("it's IT'S we'RE")).containsExactly("it", "'s", " IT", "'S", " we", "'RE");
        // U+017F LATIN SMALL LETTER LONG S case-folds to s: 'ſ is a contraction, as 'S is
        assertThat(llama3("x'\u017ft")).containsExactly("x", "'\u017f", "t");
        assertThat(llama3("X'St")).containsExactly("X", "'S", "t");
    }

    @Test
    void llama3WhitespaceRunsLeaveTheLastSpaceToTheNextWord() {
        assertThat(llama3("a  b")).containsExactly("a", " ", " b");
        assertThat(llama3("a   ")).containsExactly("a", "   ");
        assertThat(llama3("\t\tx")).containsExactly("\t", "\tx");
        assertThat(llama3("a\r\nb")).containsExactly("a", "\r\n", "b");
        assertThat(llama3("a \n\n b")).containsExactly("a", " \n\n", " b");
        assertThat(llama3("x!!\n\ny")).containsExactly("x", "!!\n\n", "y");
    }

    @Test
    void unicodeWhitespaceIsWhitespace() {
        // NBSP and the ideographic space are White_Space: they join the following word like a space.
        assertThat(llama3("a\u00a0b")).containsExactly("a", "\u00a0b");
        assertThat(llama3("a\u3000\u3000b")).containsExactly("a", "\u3000", "\u3000b");
        // U+001C is not White_Space (Java's Character.isWhitespace says it is): it is punctuation here.
        assertThat(llama3("a \u001c b")).containsExactly("a", " \u001c", " b");
    }

    @Test
    void lettersIncludeAllScriptsButNotCombiningMarks() {
        assertThat(llama3("中文abc")).containsExactly("中文abc");
        assertThat(llama3("e\u0301t\u00e9")).containsExactly("e", "\u0301t\u00e9");
        assertThat(llama3("😀😀 x")).containsExactly("😀😀", " x");
    }

    @Test
    void splitBehaviors() {
        SplitPattern dash = SplitPattern.literal("-");
        String s = "a-b--c";
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.REMOVED, false), s))
                .containsExactly("a", "b", "c");
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.ISOLATED, false), s))
                .containsExactly("a", "-", "b", "-", "-", "c");
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.MERGED_WITH_PREVIOUS, false), s))
                .containsExactly("a-", "b-", "-", "c");
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.MERGED_WITH_NEXT, false), s))
                .containsExactly("a", "-b", "-", "-c");
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.CONTIGUOUS, false), s))
                .containsExactly("a", "-", "b", "--", "c");
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.REMOVED, true), s))
                .containsExactly("-", "-", "-");
        assertThat(split(new PreTokenizer.Split(dash, PreTokenizer.Behavior.MERGED_WITH_PREVIOUS, true), s))
                .containsExactly("a", "-b", "-", "-c");
    }

    @Test
    void byteLevelMapsBytesAndOptionallyAddsAPrefixSpace() {
        assertThat(split(new PreTokenizer.ByteLevel(false, true), "Hello world!"))
                .containsExactly("Hello", "Ġworld", "!");
        assertThat(split(new PreTokenizer.ByteLevel(true, true), "Hello world"))
                .containsExactly("ĠHello", "Ġworld");
        assertThat(split(new PreTokenizer.ByteLevel(true, true), " Hello")).containsExactly("ĠHello");
        assertThat(split(new PreTokenizer.ByteLevel(false, false), "é\n x")).containsExactly("Ã©ĊĠx");
        assertThat(split(new PreTokenizer.ByteLevel(false, true), "don't  stop"))
                .containsExactly("don", "'t", "Ġ", "Ġstop");
    }

    @Test
    void metaspaceReplacesSpacesPrependsAndSplits() {
        String m = "\u2581";
        assertThat(split(new PreTokenizer.Metaspace(m, "always", true), "Hey friend!"))
                .containsExactly(m + "Hey", m + "friend!");
        assertThat(split(new PreTokenizer.Metaspace(m, "always", true), "Hey   friend"))
                .containsExactly(m + "Hey", m, m, m + "friend");
        assertThat(split(new PreTokenizer.Metaspace(m, "always", false), "Hey friend"))
                .containsExactly(m + "Hey" + m + "friend");
        assertThat(split(new PreTokenizer.Metaspace(m, "never", false), "Hey")).containsExactly("Hey");
        PreTokenizer first = new PreTokenizer.Metaspace(m, "first", false);
        assertThat(Tiny.texts(first.apply(List.of(Piece.text("a b", true), new Piece("<s>", 1, false),
                Piece.text("c", false))))).containsExactly(m + "a" + m + "b", "<s>", "c");
    }

    @Test
    void sequenceAppliesStepsToEachOthersPieces() {
        PreTokenizer seq = new PreTokenizer.Sequence(List.of(
                new PreTokenizer.Split(SplitPattern.regex(LLAMA3), PreTokenizer.Behavior.ISOLATED, false),
                new PreTokenizer.ByteLevel(false, false)));
        assertThat(split(seq, "Hi 12345 é")).containsExactly("Hi", "Ġ", "123", "45", "ĠÃ©");
    }
}
