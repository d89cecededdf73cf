package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code seer generate} on the embedded model, and the refusals of generate, distill and eval. */
class GenerateCommandTest {

    static CheckCommandTest.Run run(String... args) {
        return CheckCommandTest.run(args);
    }

    @Test
    void generatesOnTheEmbeddedDefaultsDeterministically() {
        CheckCommandTest.Run a = run("generate", "--prompt", "Call me Ishmael.", "--max-new-tokens", "24",
                "--backend", "cpu");
        assertThat(a.exit()).as(a.err()).isZero();
        assertThat(a.out().strip()).isNotEmpty();
        assertThat(a.err()).contains("prefill: 16 tokens", "attention dense", "decode: 23 tokens", "tokens/s",
                "stopped: max tokens", "memory: weights");
        CheckCommandTest.Run b = run("generate", "--prompt", "Call me Ishmael.", "--max-new-tokens", "24",
                "--backend", "cpu");
        assertThat(b.out()).isEqualTo(a.out());
    }

    @Test
    void seerAttentionPrefillFromAFile(@TempDir Path dir) throws Exception {
        byte[] text = Files.readAllBytes(Path.of("../corpus/eval-moby.bin"));
        Path prompt = dir.resolve("prompt.txt");
        Files.write(prompt, java.util.Arrays.copyOfRange(text, 20_000, 20_700));
        CheckCommandTest.Run r = run("generate", "--prompt-file", prompt.toString(), "--max-new-tokens", "8",
                "--gates", "../models/tiny-llama-bytes/reference-gates/attn_gate_weights.safetensors",
                "--density", "0.2", "--backend", "cpu", "--temperature", "0.7", "--top-p", "0.9", "--seed", "3",
                "--bandwidth-bound");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("attention seer top-k 0.2", "temperature 0.7, top-p 0.9, seed 3", "bound: ");
        assertThat(r.err()).containsPattern("density 0\\.[0-4][0-9]{2}");
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(run("generate", "--max-new-tokens", "4").exit()).isEqualTo(Seer.USAGE);
        assertThat(run("generate", "--prompt", "a", "--prompt-file", "b").exit()).isEqualTo(Seer.USAGE);
        CheckCommandTest.Run d = run("generate", "--prompt", "a", "--density", "0.2");
        assertThat(d.exit()).isEqualTo(Seer.USAGE);
        assertThat(d.err()).contains("--gates");
        assertThat(run("generate", "--prompt", "a", "--gates", "g.safetensors").exit()).isEqualTo(Seer.USAGE);
        CheckCommandTest.Run t = run("generate", "--prompt", "a", "--temperature", "-1");
        assertThat(t.exit()).isEqualTo(Seer.USAGE);
        assertThat(t.err()).contains("temperature");
        assertThat(run("generate", "--prompt", "", "--max-new-tokens", "4").exit()).isEqualTo(Seer.USAGE);
        assertThat(run("generate", "--prompt", "a", "--max-new-tokens", "0").exit()).isEqualTo(Seer.USAGE);
        CheckCommandTest.Run missing = run("generate", "--prompt", "a", "--model", "no/such/dir");
        assertThat(missing.exit()).isEqualTo(Seer.ERROR);
        assertThat(missing.err()).contains("no/such/dir");
    }

    /**
     * A Llama-3-style checkpoint with random weights and a tokenizer.json (the tokenizer module's fixture, trained
     * with the Hugging Face library): the prompt is BPE-encoded with BOS, text streams out, and generation stops
     * at an end-of-sequence id or the token limit.
     */
    @Test
    void aCheckpointWithATokenizerJsonGenerates(@TempDir Path dir) throws Exception {
        org.seerjava.model.LlamaConfig c = new org.seerjava.model.LlamaConfig("LlamaForCausalLM", 64, 96, 2, 4, 2, 16,
                1e-5, 2624, false, false, 512, org.seerjava.reference.RopeConfig.of(500000, 16));
        org.seerjava.runtime.RandomWeights.writeCheckpoint(new org.seerjava.runtime.ModelShape("tiny-bpe", c), 5, dir);
        Path fixture = Path.of("../tokenizer/src/test/resources/hf-fixtures/llama3-style");
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
            Files.copy(fixture.resolve(f), dir.resolve(f));
        }
        CheckCommandTest.Run r = run("generate", "--model", dir.toString(), "--prompt", "Call me Ishmael.",
                "--max-new-tokens", "12", "--backend", "cpu", "--temperature", "1", "--seed", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("tokenizer: ", "decode: ");
        assertThat(r.err()).containsPattern("prefill: ([4-9]|1[0-9]) tokens"); // BPE pieces + BOS, not 16 bytes
    }

    @Test
    void aModelWhoseTextCannotBeTokenizedIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 32000}""");
        CheckCommandTest.Run g = run("generate", "--model", dir.toString(), "--prompt", "hello");
        assertThat(g.exit()).isEqualTo(Seer.ERROR);
        assertThat(g.err()).contains("32000-token vocabulary", "no tokenizer.json", "cannot tokenize");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": ");
        CheckCommandTest.Run bad = run("generate", "--model", dir.toString(), "--prompt", "hello");
        assertThat(bad.exit()).isEqualTo(Seer.ERROR);
        assertThat(bad.err()).contains("tokenizer.json");
        CheckCommandTest.Run d = run("distill", "--model", dir.toString(), "--steps", "1", "--no-progress");
        assertThat(d.exit()).isEqualTo(Seer.ERROR);
        assertThat(d.err()).contains("distill", "32000-token vocabulary", "bytes");
        CheckCommandTest.Run e = run("eval", "--model", dir.toString(), "--windows", "1", "--no-progress");
        assertThat(e.exit()).isEqualTo(Seer.ERROR);
        assertThat(e.err()).contains("eval", "32000-token vocabulary");
    }
}
