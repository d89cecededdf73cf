package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DecodeEvaluate#run} on a small random byte-level model ({@link TinyByteModel}): two windows of 64 predicted
 * bytes, the first 32 prefilled, decode gates of block 16, budgets of one block and of more than the window. The
 * dense row against the independent float64 forward (decoded rows only), a budget covering the window against
 * dense, the sink-plus-recent density counted by hand, the report, its JSON and table; and the options' checks.
 */
class DecodeEvaluateTest {
    static final double LN2 = Math.log(2);
    static final int PROMPT = 32;

    @TempDir
    static Path dir;

    static TinyByteModel tiny;
    static Path gateFile;
    static DecodeEvaluate.Report report;
    static double wall;
    static String progress;

    static EvalOptions.Window window(long offset) {
        return new EvalOptions.Window(tiny.corpus, offset, 65);
    }

    /**
     * One run of the decode evaluation, then each property of its report. (One test method: PIT attributes the code run in
     * {@code @BeforeAll} to no test, and would not run the checks against a mutant of the run.)
     */
    @Test
    void evaluatesEveryDecodingMethodOnTheTinyModel() throws Exception {
        run();
        theDenseRowScoresTheDecodedBytesOnly();
        rowsInOrderAndABudgetCoveringTheWindowIsDense();
        aBudgetOfOneBlockKeepsTheCurrentBlockAndBlockZero();
        theJsonReportAndTheTable();
    }

    static void run() {
        tiny = TinyByteModel.write(dir, 31, 3000);
        gateFile = dir.resolve("decode-gates.safetensors");
        DecodeGateSet.init(DecodeGateSpec.of(tiny.dims(), 16, true), 4).save(gateFile, Map.of());
        DecodeEvaluate.Options o = new DecodeEvaluate.Options(tiny.dir, List.of(new DecodeEvaluate.NamedGates("java",
                gateFile)), List.of(window(0), window(700)), PROMPT, List.of(16, 1024), true, true, "cpu",
                dir.resolve("out/decode.json"), true);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        try {
            report = DecodeEvaluate.run(o);
        } finally {
            wall = (System.nanoTime() - t0) / 1e9;
            System.setErr(err);
        }
        progress = captured.toString(StandardCharsets.UTF_8);
    }

    private static DecodeEvaluate.Row row(String method, Integer budget) {
        return report.rows().stream().filter(x -> x.method().equals(method) && Objects.equals(x.budget(), budget))
                .findFirst().orElseThrow(() -> new AssertionError("no row " + method + " @ " + budget));
    }

    private static void theDenseRowScoresTheDecodedBytesOnly() {
        double expected = tiny.nats(tiny.tokens(0, 65), PROMPT) + tiny.nats(tiny.tokens(700, 65), PROMPT);
        DecodeEvaluate.Row dense = row("dense", null);
        assertThat(dense.bytes()).isEqualTo(2 * 32);
        assertThat(dense.nats()).isCloseTo(expected, within(1e-3));
        assertThat(dense.bitsPerByte()).isCloseTo(expected / LN2 / 64, within(1e-5));
        assertThat(dense.density()).isEqualTo(1.0);
        assertThat(dense.densityPerLayer()).containsExactly(1.0, 1.0);
    }

    private static void rowsInOrderAndABudgetCoveringTheWindowIsDense() {
        assertThat(report.rows()).extracting(r -> r.method() + "@" + r.budget()).containsExactly("dense@null",
                "gate:java@16", "oracle@16", "sink-recent@16", "gate:java@1024", "oracle@1024", "sink-recent@1024");
        DecodeEvaluate.Row dense = row("dense", null);
        for (DecodeEvaluate.Row r : report.rows()) {
            assertThat(r.bytes()).as(r.method()).isEqualTo(64);
            assertThat(r.bitsPerByte()).as(r.method()).isCloseTo(r.nats() / LN2 / 64, within(1e-12));
            assertThat(r.seconds()).as(r.method()).isPositive();
            if (r.budget() != null && r.budget() == 1024) {
                assertThat(r.density()).as(r.method()).isEqualTo(1.0);
                assertThat(r.densityPerLayer()).as(r.method()).containsExactly(1.0, 1.0);
                assertThat(r.nats()).as(r.method()).isCloseTo(dense.nats(), within(1e-3));
            }
        }
        assertThat(report.context()).isEqualTo(64);
        assertThat(report.prompt()).isEqualTo(PROMPT);
        assertThat(report.windows()).isEqualTo(2);
        assertThat(report.windowsDone()).isEqualTo(2);
        assertThat(report.gates()).containsExactly("java=" + gateFile);
        assertThat(report.model()).isEqualTo(tiny.dir.toString());
        assertThat(report.engine()).startsWith("cpu (");
        assertThat(report.seconds()).isGreaterThanOrEqualTo(
                report.rows().stream().mapToDouble(DecodeEvaluate.Row::seconds).sum()).isLessThanOrEqualTo(wall);
        assertThat(progress).contains("evaluate 100% [########################] 14/14 ");
    }

    private static void aBudgetOfOneBlockKeepsTheCurrentBlockAndBlockZero() {
        // rows 32 … 63 lie in blocks 2 and 3: 2 blocks attended of 3 or 4 cached, in every layer and KV head
        double sink = (16 * 2 + 16 * 2) / (16 * 3 + 16 * 4.0);
        DecodeEvaluate.Row s = row("sink-recent", 16);
        assertThat(s.density()).isCloseTo(sink, within(1e-15));
        assertThat(s.densityPerLayer()).containsExactly(new double[] {sink, sink}, within(1e-15));
        for (String m : List.of("gate:java", "oracle")) {
            // the block of the highest score, the current block and block 0: 2 or 3 of 3 or 4
            DecodeEvaluate.Row r = row(m, 16);
            assertThat(r.density()).as(m).isBetween(sink, (16 * 3 + 16 * 3) / 112.0);
            assertThat(r.nats()).as(m).isNotCloseTo(row("dense", null).nats(), within(1e-3));
        }
    }

    private static void theJsonReportAndTheTable() throws Exception {
        JsonNode j = JsonMapper.builder().build().readTree(dir.resolve("out/decode.json").toFile());
        assertThat(j.get("windowsDone").asInt()).isEqualTo(2);
        assertThat(j.get("prompt").asInt()).isEqualTo(PROMPT);
        assertThat(j.get("rows")).hasSize(7);
        assertThat(j.get("rows").get(1).get("bitsPerByte").asDouble()).isEqualTo(report.rows().get(1).bitsPerByte());
        assertThat(Files.readString(dir.resolve("out/decode.json"))).contains("\n  \"model\" : ");
        DecodeEvaluate.Report r = new DecodeEvaluate.Report("m", "e", 64, 32, 1, 1, List.of(), List.of(
                new DecodeEvaluate.Row("dense", null, 1.5, 1, 1, 1, new double[] {1}, 0),
                new DecodeEvaluate.Row("gate:java", 2048, 1.625, 1, 1, 0.12345, new double[] {1}, 0)), "", 0);
        assertThat(r.table()).isEqualTo("""
                | method | token budget | attended blocks | bits/byte | Δ vs dense |
                |---|---|---|---|---|
                | dense | — (dense) | 1.000 | 1.5000 | +0.0000 |
                | gate:java | 2,048 | 0.123 | 1.6250 | +0.1250 |
                """);
        DecodeEvaluate.Report denseLast = new DecodeEvaluate.Report("m", "e", 64, 32, 1, 1, List.of(), List.of(
                r.rows().get(1), r.rows().get(0)), "", 0);
        assertThat(denseLast.table()).contains("| gate:java | 2,048 | 0.123 | 1.6250 | +0.1250 |");
        Files.writeString(dir.resolve("blocker"), "a file where a folder should be");
        assertThatThrownBy(() -> DecodeEvaluate.writeJson(dir.resolve("blocker/x.json"), r))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageStartingWith("cannot write " + dir.resolve("blocker/x.json") + ": ");
    }

    @Test
    void optionsAreChecked() {
        Path m = Path.of("model");
        List<EvalOptions.Window> w = List.of(new EvalOptions.Window(Path.of("t"), 0, 65));
        String need = "evaluation needs a model and at least one window";
        assertThatThrownBy(() -> new DecodeEvaluate.Options(null, null, w, 1, null, false, false, null, null, false))
                .hasMessage(need);
        assertThatThrownBy(() -> new DecodeEvaluate.Options(m, null, null, 1, null, false, false, null, null, false))
                .hasMessage(need);
        assertThatThrownBy(() -> new DecodeEvaluate.Options(m, null, List.of(), 1, null, false, false, null, null,
                false)).hasMessage(need);
        for (int prompt : new int[] {0, 64}) {
            assertThatThrownBy(() -> new DecodeEvaluate.Options(m, null, w, prompt, null, false, false, null, null,
                    false)).hasMessage("the prompt (" + prompt + " bytes) must be at least 1 byte and shorter than the"
                    + " context (64)");
        }
        assertThatThrownBy(() -> new DecodeEvaluate.Options(m, null, w, 1, List.of(4, 0), false, false, null, null,
                false)).hasMessage("token budgets must be ≥ 1, got 0");
        DecodeEvaluate.Options a = new DecodeEvaluate.Options(m, null, w, 63, List.of(1), false, false, null, null,
                false);
        assertThat(a.engine()).isEqualTo("auto");
        assertThat(a.gates()).isEmpty();
        assertThat(new DecodeEvaluate.Options(m, null, w, 1, null, false, false, "cpu", null, false).budgets())
                .isEmpty();
        List<Integer> budgets = new ArrayList<>(List.of(8));
        DecodeEvaluate.Options b = new DecodeEvaluate.Options(m, null, w, 1, budgets, false, false, "cpu", null,
                false);
        budgets.add(9);
        assertThat(b.budgets()).containsExactly(8);
        assertThat(b.engine()).isEqualTo("cpu");
        for (String name : new String[] {null, " "}) {
            assertThatThrownBy(() -> new DecodeEvaluate.NamedGates(name, Path.of("g")))
                    .hasMessage("named decode gates need a name and a file");
        }
        assertThatThrownBy(() -> new DecodeEvaluate.NamedGates("a", null))
                .hasMessage("named decode gates need a name and a file");
    }

    @Test
    void aModelThatDoesNotReadBytesIsRefused() throws Exception {
        TinyByteModel tiny = TinyByteModel.write(dir.resolve("refused"), 31, 100);
        Path other = dir.resolve("vocab300");
        Files.createDirectories(other);
        Files.writeString(other.resolve("config.json"), tiny.checkpoint.config.deepCopy().put("vocab_size", 300)
                .toString());
        assertThatThrownBy(() -> DecodeEvaluate.run(new DecodeEvaluate.Options(other, null, List.of(
                new EvalOptions.Window(tiny.corpus, 0, 65)), 8,
                null, false, false, "cpu", null, false)))
                .hasMessageStartingWith("eval-decode: model " + other + " has a 300-token vocabulary");
    }
}
