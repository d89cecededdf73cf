package org.seerjava.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files that cannot be used are refused with a message naming the file and what is wrong. */
class LoadingTest {
    @TempDir
    Path dir;

    static String refusal(Tiny t) {
        try {
            HfTokenizer.fromJson(t.json(), "tiny.json");
        } catch (TokenizerException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a refusal");
    }

    @Test
    void missingFileNamesThePath() {
        Path f = dir.resolve("tokenizer.json");
        assertThatThrownBy(() -> HfTokenizer.load(f)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("cannot be read");
    }

    @Test
    void anEndlessFileOrAPipeIsRefusedBeforeItIsOpened() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero");
        Path endless = Files.createSymbolicLink(dir.resolve("tokenizer.json"), Path.of("/dev/zero"));
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () ->
                assertThatThrownBy(() -> HfTokenizer.load(endless)).isInstanceOf(TokenizerException.class)
                        .hasMessageContaining(endless.toString())
                        .hasMessageContaining("is not a regular file (a device, pipe or socket)"));
        Path pipe = dir.resolve("tokenizer_config.json");
        Process mk = new ProcessBuilder("mkfifo", pipe.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "no mkfifo");
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () ->
                assertThatThrownBy(() -> TokenizerJson.readJson(pipe, 1000, "tokenizer_config.json"))
                        .isInstanceOf(TokenizerException.class).hasMessageContaining("is not a regular file"));
    }

    @Test
    void malformedJsonNamesTheFileAndThePosition() throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, "{\"version\": \"1.0\",\n \"model\": {\"vocab\": {\"a\": 0,}}}");
        assertThatThrownBy(() -> HfTokenizer.load(f)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("not valid JSON")
                .hasMessageContaining("line 2");
    }

    @Test
    void aFileOverTheSizeLimitIsRefusedBeforeReading() throws IOException {
        Path f = dir.resolve("big.json");
        Files.writeString(f, "{\"x\": \"" + "y".repeat(2000) + "\"}");
        assertThatThrownBy(() -> TokenizerJson.readJson(f, 1000, "tokenizer.json"))
                .isInstanceOf(TokenizerException.class).hasMessageContaining(f.toString())
                .hasMessageContaining("2009 bytes").hasMessageContaining("limit is 1000");
        assertThat(TokenizerJson.MAX_BYTES).isEqualTo(64L << 20);
    }

    @Test
    void unsupportedComponentsAreNamed() {
        assertThat(refusal(new Tiny().vocab("a").model("type", "WordPiece")))
                .contains("tiny.json").contains("model: the model WordPiece (only BPE) is not supported");
        assertThat(refusal(new Tiny().vocab("a").set("normalizer", "{\"type\":\"BertNormalizer\"}")))
                .contains("normalizer: the normalizer BertNormalizer is not supported");
        assertThat(refusal(new Tiny().vocab("a").set("normalizer",
                "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Precompiled\"}]}")))
                .contains("normalizer.normalizers[1]: the normalizer Precompiled");
        assertThat(refusal(new Tiny().vocab("a").set("pre_tokenizer", "{\"type\":\"Whitespace\"}")))
                .contains("pre_tokenizer: the pre-tokenizer Whitespace");
        assertThat(refusal(new Tiny().vocab("a").set("post_processor",
                "{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",0]}")))
                .contains("post_processor: the post-processor RobertaProcessing");
        assertThat(refusal(new Tiny().vocab("a").set("decoder", "{\"type\":\"WordPiece\"}")))
                .contains("decoder: the decoder WordPiece");
        assertThat(refusal(new Tiny().vocab("a").model("dropout", 0.1))).contains("dropout");
        assertThat(refusal(new Tiny().vocab("a").model("continuing_subword_prefix", "##")))
                .contains("continuing_subword_prefix");
        assertThat(refusal(new Tiny().vocab("a").set("truncation", "{\"max_length\":8}"))).contains("truncation");
        assertThat(refusal(new Tiny().vocab("a").set("padding", "{\"strategy\":{\"Fixed\":8}}"))).contains("padding");
        assertThat(refusal(new Tiny().vocab("a").set("version", "\"2.0\""))).contains("version '2.0'");
        assertThat(refusal(new Tiny().vocab("a").model("unk_token", "<unk>")))
                .contains("unk_token \"<unk>\" is not in the vocab");
        assertThat(refusal(new Tiny().vocab("a").set("pre_tokenizer",
                "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"^\\\\s\"},\"behavior\":\"Isolated\",\"invert\":false}")))
                .contains("pre_tokenizer.pattern").contains("line anchor");
    }

    @Test
    void metaspaceFirstAfterASplitOfNormalizedTextIsRefused() {
        Tiny t = new Tiny().vocab("a").set("normalizer", "{\"type\":\"NFC\"}").set("pre_tokenizer", """
                {"type":"Sequence","pretokenizers":[
                  {"type":"Split","pattern":{"String":"-"},"behavior":"Isolated","invert":false},
                  {"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first","split":false}]}""");
        assertThat(refusal(t)).contains("prepend_scheme \"first\"");
    }

    @Test
    void legacyMetaspaceAddPrefixSpaceIsRead() throws TokenizerException {
        Tiny t = new Tiny().vocab("\u2581", "a").set("pre_tokenizer",
                "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"add_prefix_space\":false}");
        assertThat(HfTokenizer.fromJson(t.json(), "t").encode("a", false)).containsExactly(t.id("a"));
        Tiny u = new Tiny().vocab("\u2581", "a").set("pre_tokenizer",
                "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"add_prefix_space\":true}");
        assertThat(HfTokenizer.fromJson(u.json(), "u").encode("a", false)).containsExactly(u.ids("\u2581", "a"));
    }
}
