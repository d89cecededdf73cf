package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.DistillationTrainer;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/** {@code seer demo} through the real entry point, and its table checked against an independent re-run. */
class DemoCommandTest {
    static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();
    static final Path MODEL = PROJECT.resolve("models/tiny-llama-bytes");

    @Test
    void demoWritesAReportWhoseNumbersAReproducedByAReRun(@TempDir Path home) throws Exception {
        Path out = home.resolve("report");
        CheckCommandTest.Run r = runIn(home, "demo", "--model", MODEL.toString(),
                "--train-text", PROJECT.resolve("corpus/train-excerpt.bin").toString(),
                "--eval-text", PROJECT.resolve("corpus/eval-moby.bin").toString(),
                "--context", "512", "--offset", "4096", "--steps", "6", "--windows", "2", "--seq-len", "256",
                "--densities", "0.5,0.2", "--layer", "1", "--head", "3", "--backend", "cpu", "--seed", "5",
                "--no-progress", "--out", out.toString());
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("dense", "seer top-k 0.50", "seer top-k 0.20", "report:");
        for (String png : new String[]{"attention-map.png", "gate-scores.png", "selected-blocks.png", "loss-curve.png"}) {
            assertThat(out.resolve(png)).exists();
            assertThat(Files.readAllBytes(out.resolve(png))).startsWith(0x89, 'P', 'N', 'G');
        }
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).contains("<table>", "bits per byte", "median of 5 runs");
        // Self-contained: the four pictures inlined, no link to a file beside it, no absolute path.
        assertThat(html.split("src=\"data:image/png;base64,", -1)).hasSize(5);
        assertThat(html).doesNotContain("src=\"attention-map.png\"", PROJECT.toString(), home.toString());
        assertThat(r.out()).contains("round 5/5:");

        JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        JsonNode rows = report.get("rows");
        assertThat(rows).hasSize(3);

        // Re-run: the cached gates, the same passage, the same selections, outside the command.
        Path gateFile;
        try (var entries = Files.list(home.resolve("work/gates"))) {
            gateFile = entries.filter(p -> p.getFileName().toString().startsWith("steps6-seq256-win2-seed5-"))
                    .findFirst().orElseThrow().resolve("gates.safetensors");
        }
        assertThat(gateFile).exists();
        Engine engine = Engines.byName("cpu");
        int[] tokens = DistillationTrainer.tokens(DistillationTrainer.readCorpus(PROJECT.resolve("corpus/eval-moby.bin")),
                4096, 513);
        int[] input = Arrays.copyOf(tokens, 512);
        int[] targets = Arrays.copyOfRange(tokens, 1, 513);
        try (LlamaModel m = LlamaModel.load(MODEL)) {
            GateSet gates = GateSet.load(gateFile, ModelDims.of(m.config()));
            double dense = Metrics.bitsPerByte(m.forward(input, AttentionPolicy.dense(engine)), targets);
            // Same numbers up to float rounding: Vector API code may round differently before and after the JIT.
            assertThat(rows.get(0).get("bitsPerByte").asDouble()).isCloseTo(dense, within(1e-5));
            double[] densities = {0.5, 0.2};
            for (int i = 0; i < densities.length; i++) {
                SeerAttentionPolicy policy = SeerAttentionPolicy.gate(engine, gates, densities[i]);
                double bpb = Metrics.bitsPerByte(m.forward(input, policy), targets);
                JsonNode row = rows.get(i + 1);
                assertThat(row.get("bitsPerByte").asDouble()).isCloseTo(bpb, within(1e-5));
                assertThat(row.get("density").asDouble()).isCloseTo(policy.density(), within(1e-12));
                assertThat(row.get("seconds").asDouble()).isPositive()
                        .isBetween(row.get("minSeconds").asDouble(), row.get("maxSeconds").asDouble());
            }
        }

        // A second run reuses the cached gates.
        CheckCommandTest.Run again = runIn(home, "demo", "--model", MODEL.toString(),
                "--train-text", PROJECT.resolve("corpus/train-excerpt.bin").toString(),
                "--eval-text", PROJECT.resolve("corpus/eval-moby.bin").toString(), "--context", "512",
                "--steps", "6", "--windows", "2", "--seq-len", "256", "--densities", "0.5", "--seed", "5",
                "--backend", "cpu", "--no-progress", "--out", out.toString());
        assertThat(again.exit()).isZero();
        assertThat(again.out()).contains("distilled earlier, cached in");
    }

    @Test
    void demoRejectsBadArguments(@TempDir Path home) {
        CheckCommandTest.Run density = runIn(home, "demo", "--model", MODEL.toString(), "--densities", "1.5");
        assertThat(density.exit()).isEqualTo(Seer.USAGE);
        assertThat(density.err()).contains("--densities must be in (0, 1], got 1.5");
        CheckCommandTest.Run context = runIn(home, "demo", "--context", "abc");
        assertThat(context.exit()).isEqualTo(Seer.USAGE);
        CheckCommandTest.Run model = runIn(home, "demo", "--model", home.resolve("missing").toString(),
                "--eval-text", PROJECT.resolve("corpus/eval-moby.bin").toString());
        assertThat(model.exit()).isEqualTo(Seer.ERROR);
        assertThat(model.err()).contains("missing");
    }

    static CheckCommandTest.Run runIn(Path home, String... args) {
        String old = System.getProperty("seer.home");
        try {
            System.setProperty("seer.home", home.toString());
            return CheckCommandTest.runNoHome(args);
        } finally {
            System.setProperty("seer.home", old == null ? ".." : old);
        }
    }
}
