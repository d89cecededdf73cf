package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The progress bar's figures: percentage, bar of 24, position/total, elapsed time and the estimate of the time left
 * (checked against the time measured around the call), when a line is printed (a log: at most every
 * {@code logEverySeconds} and once at the end; a console: redrawn at most every 0.2 s and at the end).
 */
class ProgressTest {
    static final Pattern LINE = Pattern.compile(
            "(\\S+) +(\\d+)% \\[(#*)(\\.*)\\] (\\d+)/(\\d+) (\\d+):(\\d\\d):(\\d\\d)( eta (\\d+):(\\d\\d):(\\d\\d))? (.*)");

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static Matcher parse(String line) {
        Matcher m = LINE.matcher(line);
        assertThat(m.matches()).as("progress line '%s'", line).isTrue();
        return m;
    }

    private static long seconds(Matcher m, int group) {
        return Long.parseLong(m.group(group)) * 3600 + Long.parseLong(m.group(group + 1)) * 60
                + Long.parseLong(m.group(group + 2));
    }

    @Test
    void aLogLineShowsPercentBarCountsAndMessage() {
        Progress p = new Progress(out, "capture", 10, false, 0);
        p.update(3, "12 tok/s");
        p.update(5, null);
        String[] lines = text().split("\n");
        assertThat(lines).hasSize(2);
        Matcher a = parse(lines[0]);
        assertThat(a.group(1)).isEqualTo("capture");
        assertThat(lines[0]).startsWith("capture  30% [");                 // %3.0f
        assertThat(a.group(3)).hasSize(7);                                   // round(0.3 × 24)
        assertThat(a.group(4)).hasSize(17);
        assertThat(a.group(5) + "/" + a.group(6)).isEqualTo("3/10");
        assertThat(a.group(10)).isNotNull();                                 // an estimate while not done
        assertThat(a.group(14)).isEqualTo("12 tok/s");
        Matcher b = parse(lines[1]);
        assertThat(b.group(2)).isEqualTo("50");
        assertThat(b.group(3)).hasSize(12);
        assertThat(b.group(14)).isEmpty();
        p.close();
        assertThat(text().split("\n")).hasSize(2);                           // position 5 was printed already
    }

    @Test
    void theEstimateIsTheElapsedTimePerStepTimesTheStepsLeft() throws Exception {
        long total = 1_000_000_000_000L;
        long before = System.nanoTime();
        Progress p = new Progress(out, "t", total, false, 0);
        long created = System.nanoTime();
        Thread.sleep(20);
        long lo = System.nanoTime() - created;                               // the time the bar measures lies
        p.update(1, "");
        long hi = System.nanoTime() - before;                                // between these two
        Matcher m = parse(text().split("\n")[0]);
        assertThat(m.group(2)).isEqualTo("0");
        assertThat(m.group(3)).isEmpty();
        long eta = seconds(m, 11);
        assertThat(Integer.parseInt(m.group(12))).isLessThan(60);
        assertThat(Integer.parseInt(m.group(13))).isLessThan(60);
        // eta = elapsed / done × (total − done), printed in whole seconds
        assertThat(eta).isBetween((long) (lo / 1e9 * (total - 1)) - 1, (long) (hi / 1e9 * (total - 1)) + 1);
        assertThat(seconds(m, 7)).isBetween((long) (lo / 1e9), (long) (hi / 1e9));   // elapsed
    }

    @Test
    void theEstimateScalesTheTimePerStepByTheStepsLeft() throws Exception {
        long before = System.nanoTime();
        Progress p = new Progress(out, "t", 6, false, 0);
        long created = System.nanoTime();
        Thread.sleep(1100);
        long lo = System.nanoTime() - created;
        p.update(2, "");
        long hi = System.nanoTime() - before;
        Matcher m = parse(text().split("\n")[0]);
        // 2 of 6 steps in about 1.1 s: 4 steps left take twice that
        assertThat(seconds(m, 11)).isBetween((long) (2 * lo / 1e9) - 1, (long) (2 * hi / 1e9) + 1);
        assertThat(seconds(m, 7)).isBetween((long) (lo / 1e9), (long) (hi / 1e9));
    }

    @Test
    void noEstimateBeforeTheFirstStepAndEveryLineIsFlushed() {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream buffered = new PrintStream(new java.io.BufferedOutputStream(sink, 1 << 16), false,
                StandardCharsets.UTF_8);
        Progress p = new Progress(buffered, "t", 5, false, 0);
        p.update(0, "start");
        String line = sink.toString(StandardCharsets.UTF_8);                 // visible without closing the stream
        assertThat(line).startsWith("t   0% [........................] 0/5 ").endsWith(" start\n");
        assertThat(parse(line.strip()).group(10)).isNull();
    }

    @Test
    void aLogPrintsAtMostEveryIntervalAndOnceAtTheEnd() {
        Progress p = new Progress(out, "distil", 4, false, 3600);
        p.update(1, "a");
        p.update(2, "b");
        assertThat(text()).isEmpty();
        p.update(4, "done");
        p.close();
        p.close();                                                          // closing again prints nothing more
        String[] lines = text().split("\n");
        assertThat(lines).hasSize(1);
        Matcher m = parse(lines[0]);
        assertThat(lines[0]).startsWith("distil 100% [########################] 4/4 ");
        assertThat(m.group(10)).isNull();                                    // no estimate when done
        assertThat(m.group(14)).isEqualTo("done");
    }

    @Test
    void aLineAlreadyPrintedIsNotRepeatedAtTheEnd() {
        Progress p = new Progress(out, "x", 2, false, 0);
        p.update(2, "m");
        p.close();
        assertThat(text().split("\n")).hasSize(1);
    }

    @Test
    void aConsoleRedrawsOneLineAtMostFiveTimesASecondAndEndsIt() throws Exception {
        long t0 = System.nanoTime();
        Progress p = new Progress(out, "evaluate", 8, true, 10);
        p.update(1, "first");
        if (System.nanoTime() - t0 < 150_000_000) {                          // within 0.2 s of the start
            assertThat(text()).isEmpty();
        }
        Thread.sleep(250);
        long t1 = System.nanoTime();
        p.update(2, "second");
        String second = text().substring(text().lastIndexOf('\r'));
        assertThat(second).startsWith("\revaluate  25% [######..................] 2/8 ").endsWith(" second\u001b[K");
        int length = text().length();
        p.update(3, "third");
        if (System.nanoTime() - t1 < 150_000_000) {                          // within 0.2 s of the last line
            assertThat(text()).hasSize(length);
        }
        p.close();
        String end = text().substring(text().lastIndexOf('\r'));
        assertThat(end).startsWith("\revaluate  38% [#########...............] 3/8 ").endsWith(" third\u001b[K\n");
    }

    @Test
    void positionsBeyondTheTotalAndAnEmptyTotalStayWithinTheBar() {
        Progress p = new Progress(out, "x", 3, false, 0);
        p.update(5, "");
        Progress q = new Progress(out, "y", 0, false, 0);
        q.update(2, "");
        String[] lines = text().split("\n");
        assertThat(lines[0]).startsWith("x 100% [########################] 5/3 ");
        assertThat(parse(lines[0]).group(10)).isNull();
        assertThat(lines[1]).startsWith("y   0% [........................] 2/0 ");
        assertThat(parse(lines[1]).group(10)).isNull();
    }

    @Test
    void silentAndStderrBars() {
        Progress s = Progress.silent("quiet", 3);
        s.update(1, "x");
        s.close();
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (Progress p = Progress.stderr("loud", 3)) {
            p.update(1, "x");                                                // a log (no console): every 10 s
            assertThat(captured.toString(StandardCharsets.UTF_8)).isEmpty();
            p.update(3, "y");
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).startsWith("loud 100% [").endsWith(" y\n");
    }
}
