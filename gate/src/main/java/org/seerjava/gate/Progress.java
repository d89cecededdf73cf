package org.seerjava.gate;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * A small progress bar: on a terminal it redraws one line ({@code \r}); otherwise (a log file, nohup) it prints a
 * plain line at most every {@code logEverySeconds}, and always at the end. No colours, no terminal library.
 * (The {@code me.tongfei:progressbar} library resolves and runs on Java 25, but its JLine terminal prints
 * restricted-native-access warnings and writes ANSI escapes into redirected logs; this class avoids both.)
 */
public final class Progress implements AutoCloseable {
    private final PrintStream out;
    private final String task;
    private final long total;
    private final boolean terminal;
    private final double logEverySeconds;
    private final long start = System.nanoTime();
    private long lastPrint;
    private long done;
    private long printedDone = -1;
    private String message = "";
    private boolean closed;

    /** A bar on {@code out}; {@code terminal} decides between redrawing and plain log lines. */
    public Progress(PrintStream out, String task, long total, boolean terminal, double logEverySeconds) {
        this.out = out;
        this.task = task;
        this.total = total;
        this.terminal = terminal;
        this.logEverySeconds = logEverySeconds;
        this.lastPrint = start;
    }

    /** A bar on stderr that redraws when a console is attached, else logs every 10 s. */
    public static Progress stderr(String task, long total) {
        return new Progress(System.err, task, total, System.console() != null, 10);
    }

    /** A bar that prints nothing. */
    public static Progress silent(String task, long total) {
        return new Progress(null, task, total, false, 0);
    }

    /** Sets the position and the trailing message (e.g. loss and tokens/s). */
    public synchronized void update(long position, String msg) {
        done = position;
        message = msg == null ? "" : msg;
        long now = System.nanoTime();
        double since = (now - lastPrint) / 1e9;
        if (out != null && (terminal ? since > 0.2 : since >= logEverySeconds)) {
            print(now);
        }
    }

    private void print(long now) {
        lastPrint = now;
        printedDone = done;
        double elapsed = (now - start) / 1e9;
        double frac = total > 0 ? Math.min(1, (double) done / total) : 0;
        String eta = done > 0 && done < total ? " eta " + format(elapsed / done * (total - done)) : "";
        StringBuilder bar = new StringBuilder();
        int width = 24;
        int filled = (int) Math.round(frac * width);
        bar.append('[').append("#".repeat(filled)).append(".".repeat(width - filled)).append(']');
        String line = String.format(Locale.ROOT, "%s %3.0f%% %s %d/%d %s%s %s", task, 100 * frac, bar, done, total,
                format(elapsed), eta, message);
        if (terminal) {
            out.print("\r" + line + "\u001b[K");
        } else {
            out.println(line);
        }
        out.flush();
    }

    private static String format(double seconds) {
        Duration d = Duration.ofMillis((long) (seconds * 1000));
        return String.format(Locale.ROOT, "%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart());
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (out != null && (terminal || printedDone != done)) {
            print(System.nanoTime());
            if (terminal) {
                out.println();
            }
        }
    }
}
