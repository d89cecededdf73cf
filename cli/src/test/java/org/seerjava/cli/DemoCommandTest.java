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

/**
 * {@code seer demo} through the real entry point, its table checked against values computed independently: the
 * dense bits per byte of the first 1,024 bytes of eval-moby.bin against the embedded model's golden logits, every
 * row against a re-run outside the command, the speed-up against the printed round times (dense time ÷ row time).
 */
class DemoCommandTest {
    static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();
    static final Path MODEL = PROJECT.resolve("models/tiny-llama-bytes");

    @Test
    void demoWritesAReportWhoseNumbersAReproducedByAReRun(@TempDir Path home) throws Exception {
        Path out = home.resolve("report");
        CheckCommandTest.Run r = runIn(home, "demo", "--model", MODEL.toString(),
                "--train-text", PROJECT.resolve("corpus/train-excerpt.bin").toString(),
                "--eval-text", PROJECT.resolve("corpus/eval-moby.bin").toString(),
                "--context", "1024", "--offset", "0", "--steps", "6", "--windows", "2", "--seq-len", "256",
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
                0, 1025);
        int[] input = Arrays.copyOf(tokens, 1024);
        int[] targets = Arrays.copyOfRange(tokens, 1, 1025);
        // the dense row against the golden float32 logits of the model (computed outside Java)
        assertThat(rows.get(0).get("bitsPerByte").asDouble()).isCloseTo(GoldenBits.denseFirst1024(PROJECT),
                within(2e-4));
        assertSpeedUpsMatchTheRounds(r.out(), rows);
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

        // A second run reuses the cached gates; with one timed run the speed-up is exactly dense time ÷ row time.
        CheckCommandTest.Run again = runIn(home, "demo", "--model", MODEL.toString(),
                "--train-text", PROJECT.resolve("corpus/train-excerpt.bin").toString(),
                "--eval-text", PROJECT.resolve("corpus/eval-moby.bin").toString(), "--context", "512",
                "--steps", "6", "--windows", "2", "--seq-len", "256", "--densities", "0.5", "--seed", "5",
                "--runs", "1", "--backend", "cpu", "--no-progress", "--out", out.toString());
        assertThat(again.exit()).isZero();
        assertThat(again.out()).contains("distilled earlier, cached in");
        JsonNode once = new ObjectMapper().readTree(out.resolve("report.json").toFile()).get("rows");
        assertThat(once).hasSize(2);
        assertThat(once.get(0).get("speedup").asDouble()).isEqualTo(1.0);
        assertThat(once.get(1).get("speedup").asDouble()).isCloseTo(
                once.get(0).get("seconds").asDouble() / once.get(1).get("seconds").asDouble(), within(1e-12));
    }

    /**
     * Each row's speed-up is the median over the rounds of dense time ÷ row time, recomputed from the round times
     * the command printed (3 decimals, so within what that rounding can move a ratio).
     */
    static void assertSpeedUpsMatchTheRounds(String printed, JsonNode rows) {
        java.util.List<double[]> rounds = new java.util.ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("round \\d+/\\d+:((?: [0-9.]+)+) s").matcher(printed);
        while (m.find()) {
            rounds.add(Arrays.stream(m.group(1).trim().split(" ")).mapToDouble(Double::parseDouble).toArray());
        }
        assertThat(rounds).hasSize(5);
        for (int row = 0; row < rows.size(); row++) {
            double[] ratios = new double[rounds.size()];
            double slack = 0;
            for (int i = 0; i < rounds.size(); i++) {
                double dense = rounds.get(i)[0];
                double t = rounds.get(i)[row];
                ratios[i] = dense / t;
                slack = Math.max(slack, ratios[i] * (0.0005 / dense + 0.0005 / t));
            }
            Arrays.sort(ratios);
            double median = ratios[ratios.length / 2];
            assertThat(rows.get(row).get("speedup").asDouble()).as("speed-up of row %d", row)
                    .isCloseTo(median, within(slack + 1e-9));
        }
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
