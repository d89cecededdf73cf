package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint factory, the byte tokenizer and stream decoding. */
class TokenizersTest {
    @TempDir
    Path dir;

    static Path embeddedModel() {
        Path p = Path.of("..", "models", "tiny-llama-bytes");
        return Files.isDirectory(p) ? p : Path.of("models", "tiny-llama-bytes");
    }

    @Test
    void theEmbeddedModelGetsTheByteTokenizer() throws TokenizerException {
        Tokenizer t = Tokenizers.forCheckpoint(embeddedModel(), 256);
        assertThat(t).isSameAs(ByteTokenizer.instance());
        assertThat(t.encode("hé", true)).containsExactly('h', 0xC3, 0xA9);
        assertThat(t.bosId()).isEmpty();
        assertThat(t.eosIds()).isEmpty();
    }

    @Test
    void aLargerVocabularyWithoutTokenizerJsonIsRefused() throws IOException {
        assertThatThrownBy(() -> Tokenizers.forCheckpoint(dir, 32000)).isInstanceOf(TokenizerException.class)
                .hasMessage("model " + dir + " has a 32000-token vocabulary but no tokenizer.json: cannot tokenize"
                        + " text for it");
        Files.writeString(dir.resolve("tokenizer.model"), "x");
        assertThatThrownBy(() -> Tokenizers.forCheckpoint(dir, 32000)).hasMessageContaining("tokenizer.model");
        assertThatThrownBy(() -> Tokenizers.forCheckpoint(dir.resolve("nope"), 256))
                .hasMessageContaining("does not exist");
    }

    @Test
    void tokenizerJsonIsUsedWithTheCheckpointsBosAndEos() throws IOException {
        Tiny t = AddedTokensTest.ascii().special("<|begin|>").special("<|end|>").special("<|eot|>");
        Files.writeString(dir.resolve("tokenizer.json"), t.json());
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 95, \"eos_token_id\": [96, 97]}");
        Tokenizer tok = Tokenizers.forCheckpoint(dir, 128);
        assertThat(tok).isInstanceOf(HfTokenizer.class);
        assertThat(tok.bosId()).hasValue(95);
        assertThat(tok.eosIds()).containsExactly(96, 97);
        assertThat(tok.description()).contains("tokenizer.json").contains("98 tokens");
        Files.delete(dir.resolve("generation_config.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"<|begin|>\"}, \"eos_token\": \"<|eot|>\"}");
        Tokenizer tok2 = Tokenizers.forCheckpoint(dir, 128);
        assertThat(tok2.bosId()).hasValue(95);
        assertThat(tok2.eosIds()).containsExactly(97);
        assertThatThrownBy(() -> Tokenizers.forCheckpoint(dir, 97)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("ids up to 97").hasMessageContaining("97-token vocabulary");
    }

    @Test
    void byteTokenizerRoundTripsAndSkipsUnknownIds() {
        ByteTokenizer t = ByteTokenizer.instance();
        String s = "Grüße 😀\r\n\t中";
        assertThat(t.decode(t.encode(s), false)).isEqualTo(s);
        assertThat(t.decode(new int[] {'a', 300, -1, 'b'}, false)).isEqualTo("ab");
        assertThat(t.decode(new int[] {0xC3}, false)).isEqualTo("\uFFFD");
        assertThat(t.encode("\uD800")).containsExactly(0xEF, 0xBF, 0xBD);
        assertThat(t.tokenToId("<0x41>")).hasValue(0x41);
        assertThat(t.idToToken(10)).contains("<0x0A>");
    }

    @Test
    void streamDecodingReleasesWholeCharactersOnly() {
        StreamDecoder d = ByteTokenizer.instance().streamDecoder(false);
        byte[] bytes = "a😀é".getBytes(StandardCharsets.UTF_8);
        List<String> chunks = new ArrayList<>();
        for (byte b : bytes) {
            chunks.add(d.step(b & 0xFF));
        }
        assertThat(chunks).containsExactly("a", "", "", "", "😀", "", "é");
        assertThat(d.step(0xE4)).isEmpty();
        assertThat(d.step(0xB8)).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD"); // an incomplete character at the end
        assertThat(d.flush()).isEmpty();
        assertThat(d.step('z')).isEqualTo("z");
    }

    @Test
    void streamDecodingKeepsTheContextOfTheStripDecoder() {
        String m = "\u2581";
        Tiny t = new Tiny().vocab(m + "Hello", m + "world", "!").set("decoder", """
                {"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},
                 {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}""");
        HfTokenizer tok = t.build();
        StreamDecoder d = tok.streamDecoder(false);
        assertThat(d.step(t.id(m + "Hello"))).isEqualTo("Hello");
        assertThat(d.step(t.id(m + "world"))).isEqualTo(" world");
        assertThat(d.step(t.id("!"))).isEqualTo("!");
    }
}
