package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The Oniguruma-to-Java regex translation. */
class OnigRegexTest {
    static List<String> matches(String onig, String text) {
        SplitPattern p = SplitPattern.regex(onig);
        SplitPattern.Ranges r = p.findMatches(text);
        List<String> out = new java.util.ArrayList<>();
        for (int k = 0; k < r.size(); k++) {
            if (r.match(k)) {
                out.add(text.substring(r.start(k), r.end(k)));
            }
        }
        return out;
    }

    @Test
    void translationsAreExplicit() {
        assertThat(OnigRegex.translate("\\s+")).isEqualTo("[" + OnigRegex.SPACE + "]+");
        assertThat(OnigRegex.translate("[^\\s\\p{L}]")).isEqualTo("[^" + OnigRegex.SPACE + "\\p{L}]");
        assertThat(OnigRegex.translate("[\\S]")).isEqualTo("[[^" + OnigRegex.SPACE + "]]");
        assertThat(OnigRegex.translate("(?i:'s)")).isEqualTo("(?iu:'s)");
        assertThat(OnigRegex.translate("a{,3}")).isEqualTo("a{0,3}");
        assertThat(OnigRegex.translate("a{x}")).isEqualTo("a\\{x}");
        assertThat(OnigRegex.translate("\\p{Han}\\p{^L}\\P{Letter}")).isEqualTo("\\p{IsHAN}\\P{L}\\P{L}");
        assertThat(OnigRegex.translate("\\d\\w\\h\\v")).isEqualTo("[\\p{Nd}][" + OnigRegex.WORD + "][0-9a-fA-F]\\x0B");
        assertThat(OnigRegex.translate("\\xA0\\x{1F600}")).isEqualTo("\\x{A0}\\x{1F600}");
    }

    @Test
    void unicodeWhitespaceDigitsAndWordCharacters() {
        assertThat(matches("\\s+", "a \u00a0\u3000\u2028b\u001cc")).containsExactly(" \u00a0\u3000\u2028");
        assertThat(matches("\\d+", "x12٣४𝟙y½")).containsExactly("12٣४𝟙");
        assertThat(matches("\\w+", "héllo_1½ wörld")).containsExactly("héllo_1½", "wörld");
        assertThat(matches("\\p{N}+", "½²१")).containsExactly("½²१");
    }

    @Test
    void dotMatchesCarriageReturnButNotNewline() {
        assertThat(matches(".+", "a\rb\nc\u2028d")).containsExactly("a\rb", "c\u2028d");
    }

    @Test
    void emptyMatchesFollowTheOnigIteration() {
        // x* finds "xx", then the empty match right after it is skipped, then empty matches elsewhere count
        SplitPattern.Ranges r = SplitPattern.regex("x*").findMatches("xxab");
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < r.size(); k++) {
            b.append(r.start(k)).append('-').append(r.end(k)).append(r.match(k) ? "M " : "_ ");
        }
        assertThat(b.toString()).isEqualTo("0-2M 2-3_ 3-3M 3-4_ 4-4M ");
    }

    @Test
    void constructsThatDifferAreRefusedByName() {
        assertThatThrownBy(() -> OnigRegex.compile("^a")).hasMessageContaining("line anchor '^'");
        assertThatThrownBy(() -> OnigRegex.compile("\\ba")).hasMessageContaining("\\b");
        assertThatThrownBy(() -> OnigRegex.compile("[[:alpha:]]")).hasMessageContaining("POSIX bracket");
        assertThatThrownBy(() -> OnigRegex.compile("(?a)x")).hasMessageContaining("inline option 'a'");
        assertThatThrownBy(() -> OnigRegex.compile("\\p{NoSuchProperty}")).hasMessageContaining("NoSuchProperty");
    }
}
