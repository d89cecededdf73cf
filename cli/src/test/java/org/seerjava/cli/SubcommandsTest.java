package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engines;

/** distill, eval, bench and inspect through the real entry point: exit codes, output, bad arguments. */
class SubcommandsTest {
    static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();

    static CheckCommandTest.Run run(String... args) {
        return CheckCommandTest.run(args);
    }

    @Test
    void distillWritesGatesAndReportsTheLoss(@TempDir Path out) throws Exception {
        CheckCommandTest.Run r = run("distill", "--steps", "3", "--seq-len", "256", "--batch", "2", "--windows", "2",
                "--backend", "cpu", "--no-progress", "--out", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("distilled 3 steps in [0-9.]+ s: loss ([0-9.]+) -> ([0-9.]+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(out.resolve("gates.safetensors")).exists();
        // the printed losses are the first and last of history.json, one entry per step
        JsonNode history = new ObjectMapper().readTree(out.resolve("history.json").toFile()).get("history");
        assertThat(history).hasSize(3);
        assertThat(m.group(1)).isEqualTo(String.format(java.util.Locale.ROOT, "%.4f", history.get(0).get("loss").asDouble()));
        assertThat(m.group(2)).isEqualTo(String.format(java.util.Locale.ROOT, "%.4f", history.get(2).get("loss").asDouble()));
        for (int i = 0; i < 3; i++) {
            assertThat(history.get(i).get("step").asInt()).isEqualTo(i);
            assertThat(history.get(i).get("loss").asDouble()).isPositive().isFinite();
        }

        CheckCommandTest.Run inspect = run("inspect", "--stats", out.resolve("gates.safetensors").toString());
        assertThat(inspect.exit()).isZero();
        assertThat(inspect.out()).contains("model.layers.3.self_attn.attn_gate.mask_linear_k.weight", "F32",
                "[6, 192, 64]", "gate_type = Qavg_Kmaxminavg");
    }

    @Test
    void distillRejectsBadOptions() {
        CheckCommandTest.Run steps = run("distill", "--steps", "0", "--no-progress");
        assertThat(steps.exit()).isEqualTo(Seer.USAGE);
        assertThat(steps.err()).contains("--steps must be at least 1, got 0");
        CheckCommandTest.Run type = run("distill", "--gate-type", "Kavgmax", "--steps", "1", "--no-progress");
        assertThat(type.exit()).isEqualTo(Seer.USAGE);
        assertThat(type.err()).contains("--gate-type: unknown gate type 'Kavgmax'");
        assertThat(run("distill", "--lr", "fast").exit()).isEqualTo(Seer.USAGE);
    }

    @Test
    void aDefaultWarmUpLongerThanTheStepsIsClippedAndTheRunTrains(@TempDir Path out) throws Exception {
        CheckCommandTest.Run r = run("distill", "--steps", "2", "--seq-len", "128", "--batch", "1", "--windows", "1",
                "--backend", "cpu", "--no-progress", "--out", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("warm-up clipped to 0 steps");
        // With the default warm-up of 20 the learning rate of both steps would be 0 and the gates their init.
        JsonNode history = new ObjectMapper().readTree(out.resolve("history.json").toFile()).get("history");
        assertThat(history.get(0).get("lr").asDouble()).isEqualTo(1e-3);
        ModelDims dims;
        try (LlamaModel m = LlamaModel.load(PROJECT.resolve("models/tiny-llama-bytes"))) {
            dims = ModelDims.of(m.config());
        }
        GateSet trained = GateSet.load(out.resolve("gates.safetensors"), dims);
        GateSet init = GateSet.init(trained.spec(), 0);
        assertThat(trained.layer(0).wk()).isNotEqualTo(init.layer(0).wk());
    }

    @Test
    void anExplicitWarmUpNotShorterThanTheStepsIsRefused() {
        CheckCommandTest.Run r = run("distill", "--steps", "5", "--warmup", "5", "--no-progress");
        assertThat(r.exit()).isEqualTo(Seer.USAGE);
        assertThat(r.err()).contains("--warmup 5 must be less than --steps 5");
    }

    @Test
    void evalPrintsEveryRow(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("eval.json");
        CheckCommandTest.Run r = run("eval", "--windows", "1", "--context", "1024", "--densities", "0.5",
                "--backend", "cpu", "--no-progress", "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("| dense |", "| gate:reference | 0.5 |", "| oracle | 0.5 |", "| sink-local | 0.5 |",
                "1 windows at context 1024");
        JsonNode rows = new ObjectMapper().readTree(json.toFile()).get("rows");
        java.util.Map<String, JsonNode> byMethod = new java.util.HashMap<>();
        rows.forEach(row -> byMethod.put(row.get("method").asText(), row));
        assertThat(byMethod).containsKeys("dense", "gate:reference", "oracle", "sink-local");
        // window 1 is the first 1,025 bytes of eval-moby.bin: the dense row against the golden logits
        double golden = GoldenBits.denseFirst1024(PROJECT);
        assertThat(byMethod.get("dense").get("bitsPerByte").asDouble()).isCloseTo(golden,
                org.assertj.core.api.Assertions.within(2e-4));
        assertThat(byMethod.get("dense").get("bytes").asLong()).isEqualTo(1024);
        // the sparse rows: near the target density, bits per byte near dense (not a dense or an empty attention)
        for (String method : new String[] {"gate:reference", "oracle", "sink-local"}) {
            JsonNode row = byMethod.get(method);
            assertThat(row.get("bitsPerByte").asDouble()).as(method).isBetween(golden - 0.05, golden + 1.0);
            assertThat(row.get("realisedDensity").asDouble()).as(method).isBetween(0.3, 0.7);
        }
    }

    @Test
    void evalInPartsMergesToTheWholeCrossEntropy(@TempDir Path dir) throws Exception {
        Path[] part = {dir.resolve("part0.json"), dir.resolve("part1.json")};
        for (int i = 0; i < 2; i++) {
            CheckCommandTest.Run r = run("eval", "--from", Integer.toString(i), "--windows", "1", "--context", "256",
                    "--densities", "0.5", "--no-oracle", "--no-sink-local", "--backend", "cpu", "--no-progress",
                    "--json", part[i].toString());
            assertThat(r.exit()).as(r.err()).isZero();
        }
        Path all = dir.resolve("all.json");
        CheckCommandTest.Run merged = run("eval", "--merge", part[0] + "," + part[1], "--json", all.toString());
        assertThat(merged.exit()).as(merged.err()).isZero();
        assertThat(merged.out()).contains("| dense |", "2 windows merged from 2 reports");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode a = json.readTree(part[0].toFile()).get("rows").get(0);
        com.fasterxml.jackson.databind.JsonNode b = json.readTree(part[1].toFile()).get("rows").get(0);
        com.fasterxml.jackson.databind.JsonNode m = json.readTree(all.toFile()).get("rows").get(0);
        assertThat(a.get("nats").asDouble()).isNotEqualTo(b.get("nats").asDouble());   // two different windows
        double bits = (a.get("nats").asDouble() + b.get("nats").asDouble()) / Math.log(2)
                / (a.get("bytes").asLong() + b.get("bytes").asLong());
        assertThat(m.get("bitsPerByte").asDouble()).isCloseTo(bits, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void evalRejectsBadOptions() {
        CheckCommandTest.Run past = run("eval", "--from", "19", "--windows", "2", "--no-progress");
        assertThat(past.exit()).isEqualTo(Seer.USAGE);
        assertThat(past.err()).contains("--from 19 with --windows 2 goes past the 20 windows");
        CheckCommandTest.Run gates = run("eval", "--gates", "nofile", "--no-progress");
        assertThat(gates.exit()).isEqualTo(Seer.USAGE);
        assertThat(gates.err()).contains("--gates must be NAME=FILE");
        CheckCommandTest.Run windows = run("eval", "--windows", "30", "--no-progress");
        assertThat(windows.exit()).isEqualTo(Seer.USAGE);
        assertThat(windows.err()).contains("--windows must be in [1, 20]");
        CheckCommandTest.Run density = run("eval", "--densities", "2", "--windows", "1", "--no-progress");
        assertThat(density.exit()).isEqualTo(Seer.USAGE);
        assertThat(density.err()).contains("--densities must be in (0, 1], got 2.0");
    }

    @Test
    void benchOnTheCpuPrintsATable() {
        CheckCommandTest.Run r = run("bench", "--sizes", "128", "--densities", "1,0.5", "--heads", "2", "--reps", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("GFLOP/s (dense-eq)").containsPattern("\\s+128\\s+1\\.000\\s+[0-9.]+");
    }

    @Test
    void benchOnCudaWithoutAGpuIsAClearError() {
        String reason = Engines.providers().stream().filter(p -> p.name().equals("cuda")).findFirst()
                .map(p -> p.unavailableReason()).orElse("no cuda provider");
        org.junit.jupiter.api.Assumptions.assumeTrue(reason != null, "a GPU is present; the no-GPU path is not testable here");
        CheckCommandTest.Run r = run("bench", "--backend", "cuda");
        assertThat(r.exit()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains("backend 'cuda' is not available here");
        assertThat(run("bench", "--reps", "0").exit()).isEqualTo(Seer.USAGE);
        assertThat(run("bench", "--sizes", "x").exit()).isEqualTo(Seer.USAGE);
    }

    @Test
    void inspectOfACorruptFileNamesIt(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[]{(byte) 200, 0, 0, 0, 0, 0, 0, 0, '{'});
        CheckCommandTest.Run r = run("inspect", bad.toString());
        assertThat(r.exit()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains("bad.safetensors").doesNotContain("\tat ");
        assertThat(run("inspect").exit()).isEqualTo(Seer.USAGE);
    }

    @Test
    void topLevelHelpListsEveryCommand() {
        CheckCommandTest.Run r = run("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("demo", "distill", "eval", "bench", "check", "inspect");
        assertThat(run("--version").out()).contains("seer-java");
    }
}
