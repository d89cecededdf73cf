package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The BPE model on vocabularies small enough to derive every encoding by hand. */
class BpeModelTest {

    @Test
    void mergesApplyInRankOrderNotTextOrder() {
        // "b c" has the best rank, so "abc" becomes a + bc, then "a bc" makes abc.
        Tiny t = new Tiny().vocab("a", "b", "c").merges("b c", "a b", "a bc");
        assertThat(t.build().encode("abc", false)).containsExactly(t.id("abc"));
        // Without "a bc", the rank-1 merge "a b" can no longer apply: a, bc.
        Tiny u = new Tiny().vocab("a", "b", "c").merges("b c", "a b");
        assertThat(u.build().encode("abc", false)).containsExactly(u.ids("a", "bc"));
        // With "a b" first, ab is formed and "b c" never sees its pair.
        Tiny v = new Tiny().vocab("a", "b", "c").merges("a b", "b c");
        assertThat(v.build().encode("abc", false)).containsExactly(v.ids("ab", "c"));
    }

    @Test
    void equalRanksMergeLeftmostFirst() {
        Tiny t = new Tiny().vocab("a").merges("a a");
        HfTokenizer tok = t.build();
        assertThat(tok.encode("aaa", false)).containsExactly(t.ids("aa", "a"));
        assertThat(tok.encode("aaaa", false)).containsExactly(t.ids("aa", "aa"));
        assertThat(tok.encode("aaaaa", false)).containsExactly(t.ids("aa", "aa", "a"));
    }

    @Test
    void mergedTokensMergeAgain() {
        Tiny t = new Tiny().vocab("a").merges("a a", "aa aa", "aaaa a");
        assertThat(t.build().encode("aaaaa", false)).containsExactly(t.id("aaaaa"));
        // seven: aa aa aa a, then aaaa aa a; "aaaa aa" is no merge
        assertThat(t.build().encode("aaaaaaa", false)).containsExactly(t.ids("aaaa", "aa", "a"));
    }

    @Test
    void ignoreMergesTakesAWholeWordFromTheVocabulary() {
        Tiny t = new Tiny().vocab("h", "e", "l", "o", "hello").merges("h e");
        assertThat(t.build().encode("hello", false)).containsExactly(t.ids("he", "l", "l", "o"));
        t.model("ignore_merges", true);
        assertThat(t.build().encode("hello", false)).containsExactly(t.id("hello"));
        assertThat(t.build().encode("hell", false)).containsExactly(t.ids("he", "l", "l"));
    }

    @Test
    void byteFallbackSpellsUnknownCharactersInUtf8Bytes() {
        Tiny t = new Tiny().vocab("<unk>").byteTokens().vocab("a").model("unk_token", "<unk>")
                .model("byte_fallback", true);
        // é = C3 A9, 中 = E4 B8 AD, 😀 = F0 9F 98 80
        assertThat(t.build().encode("aé中😀", false)).containsExactly(t.ids("a", "<0xC3>", "<0xA9>", "<0xE4>",
                "<0xB8>", "<0xAD>", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"));
    }

    @Test
    void byteFallbackNeedsEveryByteElseTheCharacterIsUnknown() {
        Tiny t = new Tiny().vocab("<unk>", "<0xC3>", "a").model("unk_token", "<unk>").model("byte_fallback", true)
                .model("fuse_unk", true);
        assertThat(t.build().encode("aéa", false)).containsExactly(t.ids("a", "<unk>", "a"));
    }

    @Test
    void unknownCharactersFuseOnlyWithFuseUnk() {
        Tiny t = new Tiny().vocab("<unk>", "a").model("unk_token", "<unk>");
        assertThat(t.build().encode("axyza", false)).containsExactly(t.ids("a", "<unk>", "<unk>", "<unk>", "a"));
        t.model("fuse_unk", true);
        assertThat(t.build().encode("axyza", false)).containsExactly(t.ids("a", "<unk>", "a"));
    }

    @Test
    void aPendingUnknownIsPlacedAfterFollowingFallbackBytesAsTheLibraryDoes() {
        // x has no token and no byte token (no <0x78>): a pending <unk>; é then falls back to bytes, which the
        // library appends before flushing the pending unknown.
        Tiny t = new Tiny().vocab("<unk>", "<0xC3>", "<0xA9>").model("unk_token", "<unk>")
                .model("byte_fallback", true).model("fuse_unk", true);
        assertThat(t.build().encode("xé", false)).containsExactly(t.ids("<0xC3>", "<0xA9>", "<unk>"));
    }

    @Test
    void withoutUnkOrFallbackUnknownCharactersAreDropped() {
        Tiny t = new Tiny().vocab("a", "b");
        assertThat(t.build().encode("a?b", false)).containsExactly(t.ids("a", "b"));
    }

    @Test
    void mergesAcrossFallbackBytesUseTheByteTokens() {
        Tiny t = new Tiny().vocab("<unk>").byteTokens().model("unk_token", "<unk>").model("byte_fallback", true)
                .merges("<0xC3> <0xA9>");
        assertThat(t.build().encode("é", false)).containsExactly(t.id("<0xC3><0xA9>"));
    }

    @Test
    void legacyMergeLinesAndPairsReadAlike() {
        Tiny legacy = new Tiny().vocab("a", "b", "c").merges("#version: 0.2", "a b", "ab c");
        Tiny pairs = new Tiny().vocab("a", "b", "c").merges("a b", "ab c");
        pairs.merges.removeAll();
        pairs.merges.add(Tiny.M.createArrayNode().add("a").add("b"));
        pairs.merges.add(Tiny.M.createArrayNode().add("ab").add("c"));
        assertThat(legacy.build().encode("abcab", false)).containsExactly(legacy.ids("abc", "ab"));
        assertThat(pairs.build().encode("abcab", false)).containsExactly(pairs.ids("abc", "ab"));
    }

    @Test
    void aMergeOutsideTheVocabularyIsRefusedWithItsRank() {
        Tiny t = new Tiny().vocab("a", "b");
        t.merges.add("a x");
        assertThatThrownBy(() -> HfTokenizer.fromJson(t.json(), "tiny")).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("merge 0").hasMessageContaining("\"x\"");
    }

    @Test
    void longWordsAreMergedWithoutTheCache() {
        Tiny t = new Tiny().vocab("a").merges("a a", "aa aa");
        String word = "a".repeat(1001);
        int[] ids = t.build().encode(word, false);
        assertThat(ids).hasSize(251);
        assertThat(ids[250]).isEqualTo(t.id("a"));
        assertThat(ids[0]).isEqualTo(t.id("aaaa"));
    }
}
