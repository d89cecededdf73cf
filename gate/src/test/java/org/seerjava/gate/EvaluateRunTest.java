package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateType;

/**
 * {@link Evaluate#run} on a small random byte-level model ({@link TinyByteModel}): two windows of 64 predicted bytes
 * (4 blocks of 16), gates of block 16, the oracle and sink-plus-local at densities 1 and 0.5, the copy test on the
 * first window. Each figure of the report is checked against a computation made here: the dense row and the copy
 * test against the independent float64 forward and a cross-entropy written out, the realised densities against the
 * masks counted by hand, density 1 against dense attention (every causal block kept), and the report of both
 * windows against the {@link Evaluate#merge merged} reports of each window alone.
 */
class EvaluateRunTest {
    static final double LN2 = Math.log(2);
    static final int COPY_FROM = 4;
    static final int COPY_LENGTH = 16;

    @TempDir
    static Path dir;

    static TinyByteModel tiny;
    static Path gateFile;
    static EvalOptions.Window first;
    static EvalOptions.Window second;
    static Evaluate.Report report;
    static double wall;
    static String progress;
    static JsonNode json;

    static EvalOptions options(List<EvalOptions.Window> windows, int copyWindows, Path jsonOut, boolean progress) {
        return new EvalOptions(tiny.dir, List.of(new EvalOptions.NamedGates("java", gateFile)), windows,
                List.of(1.0, 0.5), true, true, copyWindows, COPY_LENGTH, COPY_FROM, "cpu", jsonOut, progress);
    }

    /**
     * One run of the evaluation, then each property of its report. (One test method: PIT attributes the code run in
     * {@code @BeforeAll} to no test, and would not run the checks against a mutant of the run.)
     */
    @Test
    void evaluatesEveryMethodOfTheReportOnTheTinyModel() throws Exception {
        run();
        theReportHasOneRowPerMethodAndDensityInOrder();
        theDenseRowIsTheFloat64ForwardPass();
        theCopyTestRepeatsThePassageAtTheWindowsEndAndScoresTheRepeatOnly();
        densityOneKeepsEveryCausalBlockAndEqualsDense();
        densityOneHalfKeepsTheBlocksOfItsRule();
        theReportOfBothWindowsIsTheMergeOfEachWindowAlone();
        theJsonReportIsTheLastReportAndTheProgressCountsEveryForwardPass();
    }

    static void run() throws Exception {
        tiny = TinyByteModel.write(dir, 11, 4096);
        gateFile = dir.resolve("gates.safetensors");
        GateSet.init(tiny.dims().spec(GateType.DEFAULT, 16, 8), 3).save(gateFile, Map.of());
        first = new EvalOptions.Window(tiny.corpus, 0, 65);
        second = new EvalOptions.Window(tiny.corpus, 1000, 65);
        Path jsonOut = dir.resolve("reports/eval.json");                   // the folder does not exist yet
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        try {
            report = Evaluate.run(options(List.of(first, second), 1, jsonOut, true));
        } finally {
            wall = (System.nanoTime() - t0) / 1e9;
            System.setErr(err);
        }
        progress = captured.toString(StandardCharsets.UTF_8);
        json = JsonMapper.builder().build().readTree(jsonOut.toFile());
    }

    private static Evaluate.Row row(Evaluate.Report r, String method, Double density) {
        return r.rows().stream().filter(x -> x.method().equals(method) && Objects.equals(x.density(), density))
                .findFirst().orElseThrow(() -> new AssertionError("no row " + method + " @ " + density));
    }

    private static void theReportHasOneRowPerMethodAndDensityInOrder() {
        assertThat(report.rows()).extracting(r -> r.method() + "@" + r.density()).containsExactly("dense@null",
                "gate:java@1.0", "oracle@1.0", "sink-local@1.0", "gate:java@0.5", "oracle@0.5", "sink-local@0.5");
        assertThat(report.context()).isEqualTo(64);
        assertThat(report.windows()).isEqualTo(2);
        assertThat(report.windowsDone()).isEqualTo(2);
        assertThat(report.copyWindows()).isEqualTo(1);
        assertThat(report.gates()).containsExactly("java=" + gateFile);
        assertThat(report.model()).isEqualTo(tiny.dir.toString());
        assertThat(report.engine()).startsWith("cpu (");
        assertThat(report.started()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d.*");
        for (Evaluate.Row r : report.rows()) {
            assertThat(r.bytes()).as(r.method()).isEqualTo(2 * 64);
            assertThat(r.copyBytes()).as(r.method()).isEqualTo(COPY_LENGTH);
            assertThat(r.bitsPerByte()).as(r.method()).isCloseTo(r.nats() / LN2 / r.bytes(), within(1e-12));
            assertThat(r.seconds()).as(r.method()).isPositive();
        }
        assertThat(report.seconds()).isGreaterThanOrEqualTo(
                report.rows().stream().mapToDouble(Evaluate.Row::seconds).sum()).isLessThanOrEqualTo(wall);
    }

    private static void theDenseRowIsTheFloat64ForwardPass() {
        double expected = tiny.nats(tiny.tokens(0, 65), 0) + tiny.nats(tiny.tokens(1000, 65), 0);
        Evaluate.Row dense = row(report, "dense", null);
        assertThat(dense.nats()).isCloseTo(expected, within(1e-3));
        assertThat(dense.bitsPerByte()).isCloseTo(expected / LN2 / 128, within(1e-5));
        assertThat(dense.realisedDensity()).isEqualTo(1.0);
        assertThat(dense.densityPerLayer()).containsExactly(1, 1);
    }

    private static void theCopyTestRepeatsThePassageAtTheWindowsEndAndScoresTheRepeatOnly() {
        int[] c = tiny.tokens(0, 65);
        int at = 65 - COPY_LENGTH;
        System.arraycopy(tiny.tokens(COPY_FROM, COPY_LENGTH), 0, c, at, COPY_LENGTH);
        double expected = tiny.nats(c, at - 1);
        Evaluate.Row dense = row(report, "dense", null);
        assertThat(dense.copyBitsPerByte()).isCloseTo(expected / LN2 / COPY_LENGTH, within(1e-5));
        for (Evaluate.Row r : report.rows()) {
            assertThat(r.copyBitsPerByte()).as(r.method()).isNotNull().isBetween(1.0, 16.0);
        }
    }

    private static void densityOneKeepsEveryCausalBlockAndEqualsDense() {
        Evaluate.Row dense = row(report, "dense", null);
        for (String m : List.of("gate:java", "oracle", "sink-local")) {
            Evaluate.Row r = row(report, m, 1.0);
            assertThat(r.realisedDensity()).as(m).isEqualTo(1.0);
            assertThat(r.densityPerLayer()).as(m).containsExactly(1, 1);
            assertThat(r.nats()).as(m).isCloseTo(dense.nats(), within(1e-3));
            assertThat(r.copyBitsPerByte()).as(m).isCloseTo(dense.copyBitsPerByte(), within(1e-5));
        }
    }

    private static void densityOneHalfKeepsTheBlocksOfItsRule() {
        // nb = 4: k = max(1, int((1 − √0.5) · 4)) = 1 block a row, plus the diagonal (sink-local: block 0 and i).
        BlockMask sink = SinkLocalSelection.mask(1, 1, 4, BlockSelector.topK(0.5, 4));
        int kept = 0;
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j <= i; j++) {
                kept += sink.keep(0, 0, i, j) ? 1 : 0;
            }
        }
        assertThat(kept).isEqualTo(7);                                     // {0}, {0,1}, {0,2}, {0,3}
        Evaluate.Row s = row(report, "sink-local", 0.5);
        assertThat(s.realisedDensity()).isCloseTo(0.7, within(1e-12));
        assertThat(s.densityPerLayer()).containsOnly(0.7);
        for (String m : List.of("gate:java", "oracle")) {
            Evaluate.Row r = row(report, m, 0.5);
            // the top-1 block of each row plus the diagonal: 1 or 2 blocks a row, 4 to 7 of 10 per head
            assertThat(r.realisedDensity()).as(m).isBetween(0.4, 0.7);
            assertThat(r.realisedDensity()).as(m).isCloseTo(Arrays.stream(r.densityPerLayer()).average()
                    .orElseThrow(), within(1e-12));                       // every layer has the same causal blocks
        }
        double dense = row(report, "dense", null).nats();
        for (Evaluate.Row r : report.rows()) {
            if (r.density() != null && r.density() == 0.5) {
                assertThat(r.nats()).as(r.method()).isNotCloseTo(dense, within(0.01));
            }
        }
    }

    private static void theReportOfBothWindowsIsTheMergeOfEachWindowAlone() {
        Evaluate.Report a = Evaluate.run(options(List.of(first), 1, null, false));
        Evaluate.Report b = Evaluate.run(options(List.of(second), 0, null, false));
        Evaluate.Report merged = Evaluate.merge(List.of(a, b));
        assertThat(merged.windowsDone()).isEqualTo(2);
        assertThat(merged.windows()).isEqualTo(2);
        assertThat(merged.copyWindows()).isEqualTo(1);
        assertThat(merged.seconds()).isEqualTo(a.seconds() + b.seconds());
        for (int i = 0; i < report.rows().size(); i++) {
            Evaluate.Row want = report.rows().get(i);
            Evaluate.Row got = merged.rows().get(i);
            assertThat(got.method()).isEqualTo(want.method());
            assertThat(got.density()).isEqualTo(want.density());
            assertThat(got.nats()).as(want.method()).isCloseTo(want.nats(), within(1e-9));
            assertThat(got.bytes()).isEqualTo(want.bytes());
            assertThat(got.bitsPerByte()).as(want.method()).isCloseTo(want.bitsPerByte(), within(1e-12));
            assertThat(got.realisedDensity()).as(want.method()).isCloseTo(want.realisedDensity(), within(1e-12));
            assertThat(got.densityPerLayer()).as(want.method()).containsExactly(want.densityPerLayer(),
                    within(1e-12));
            assertThat(got.copyBitsPerByte()).as(want.method()).isCloseTo(want.copyBitsPerByte(), within(1e-9));
            assertThat(got.copyBytes()).isEqualTo(want.copyBytes());
        }
        assertThat(b.rows()).allSatisfy(r -> assertThat(r.copyBitsPerByte()).isNull());
    }

    private static void theJsonReportIsTheLastReportAndTheProgressCountsEveryForwardPass() {
        assertThat(json.get("windowsDone").asInt()).isEqualTo(2);
        assertThat(json.get("context").asInt()).isEqualTo(64);
        assertThat(json.get("rows")).hasSize(7);
        for (int i = 0; i < 7; i++) {
            JsonNode r = json.get("rows").get(i);
            assertThat(r.get("method").asText()).isEqualTo(report.rows().get(i).method());
            assertThat(r.get("bitsPerByte").asDouble()).isEqualTo(report.rows().get(i).bitsPerByte());
            assertThat(r.get("bytes").asLong()).isEqualTo(128);
        }
        // 7 methods × (2 windows + 1 copy window) forward passes; a log (not a console) gets the line at the end
        assertThat(progress).contains("evaluate 100% [########################] 21/21 ");
    }

    @Test
    void aModelThatDoesNotReadBytesIsRefusedBeforeLoading(@TempDir Path root) throws Exception {
        TinyByteModel model = TinyByteModel.write(root, 11, 100);
        Path other = root.resolve("vocab300");
        java.nio.file.Files.createDirectories(other);
        java.nio.file.Files.writeString(other.resolve("config.json"), model.checkpoint.config.deepCopy()
                .put("vocab_size", 300).toString());
        EvalOptions o = new EvalOptions(other, null, List.of(new EvalOptions.Window(model.corpus, 0, 65)), null,
                false, false, 0, 0, 0, "cpu", null, false);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Evaluate.run(o))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("eval: model " + other + " has a 300-token vocabulary");
    }
}
