package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Decoders and the UTF-8 rules they rely on. */
class DecoderTest {
    static byte[] b(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    @Test
    void lossyDecodingReplacesEachMaximalInvalidSubsequence() {
        assertThat(Text.decodeLossy(b('a', 0xC3, 0xA9))).isEqualTo("aé");
        assertThat(Text.decodeLossy(b('a', 0xC3))).isEqualTo("a\uFFFD");
        assertThat(Text.decodeLossy(b(0xF0, 0x9F, 0x98))).isEqualTo("\uFFFD"); // a truncated emoji: one
        assertThat(Text.decodeLossy(b(0xF0, 0x9F, 0x98, 'x'))).isEqualTo("\uFFFDx");
        assertThat(Text.decodeLossy(b(0xE0, 0x80, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD"); // overlong
        assertThat(Text.decodeLossy(b(0xED, 0xA0, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD"); // a surrogate
        assertThat(Text.decodeLossy(b(0xC0, 0xAF))).isEqualTo("\uFFFD\uFFFD");
        assertThat(Text.decodeLossy(b(0xF4, 0x90, 0x80, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
        assertThat(Text.decodeLossy(b(0xE2, 0x82, 'x', 0xFF))).isEqualTo("\uFFFDx\uFFFD");
        assertThat(Text.decodeLossy("😀中".getBytes(StandardCharsets.UTF_8))).isEqualTo("😀中");
    }

    @Test
    void strictDecodingTellsAGenuineReplacementCharacterFromAnInvalidByte() {
        assertThat(Text.decodeStrict(b(0xEF, 0xBF, 0xBD), 0, 3)).isEqualTo("\uFFFD");
        assertThat(Text.decodeStrict(b(0xC3), 0, 1)).isNull();
    }

    @Test
    void byteLevelDecoderReassemblesBytesAcrossTokens() {
        Decoder d = new Decoder.ByteLevel();
        assertThat(d.decode(List.of("Hello", "Ġw", "Ã", "©", "Ċ"))).isEqualTo("Hello wé\n");
        assertThat(d.decode(List.of("Ã"))).isEqualTo("\uFFFD");
        // a token with a character outside the alphabet contributes its own UTF-8
        assertThat(d.decode(List.of("<|eot|>", "中"))).isEqualTo("<|eot|>中");
    }

    @Test
    void byteFallbackDecoderJoinsByteRunsAndReplacesInvalidOnesPerByte() {
        Decoder d = new Decoder.ByteFallback();
        assertThat(d.decodeChain(List.of("a", "<0xC3>", "<0xA9>", "b"))).containsExactly("a", "é", "b");
        assertThat(d.decodeChain(List.of("<0xC3>", "<0x41>"))).containsExactly("\uFFFD", "\uFFFD");
        assertThat(d.decodeChain(List.of("<0x+A>", "<0x0A>"))).containsExactly("\n\n");
        assertThat(d.decodeChain(List.of("<0xZZ>", "<0x4>"))).containsExactly("<0xZZ>", "<0x4>");
    }

    @Test
    void llama2DecoderChain() {
        Decoder d = new Decoder.Sequence(List.of(new Decoder.Replace(SplitPattern.literal("\u2581"), " "),
                new Decoder.ByteFallback(), new Decoder.Fuse(), new Decoder.Strip(' ', 1, 0)));
        assertThat(d.decode(List.of("\u2581Hello", "\u2581world", "<0x21>"))).isEqualTo("Hello world!");
        assertThat(d.decode(List.of("\u2581\u2581x"))).isEqualTo(" x"); // only one leading space stripped
        assertThat(d.decode(List.of())).isEqualTo("");
    }

    @Test
    void metaspaceDecoderDropsTheFirstReplacementUnlessTheSchemeIsNever() {
        assertThat(new Decoder.Metaspace('\u2581', true).decode(List.of("\u2581a", "\u2581b"))).isEqualTo("a b");
        assertThat(new Decoder.Metaspace('\u2581', false).decode(List.of("\u2581a", "\u2581b")))
                .isEqualTo(" a b");
    }

    @Test
    void stripDecoderCountsCharacters() {
        assertThat(new Decoder.Strip('x', 2, 1).decodeChain(List.of("xxxaxx", "ab"))).containsExactly("xax", "ab");
    }
}
