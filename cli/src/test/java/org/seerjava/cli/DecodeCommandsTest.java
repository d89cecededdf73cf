package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SeerAttention-R on the command line: {@code seer distill-decode} writes decode gates, {@code seer generate
 * --decode-gates … --token-budget} decodes with them, {@code seer eval-decode} compares bits per byte; and the
 * refusals.
 */
class DecodeCommandsTest {

    static CheckCommandTest.Run run(String... args) {
        return CheckCommandTest.run(args);
    }

    @Test
    void distilGenerateAndEvaluateWithDecodeGates(@TempDir Path dir) throws Exception {
        CheckCommandTest.Run d = run("distill-decode", "--seq-len", "512", "--rows", "64", "--windows", "2",
                "--steps", "6", "--warmup", "1", "--out", dir.toString(), "--backend", "cpu", "--no-progress");
        assertThat(d.exit()).as(d.err()).isZero();
        assertThat(d.out()).contains("distilled 6 steps", "decode-gates.safetensors");
        Path gates = dir.resolve("decode-gates.safetensors");
        assertThat(gates).exists();

        byte[] text = Files.readAllBytes(Path.of("../corpus/eval-moby.bin"));
        Path prompt = dir.resolve("prompt.txt");
        Files.write(prompt, java.util.Arrays.copyOfRange(text, 30_000, 30_400));
        CheckCommandTest.Run g = run("generate", "--prompt-file", prompt.toString(), "--max-new-tokens", "8",
                "--decode-gates", gates.toString(), "--token-budget", "128", "--backend", "cpu");
        assertThat(g.exit()).as(g.err()).isZero();
        assertThat(g.err()).contains("decode: 7 tokens", "decode attention: seer-r token budget 128");
        assertThat(g.err()).containsPattern("0\\.[0-9]{3} of the cached blocks attended");

        Path json = dir.resolve("eval.json");
        CheckCommandTest.Run e = run("eval-decode", "--decode-gates", "mine=" + gates, "--windows", "1",
                "--context", "1024", "--prompt", "512", "--budgets", "128", "--backend", "cpu", "--json",
                json.toString(), "--no-progress");
        assertThat(e.exit()).as(e.err()).isZero();
        assertThat(e.out()).contains("| dense | — (dense) | 1.000 |", "| gate:mine | 128 |", "| sink-recent | 128 |",
                "| oracle | 128 |",
                "1 windows at context 1024, prompt 512");
        assertThat(json).exists();
    }

    @Test
    void badDecodeArgumentsAreUsageErrors() {
        CheckCommandTest.Run a = run("generate", "--prompt", "a", "--token-budget", "512");
        assertThat(a.exit()).isEqualTo(Seer.USAGE);
        assertThat(a.err()).contains("--decode-gates");
        assertThat(run("generate", "--prompt", "a", "--decode-gates", "g.safetensors").exit()).isEqualTo(Seer.USAGE);
        assertThat(run("generate", "--prompt", "a", "--decode-gates", "g", "--token-budget", "512",
                "--decode-threshold", "0.1").exit()).isEqualTo(Seer.USAGE);
        assertThat(run("generate", "--prompt", "a", "--decode-gates", "g", "--token-budget", "0").exit())
                .isEqualTo(Seer.USAGE);
        CheckCommandTest.Run missing = run("generate", "--prompt", "a", "--decode-gates", "no/such.safetensors",
                "--token-budget", "512", "--backend", "cpu");
        assertThat(missing.exit()).isEqualTo(Seer.ERROR);
        assertThat(missing.err()).contains("no/such.safetensors");
        assertThat(run("distill-decode", "--steps", "5", "--warmup", "5").exit()).isEqualTo(Seer.USAGE);
        CheckCommandTest.Run tornado = run("distill-decode", "--backend", "tornado");
        assertThat(tornado.exit()).isEqualTo(Seer.USAGE);
        assertThat(tornado.err()).contains("does not implement the SeerAttention-R decode operations");
        assertThat(run("eval-decode", "--decode-gates", "nofile").exit()).isEqualTo(Seer.USAGE);
        assertThat(run("eval-decode", "--decode-gates", "a=b", "--prompt", "9000").exit()).isEqualTo(Seer.USAGE);
    }

    @Test
    void decodeCommandsCheckEveryOptionBeforeAnyWork(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        String[][] bad = {
            {"eval-decode", "--decode-gates", "a=b", "--budgets", "0"},
            {"eval-decode", "--decode-gates", "a=b", "--backend", "nosuch"},
            {"eval-decode", "--decode-gates", "a=b", "--backend", "tornado"},
            {"eval-decode", "--decode-gates", "a=b", "--json", dir.toString()},
            {"eval-decode", "--decode-gates", "a=b", "--from", "15", "--windows", "6"},
            {"eval-decode", "--decode-gates", "a=b", "--context", "64"},
            {"distill-decode", "--out", file.resolve("sub").toString()},
            {"distill-decode", "--lr", "NaN"},
            {"distill-decode", "--seq-len", "100", "--block-size", "64"},
            {"distill-decode", "--backend", "nosuch"},
        };
        for (String[] args : bad) {
            CheckCommandTest.Run r = run(args);
            assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(Seer.USAGE);
            assertThat(r.out()).as(String.join(" ", args)).isEmpty();
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("a-file");
        }
    }
}
