package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation's options (each check at its boundary, with its message), the acceptance windows, and the parts of
 * {@link Evaluate} that need no model: reading a window, the Markdown table, merging reports of parts, the summary
 * and the JSON file.
 */
class EvalOptionsTest {
    static final Path MODEL = Path.of("model");
    static final Path TEXT = Path.of("text.bin");

    @TempDir
    Path dir;

    /** Windows of {@code length} bytes. */
    static List<EvalOptions.Window> windows(int count, int length) {
        List<EvalOptions.Window> w = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            w.add(new EvalOptions.Window(TEXT, 100L * i, length));
        }
        return w;
    }

    static EvalOptions copy(int windowLength, int copyWindows, int copyLength, int copyFrom) {
        return new EvalOptions(MODEL, null, windows(2, windowLength), null, false, false, copyWindows, copyLength,
                copyFrom, null, null, false);
    }

    @Test
    void aModelAndAWindowAreNeeded() {
        assertThatThrownBy(() -> new EvalOptions(null, null, windows(1, 10), null, false, false, 0, 0, 0, null, null,
                false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("evaluation needs a model and at least one window");
        assertThatThrownBy(() -> new EvalOptions(MODEL, null, null, null, false, false, 0, 0, 0, null, null, false))
                .hasMessage("evaluation needs a model and at least one window");
        assertThatThrownBy(() -> new EvalOptions(MODEL, null, List.of(), null, false, false, 0, 0, 0, null, null,
                false)).hasMessage("evaluation needs a model and at least one window");
        EvalOptions o = new EvalOptions(MODEL, null, windows(1, 10), null, false, false, 0, 0, 0, null, null, false);
        assertThat(o.gates()).isEmpty();
        assertThat(o.densities()).isEmpty();
        assertThat(o.engine()).isEqualTo("auto");
        assertThat(copy(10, 0, 0, 0).engine()).isEqualTo("auto");
        assertThat(new EvalOptions(MODEL, null, windows(1, 10), null, false, false, 0, 0, 0, "cpu", null, false)
                .engine()).isEqualTo("cpu");
    }

    @Test
    void theListsAreCopied() {
        List<EvalOptions.Window> w = new ArrayList<>(windows(2, 10));
        List<Double> d = new ArrayList<>(List.of(0.5));
        List<EvalOptions.NamedGates> g = new ArrayList<>(List.of(new EvalOptions.NamedGates("a", TEXT)));
        EvalOptions o = new EvalOptions(MODEL, g, w, d, false, false, 0, 0, 0, null, null, false);
        w.clear();
        d.add(0.2);
        g.clear();
        assertThat(o.windows()).hasSize(2);
        assertThat(o.densities()).containsExactly(0.5);
        assertThat(o.gates()).hasSize(1);
    }

    @Test
    void densitiesLieInZeroExclusiveToOne() {
        for (double bad : new double[] {0, -0.1, 1.0000001, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> new EvalOptions(MODEL, null, windows(1, 10), List.of(0.5, bad), false, false,
                    0, 0, 0, null, null, false)).as("density %s", bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("density must be in (0, 1], got " + bad);
        }
        assertThat(new EvalOptions(MODEL, null, windows(1, 10), List.of(1.0, Double.MIN_VALUE), false, false, 0, 0,
                0, null, null, false).densities()).containsExactly(1.0, Double.MIN_VALUE);
    }

    @Test
    void copyWindowsAreAtMostTheWindows() {
        assertThatThrownBy(() -> copy(4000, -1, 0, 0)).hasMessage("copyWindows must be in [0, 2], got -1");
        assertThatThrownBy(() -> copy(4000, 3, 100, 0)).hasMessage("copyWindows must be in [0, 2], got 3");
        assertThat(copy(4000, 2, 100, 0).copyWindows()).isEqualTo(2);
        assertThat(copy(10, 0, -5, -5).copyLength()).isEqualTo(-5);          // not checked without copy windows
    }

    @Test
    void theCopyPassageLiesInTheFirst2048BytesAndBeforeItsRepeat() {
        String message = "must lie in the first 2,048 bytes and before the repeat at the window's end";
        // context 8,192: the 2,048-byte limit decides
        assertThat(copy(8193, 1, 1024, 1024).copyFrom()).isEqualTo(1024);
        assertThatThrownBy(() -> copy(8193, 1, 1024, 1025)).hasMessage("copy passage [1025, 2049) " + message);
        assertThatThrownBy(() -> copy(8193, 1, 0, 10)).hasMessage("copy passage [10, 10) " + message);
        assertThatThrownBy(() -> copy(8193, 1, 10, -1)).hasMessage("copy passage [-1, 9) " + message);
        assertThat(copy(8193, 1, 1, 0).copyLength()).isEqualTo(1);
        // context 100: the passage must end before the repeat starts (from + length ≤ context − length)
        assertThat(copy(101, 1, 30, 40).copyFrom()).isEqualTo(40);
        assertThatThrownBy(() -> copy(101, 1, 30, 41)).hasMessage("copy passage [41, 71) " + message);
    }

    @Test
    void namedGatesAndWindowsCheckTheirFields() {
        for (String name : new String[] {null, "", "  "}) {
            assertThatThrownBy(() -> new EvalOptions.NamedGates(name, TEXT))
                    .hasMessage("named gates need a name and a file");
        }
        assertThatThrownBy(() -> new EvalOptions.NamedGates("a", null)).hasMessage("named gates need a name and a file");
        String w = "window needs a corpus, offset >= 0 and length >= 2";
        assertThatThrownBy(() -> new EvalOptions.Window(null, 0, 2)).hasMessage(w);
        assertThatThrownBy(() -> new EvalOptions.Window(TEXT, -1, 2)).hasMessage(w);
        assertThatThrownBy(() -> new EvalOptions.Window(TEXT, 0, 1)).hasMessage(w);
        assertThat(new EvalOptions.Window(TEXT, 0, 2).length()).isEqualTo(2);
    }

    @Test
    void theAcceptanceRunIsTwentyWindowsOfTwoCorporaAtFourDensities() {
        Path corpus = Path.of("corpus");
        List<EvalOptions.Window> w = EvalOptions.acceptanceWindows(corpus, 1024);
        assertThat(w).hasSize(20);
        for (int i = 0; i < 10; i++) {
            assertThat(w.get(i)).isEqualTo(new EvalOptions.Window(corpus.resolve("eval-moby.bin"), 8192L * i, 1025));
            assertThat(w.get(10 + i)).isEqualTo(new EvalOptions.Window(corpus.resolve("eval-sotu.bin"),
                    9L * 8192 * i, 1025));
        }
        EvalOptions a = EvalOptions.acceptance(MODEL, corpus, List.of(), Path.of("out.json"));
        assertThat(a.windows()).isEqualTo(EvalOptions.acceptanceWindows(corpus, 8192));
        assertThat(a.densities()).containsExactly(0.5, 0.3, 0.2, 0.1).isEqualTo(EvalOptions.DENSITIES);
        assertThat(a.oracle()).isTrue();
        assertThat(a.sinkLocal()).isTrue();
        assertThat(a.copyWindows()).isEqualTo(20);
        assertThat(a.copyLength()).isEqualTo(1024);
        assertThat(a.copyFrom()).isEqualTo(1024);
        assertThat(a.engine()).isEqualTo("auto");
        assertThat(a.jsonOut()).isEqualTo(Path.of("out.json"));
        assertThat(a.progress()).isTrue();
        assertThat(a.modelDir()).isEqualTo(MODEL);
    }

    @Test
    void aWindowIsReadAsUnsignedBytesAndMustLieInsideTheFile() throws Exception {
        byte[] bytes = new byte[300];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        Path file = dir.resolve("bytes.bin");
        Files.write(file, bytes);
        int[] t = Evaluate.readWindow(new EvalOptions.Window(file, 100, 200));  // up to the last byte
        assertThat(t).hasSize(200);
        for (int i = 0; i < 200; i++) {
            assertThat(t[i]).isEqualTo((100 + i) & 0xFF);
        }
        assertThatThrownBy(() -> Evaluate.readWindow(new EvalOptions.Window(file, 101, 200)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("window [101, 301) is beyond the end of " + file + " (300 bytes)");
        Path missing = dir.resolve("missing.bin");
        assertThatThrownBy(() -> Evaluate.readWindow(new EvalOptions.Window(missing, 0, 2)))
                .isInstanceOf(UncheckedIOException.class).hasMessageStartingWith("cannot read " + missing + ": ");
    }

    static Evaluate.Row row(String method, Double density, double nats, long bytes, double dens, double[] perLayer,
                            Double copyBits, long copyBytes, double seconds) {
        return new Evaluate.Row(method, density, nats / Math.log(2) / bytes, nats, bytes, dens, perLayer, copyBits,
                copyBytes, seconds);
    }

    static Evaluate.Report report(int windowsDone, int copyWindows, double seconds, Evaluate.Row... rows) {
        return new Evaluate.Report("m", "cpu (x)", 64, 5, windowsDone, copyWindows, List.of("java=g"), List.of(rows),
                "2026-01-01T00:00Z", seconds);
    }

    @Test
    void mergingAddsCrossEntropiesAndWeighsDensitiesByWindows() {
        Evaluate.Report a = report(1, 3, 2.0,
                row("dense", null, 100, 64, 1, new double[] {1, 1}, 5.0, 16, 0.5),
                row("gate:java", 0.5, 120, 64, 0.6, new double[] {0.5, 0.7}, 6.0, 16, 0.25));
        Evaluate.Report b = report(3, 0, 4.0,
                row("dense", null, 330, 192, 1, new double[] {1, 1}, null, 0, 1.5),
                row("gate:java", 0.5, 360, 192, 0.4, new double[] {0.3, 0.5}, null, 0, 0.75));
        Evaluate.Report m = Evaluate.merge(List.of(a, b));
        assertThat(m.windows()).isEqualTo(4);
        assertThat(m.windowsDone()).isEqualTo(4);
        assertThat(m.copyWindows()).isEqualTo(1);                    // min(copy, done) of each part
        assertThat(m.seconds()).isEqualTo(6.0);
        assertThat(m.model()).isEqualTo("m");
        assertThat(m.engine()).isEqualTo("cpu (x)");
        assertThat(m.context()).isEqualTo(64);
        assertThat(m.gates()).containsExactly("java=g");
        assertThat(m.started()).isEqualTo("2026-01-01T00:00Z");
        Evaluate.Row g = m.rows().get(1);
        assertThat(g.method()).isEqualTo("gate:java");
        assertThat(g.density()).isEqualTo(0.5);
        assertThat(g.nats()).isEqualTo(480);
        assertThat(g.bytes()).isEqualTo(256);
        assertThat(g.bitsPerByte()).isCloseTo(480 / Math.log(2) / 256, within(1e-12));
        assertThat(g.realisedDensity()).isCloseTo(0.6 * 0.25 + 0.4 * 0.75, within(1e-12));
        assertThat(g.densityPerLayer()).containsExactly(new double[] {0.5 * 0.25 + 0.3 * 0.75, 0.7 * 0.25 + 0.5 * 0.75},
                within(1e-12));
        assertThat(g.copyBitsPerByte()).isCloseTo(6.0, within(1e-12));
        assertThat(g.copyBytes()).isEqualTo(16);
        assertThat(g.seconds()).isEqualTo(1.0);
        assertThat(m.rows().get(0).seconds()).isEqualTo(2.0);
        // two parts that both ran the copy test: bits weighted by their bytes
        Evaluate.Report c = report(2, 2, 1.0, row("dense", null, 100, 64, 1, new double[] {1, 1}, 2.0, 48, 0),
                row("gate:java", 0.5, 1, 64, 1, new double[] {1, 1}, 2.0, 48, 0));
        Evaluate.Report ac = Evaluate.merge(List.of(a, c));
        assertThat(ac.rows().get(0).copyBitsPerByte()).isCloseTo((5.0 * 16 + 2.0 * 48) / 64, within(1e-12));
        assertThat(ac.rows().get(0).copyBytes()).isEqualTo(64);
        assertThat(ac.copyWindows()).isEqualTo(3);
        // a part whose copy test has no bytes yet (NaN bits) adds nothing
        Evaluate.Report empty = report(1, 1, 1.0, row("dense", null, 100, 64, 1, new double[] {1, 1}, Double.NaN, 0,
                0), row("gate:java", 0.5, 1, 64, 1, new double[] {1, 1}, Double.NaN, 0, 0));
        assertThat(Evaluate.merge(List.of(a, empty)).rows().get(0).copyBitsPerByte()).isCloseTo(5.0, within(1e-12));
        // no part with the copy test: no copy figure
        assertThat(Evaluate.merge(List.of(b, b)).rows().get(0).copyBitsPerByte()).isNull();
    }

    @Test
    void reportsOfOtherRowsAreNotMerged() {
        Evaluate.Row dense = row("dense", null, 1, 1, 1, new double[] {1}, null, 0, 0);
        Evaluate.Report one = report(1, 0, 0, dense);
        assertThatThrownBy(() -> Evaluate.merge(List.of(one, report(1, 0, 0, dense, dense))))
                .hasMessage("reports have different rows");
        assertThatThrownBy(() -> Evaluate.merge(List.of(one, report(1, 0, 0, row("oracle", null, 1, 1, 1,
                new double[] {1}, null, 0, 0))))).hasMessage("row 0 differs between reports");
        assertThatThrownBy(() -> Evaluate.merge(List.of(one, report(1, 0, 0, row("dense", 0.5, 1, 1, 1,
                new double[] {1}, null, 0, 0))))).hasMessage("row 0 differs between reports");
    }

    @Test
    void theTableShowsEachRowAgainstDense() {
        Evaluate.Report r = report(1, 1, 1.0,
                row("dense", null, 1.5 * Math.log(2) * 100, 100, 1, new double[] {1}, 1.25, 10, 0),
                row("gate:java", 0.3, 1.75 * Math.log(2) * 100, 100, 0.31234, new double[] {0.3}, null, 0, 0));
        assertThat(r.table()).isEqualTo("""
                | method | target density | realised density | bits/byte | Δ vs dense | copy-test bits/byte |
                |---|---|---|---|---|---|
                | dense | 1 (dense) | 1.000 | 1.5000 | +0.0000 | 1.2500 |
                | gate:java | 0.3 | 0.312 | 1.7500 | +0.2500 | — |
                """);
        Evaluate.Report denseLast = report(1, 1, 1.0, r.rows().get(1), r.rows().get(0));
        assertThat(denseLast.table()).contains("| gate:java | 0.3 | 0.312 | 1.7500 | +0.2500 | — |");
        assertThat(Evaluate.summary(r)).containsExactly(Map.entry("dense", r.rows().get(0).bitsPerByte()),
                Map.entry("gate:java@0.3", r.rows().get(1).bitsPerByte()));
    }

    @Test
    void theJsonFileHoldsTheReportAndItsFolderIsCreated() throws Exception {
        Evaluate.Report r = report(1, 0, 2.5, row("dense", null, 70, 64, 1, new double[] {1, 1}, null, 0, 0.5));
        Path file = dir.resolve("a/b/report.json");
        Evaluate.writeJson(file, r);
        JsonNode j = JsonMapper.builder().build().readTree(file.toFile());
        assertThat(j.get("model").asText()).isEqualTo("m");
        assertThat(j.get("seconds").asDouble()).isEqualTo(2.5);
        assertThat(j.get("rows").get(0).get("nats").asDouble()).isEqualTo(70);
        assertThat(j.get("rows").get(0).get("densityPerLayer")).hasSize(2);
        assertThat(Files.readString(file)).contains("\n  \"engine\" : \"cpu (x)\"");    // indented
        Files.writeString(dir.resolve("blocker"), "a file where a folder should be");
        assertThatThrownBy(() -> Evaluate.writeJson(dir.resolve("blocker/report.json"), r))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageStartingWith("cannot write " + dir.resolve("blocker/report.json") + ": ");
    }
}
