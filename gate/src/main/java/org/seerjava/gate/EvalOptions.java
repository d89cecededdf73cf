package org.seerjava.gate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Options of {@link Evaluate#run}.
 *
 * @param modelDir    Hugging Face model directory
 * @param gates       gate sets to evaluate, each under a name (e.g. {@code java}, {@code reference})
 * @param windows     held-out windows; each has context + 1 bytes (inputs, and targets shifted by one)
 * @param densities   target densities of the sparse rows (e.g. 0.5, 0.3, 0.2, 0.1)
 * @param oracle      include the oracle rows (top-k of the true pooled attention map)
 * @param sinkLocal   include the sink-plus-local rows
 * @param copyWindows how many of the windows also run the long-range copy test (0: none; the first ones)
 * @param copyLength  bytes of the copied passage
 * @param copyFrom    where the passage starts in the window (it must lie in the first 2,048 bytes)
 * @param engine      engine name ({@code auto}, {@code reference}, {@code cpu}, {@code cuda})
 * @param jsonOut     where to write the JSON report (rewritten after every window; null: not written)
 * @param progress    print a progress bar on stderr
 */
public record EvalOptions(Path modelDir, List<NamedGates> gates, List<Window> windows, List<Double> densities,
                          boolean oracle, boolean sinkLocal, int copyWindows, int copyLength, int copyFrom,
                          String engine, Path jsonOut, boolean progress) {

    /** A gate file under a name used in the report rows ({@code gate:name}). */
    public record NamedGates(String name, Path file) {
        public NamedGates {
            if (name == null || name.isBlank() || file == null) {
                throw new IllegalArgumentException("named gates need a name and a file");
            }
        }
    }

    /**
     * A window of a corpus: {@code length} bytes from {@code offset}; the model reads the first length − 1 and
     * predicts the last length − 1.
     */
    public record Window(Path corpus, long offset, int length) {
        public Window {
            if (corpus == null || offset < 0 || length < 2) {
                throw new IllegalArgumentException("window needs a corpus, offset >= 0 and length >= 2");
            }
        }
    }

    public EvalOptions {
        if (modelDir == null || windows == null || windows.isEmpty()) {
            throw new IllegalArgumentException("evaluation needs a model and at least one window");
        }
        gates = gates == null ? List.of() : List.copyOf(gates);
        windows = List.copyOf(windows);
        densities = densities == null ? List.of() : List.copyOf(densities);
        for (double d : densities) {
            if (!(d > 0 && d <= 1)) {
                throw new IllegalArgumentException("density must be in (0, 1], got " + d);
            }
        }
        if (copyWindows < 0 || copyWindows > windows.size()) {
            throw new IllegalArgumentException("copyWindows must be in [0, " + windows.size() + "], got "
                    + copyWindows);
        }
        if (copyWindows > 0) {
            int context = windows.getFirst().length() - 1;
            if (copyLength <= 0 || copyFrom < 0 || copyFrom + copyLength > 2048
                    || copyFrom + copyLength > context - copyLength) {
                throw new IllegalArgumentException("copy passage [" + copyFrom + ", " + (copyFrom + copyLength)
                        + ") must lie in the first 2,048 bytes and before the repeat at the window's end");
            }
        }
        if (engine == null) {
            engine = "auto";
        }
    }

    /**
     * The windows of acceptance line 4 of issue 5 at a context: 10 of {@code eval-moby.bin} at offsets
     * 0, 8192, …, 9·8192 and 10 of {@code eval-sotu.bin} at 0, 9·8192, …, 81·8192, each context + 1 bytes.
     */
    public static List<Window> acceptanceWindows(Path corpusDir, int context) {
        List<Window> w = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            w.add(new Window(corpusDir.resolve("eval-moby.bin"), (long) i * 8192, context + 1));
        }
        for (int i = 0; i < 10; i++) {
            w.add(new Window(corpusDir.resolve("eval-sotu.bin"), (long) i * 9 * 8192, context + 1));
        }
        return w;
    }

    /** The densities 0.5, 0.3, 0.2, 0.1. */
    public static final List<Double> DENSITIES = List.of(0.5, 0.3, 0.2, 0.1);

    /** Everything of the issue: the acceptance windows at 8,192, the four densities, oracle, sink-local, copy test. */
    public static EvalOptions acceptance(Path modelDir, Path corpusDir, List<NamedGates> gates, Path jsonOut) {
        return new EvalOptions(modelDir, gates, acceptanceWindows(corpusDir, 8192), DENSITIES, true, true, 20, 1024,
                1024, "auto", jsonOut, true);
    }
}
