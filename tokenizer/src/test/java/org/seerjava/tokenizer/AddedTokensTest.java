package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Added tokens: matching before the model, the flags, ids, decoding of special tokens. */
class AddedTokensTest {
    /** Character-level vocabulary of printable ASCII: every character is its own token, no merges. */
    static Tiny ascii() {
        Tiny t = new Tiny();
        for (char c = ' '; c <= '~'; c++) {
            t.vocab(String.valueOf(c));
        }
        return t;
    }

    static List<String> tokens(HfTokenizer t, String text) {
        return t.encodeWithTokens(text, false).tokens();
    }

    @Test
    void specialTokensAreCutOutBeforeTheModelLongestFirst() {
        Tiny t = ascii().special("<s>").special("<s>>");
        HfTokenizer tok = t.build();
        assertThat(tokens(tok, "a<s>b<s>>c<s")).containsExactly("a", "<s>", "b", "<s>>", "c", "<", "s");
        int s = tok.tokenToId("<s>").getAsInt();
        assertThat(s).isEqualTo(95); // the first id after the 95 ASCII tokens
        assertThat(tok.encode("<s><s>", false)).containsExactly(s, s);
    }

    @Test
    void lstripAndRstripSwallowNeighbouringWhitespace() {
        HfTokenizer tok = ascii().added("<m>", true, false, true, false, false)
                .added("<r>", true, false, false, true, false).build();
        assertThat(tokens(tok, "a  <m>  b")).containsExactly("a", "  <m>", " ", " ", "b");
        assertThat(tokens(tok, "a  <r>  b")).containsExactly("a", " ", " ", "<r>  ", "b");
    }

    @Test
    void singleWordTokensMatchOnlyBetweenNonWordCharacters() {
        HfTokenizer tok = ascii().added("ell", false, true, false, false, true).build();
        assertThat(tokens(tok, "ell hello ell.")).containsExactly("ell", " ", "h", "e", "l", "l", "o", " ", "ell",
                ".");
    }

    @Test
    void normalizedTokensMatchTheNormalizedText() {
        Tiny t = ascii().set("normalizer", "{\"type\":\"Lowercase\"}")
                .added("hello world", false, true, false, false, false).special("<S>");
        HfTokenizer tok = t.build();
        // "Hello World" is lowercased before the normalized token is looked for; "<S>" is matched in the raw text
        assertThat(tokens(tok, "Hello World<S>")).containsExactly("hello world", "<S>");
        assertThat(tokens(tok, "<s>")).containsExactly("<", "s", ">");
    }

    @Test
    void decodingANormalizedTokenGivesItsNormalizedForm() {
        HfTokenizer tok = ascii().set("normalizer", "{\"type\":\"Lowercase\"}")
                .added("Hi There", false, true, false, false, false).build();
        int id = tok.tokenToId("Hi There").getAsInt();
        assertThat(tok.encode("hi there", false)).containsExactly(id);
        assertThat(tok.decode(new int[] {id}, false)).isEqualTo("hi there");
        assertThat(tok.idToToken(id)).contains("hi there");
    }

    @Test
    void skipSpecialTokensDropsOnlySpecialOnes() {
        HfTokenizer tok = ascii().special("<s>").added("<t>", false, false, false, false, false).build();
        int[] ids = tok.encode("<s>a<t>", false);
        assertThat(tok.decode(ids, false)).isEqualTo("<s> a <t>"); // no decoder: tokens joined by spaces
        assertThat(tok.decode(ids, true)).isEqualTo("a <t>");
        assertThat(tok.isSpecial(ids[0])).isTrue();
        assertThat(tok.isSpecial(ids[2])).isFalse();
    }

    @Test
    void aTokenAlreadyInTheVocabularyKeepsItsId() {
        Tiny t = new Tiny().vocab("<unk>", "<s>", "a").special("<s>").special("<x>");
        HfTokenizer tok = t.build();
        assertThat(tok.tokenToId("<s>")).hasValue(1);
        assertThat(tok.tokenToId("<x>")).hasValue(3);
        assertThat(tok.vocabSize()).isEqualTo(4); // <s> is counted once
        assertThat(tok.maxTokenId()).isEqualTo(3);
    }

    @Test
    void idsAreAssignedAsTheLibraryDoesWhateverTheFileSays() {
        // "a" is in the vocab (id 0) whatever the file says; <x> and <y> take 1 and 2, in file order
        Tiny t = new Tiny().vocab("a").special("<x>").special("a").special("<y>");
        ((com.fasterxml.jackson.databind.node.ObjectNode) t.added.get(0)).put("id", 7);
        ((com.fasterxml.jackson.databind.node.ObjectNode) t.added.get(1)).put("id", 8);
        ((com.fasterxml.jackson.databind.node.ObjectNode) t.added.get(2)).put("id", 9);
        HfTokenizer tok = t.build();
        assertThat(tok.tokenToId("<x>")).hasValue(1);
        assertThat(tok.tokenToId("a")).hasValue(0);
        assertThat(tok.tokenToId("<y>")).hasValue(2);
        assertThat(tok.encode("<y>a<x>", false)).containsExactly(2, 0, 1);
    }

    @Test
    void templateAddsBosOnlyWithSpecialTokens() {
        Tiny t = ascii().special("<s>").special("</s>");
        t.set("post_processor", """
                {"type":"TemplateProcessing",
                 "single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
                           {"SpecialToken":{"id":"</s>","type_id":0}}],
                 "pair":[],
                 "special_tokens":{"<s>":{"id":"<s>","ids":[95],"tokens":["<s>"]},
                                   "</s>":{"id":"</s>","ids":[96],"tokens":["</s>"]}}}""");
        HfTokenizer tok = t.build();
        assertThat(tok.encode("ab", true)).containsExactly(95, t.id("a"), t.id("b"), 96);
        assertThat(tok.encode("ab", false)).containsExactly(t.id("a"), t.id("b"));
        assertThat(tok.encode("", true)).containsExactly(95, 96);
        assertThat(tok.bosId()).hasValue(95);
    }

    @Test
    void unpairedSurrogatesEncodeAsTheReplacementCharacter() {
        Tiny t = ascii().vocab("\uFFFD");
        HfTokenizer tok = t.build();
        assertThat(tok.encode("a\uD800b\uDC00", false)).containsExactly(t.ids("a", "\uFFFD", "b", "\uFFFD"));
    }
}
