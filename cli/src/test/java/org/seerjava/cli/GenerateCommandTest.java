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

    @Test
    void aModelWhoseTextCannotBeTokenizedIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 32000}""");
        CheckCommandTest.Run g = run("generate", "--model", dir.toString(), "--prompt", "hello");
        assertThat(g.exit()).isEqualTo(Seer.ERROR);
        assertThat(g.err()).contains("32000-token vocabulary", "no tokenizer.json", "cannot tokenize");
        CheckCommandTest.Run d = run("distill", "--model", dir.toString(), "--steps", "1", "--no-progress");
        assertThat(d.exit()).isEqualTo(Seer.ERROR);
        assertThat(d.err()).contains("distill", "32000-token vocabulary", "bytes");
        CheckCommandTest.Run e = run("eval", "--model", dir.toString(), "--windows", "1", "--no-progress");
        assertThat(e.exit()).isEqualTo(Seer.ERROR);
        assertThat(e.err()).contains("eval", "32000-token vocabulary");
    }
}
