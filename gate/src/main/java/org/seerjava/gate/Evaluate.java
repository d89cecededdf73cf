package org.seerjava.gate;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.AtomicFiles;

/**
 * Accuracy versus density: bits per byte of held-out text for dense attention and for the gate, oracle and
 * sink-plus-local selections at each density (every layer and head; diagonal block added, causal), plus the
 * long-range copy test: a passage from the first 2,048 bytes of a window is repeated at the window's end and the
 * loss is measured on the repeat only. Bits per byte = Σ cross-entropy (nats) / ln 2 / predicted bytes.
 */
public final class Evaluate {
    private Evaluate() {
    }

    /**
     * One row of the report.
     *
     * @param method           {@code dense}, {@code gate:<name>}, {@code oracle} or {@code sink-local}
     * @param density          target density (null for dense)
     * @param bitsPerByte      Σ CE / ln 2 / bytes over all windows
     * @param nats             Σ CE in nats
     * @param bytes            predicted bytes
     * @param realisedDensity  kept / causal blocks over all layers, heads and windows (1 for dense)
     * @param densityPerLayer  the same per layer
     * @param copyBitsPerByte  bits per byte on the repeated passages (null without the copy test)
     * @param copyBytes        predicted bytes of the copy test
     * @param seconds          time spent on this row
     */
    public record Row(String method, Double density, double bitsPerByte, double nats, long bytes,
                      double realisedDensity, double[] densityPerLayer, Double copyBitsPerByte, long copyBytes,
                      double seconds) {
    }

    /** The whole report. */
    public record Report(String model, String engine, int context, int windows, int windowsDone, int copyWindows,
                         List<String> gates, List<Row> rows, String started, double seconds) {

        /** A Markdown table of the rows. */
        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append("| method | target density | realised density | bits/byte | Δ vs dense | copy-test bits/byte |\n");
            sb.append("|---|---|---|---|---|---|\n");
            double dense = rows.stream().filter(r -> r.method().equals("dense")).mapToDouble(Row::bitsPerByte)
                    .findFirst().orElse(Double.NaN);
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.4f | %+.4f | %s |%n", r.method(),
                        r.density() == null ? "1 (dense)" : String.format(Locale.ROOT, "%.1f", r.density()),
                        r.realisedDensity(), r.bitsPerByte(), r.bitsPerByte() - dense,
                        r.copyBitsPerByte() == null ? "—" : String.format(Locale.ROOT, "%.4f", r.copyBitsPerByte())));
            }
            return sb.toString();
        }
    }

    /** A method to evaluate: its label, density and a factory of fresh policies (one for the text, one for copy). */
    private record Method(String name, Double density, java.util.function.Supplier<AttentionPolicy> factory) {
    }

    private static final class Acc {
        final Method method;
        final AttentionPolicy policy;
        final AttentionPolicy copyPolicy;
        Metrics.CrossEntropy ce = Metrics.CrossEntropy.zero();
        Metrics.CrossEntropy copy = Metrics.CrossEntropy.zero();
        double seconds;

        Acc(Method m) {
            method = m;
            policy = m.factory().get();
            copyPolicy = m.factory().get();
        }

        Row row(int layers, boolean withCopy) {
            double dens = 1;
            double[] perLayer = new double[layers];
            java.util.Arrays.fill(perLayer, 1);
            if (policy instanceof SeerAttentionPolicy s) {
                dens = s.density();
                perLayer = s.densityPerLayer();
            }
            return new Row(method.name(), method.density(), ce.bitsPerToken(), ce.nats(), ce.tokens(), dens,
                    perLayer, withCopy ? copy.bitsPerToken() : null, copy.tokens(), seconds);
        }
    }

    /** Runs the evaluation; writes the JSON report after every window when {@code jsonOut} is set. */
    public static Report run(EvalOptions o) {
        long start = System.nanoTime();
        String started = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
        ByteText.requireByteModel(o.modelDir(), "eval");
        Engine engine = Engines.byName(o.engine());
        try (LlamaModel model = LlamaModel.load(o.modelDir())) {
            ModelDims dims = ModelDims.of(model.config());
            int layers = dims.layers();
            int heads = dims.qHeads();
            List<GateSet> gateSets = new ArrayList<>();
            for (EvalOptions.NamedGates g : o.gates()) {
                gateSets.add(GateSet.load(g.file(), dims));
            }
            int blockSize = gateSets.isEmpty() ? 64 : gateSets.getFirst().spec().blockSize();
            List<Method> methods = new ArrayList<>();
            methods.add(new Method("dense", null, () -> AttentionPolicy.dense(engine)));
            for (double d : o.densities()) {
                for (int i = 0; i < gateSets.size(); i++) {
                    GateSet gs = gateSets.get(i);
                    methods.add(new Method("gate:" + o.gates().get(i).name(), d,
                            () -> SeerAttentionPolicy.gate(engine, gs, d)));
                }
                if (o.oracle()) {
                    methods.add(new Method("oracle", d,
                            () -> SeerAttentionPolicy.oracle(engine, d, blockSize, layers, heads)));
                }
                if (o.sinkLocal()) {
                    methods.add(new Method("sink-local", d,
                            () -> SeerAttentionPolicy.sinkLocal(engine, d, blockSize, layers, heads)));
                }
            }
            List<Acc> accs = methods.stream().map(Acc::new).toList();
            int context = o.windows().getFirst().length() - 1;
            long work = (long) o.windows().size() * methods.size() + (long) o.copyWindows() * methods.size();
            Report report = null;
            try (Progress p = o.progress() ? Progress.stderr("evaluate", work) : Progress.silent("evaluate", work)) {
                long done = 0;
                for (int w = 0; w < o.windows().size(); w++) {
                    EvalOptions.Window win = o.windows().get(w);
                    int[] bytes = readWindow(win);
                    int[] input = java.util.Arrays.copyOf(bytes, bytes.length - 1);
                    int[] target = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
                    int[] copyInput = null;
                    int[] copyTarget = null;
                    int copyStart = 0;
                    if (w < o.copyWindows()) {
                        int[] c = bytes.clone();
                        int at = c.length - o.copyLength();
                        System.arraycopy(bytes, o.copyFrom(), c, at, o.copyLength());
                        copyStart = at - 1;                       // input position predicting the first repeat byte
                        copyInput = java.util.Arrays.copyOf(c, c.length - 1);
                        copyTarget = java.util.Arrays.copyOfRange(c, at, c.length);
                    }
                    for (Acc a : accs) {
                        long t0 = System.nanoTime();
                        float[] logits = model.forward(input, a.policy);
                        a.ce = a.ce.plus(Metrics.crossEntropy(logits, target));
                        p.update(++done, a.method.name() + (a.method.density() == null ? "" : " @" + a.method.density())
                                + " window " + (w + 1));
                        if (copyInput != null) {
                            float[] cl = model.forward(copyInput, a.copyPolicy, copyStart);
                            a.copy = a.copy.plus(Metrics.crossEntropy(cl, copyTarget));
                            p.update(++done, a.method.name() + " copy window " + (w + 1));
                        }
                        a.seconds += (System.nanoTime() - t0) / 1e9;
                    }
                    report = report(o, engine, context, w + 1, accs, layers, started, start);
                    if (o.jsonOut() != null) {
                        writeJson(o.jsonOut(), report);
                    }
                }
            }
            return report;
        }
    }

    private static Report report(EvalOptions o, Engine engine, int context, int done, List<Acc> accs, int layers,
                                 String started, long start) {
        List<Row> rows = accs.stream().map(a -> a.row(layers, o.copyWindows() > 0)).toList();
        return new Report(o.modelDir().toString(), engine.name() + " (" + engine.description() + ")", context,
                o.windows().size(), done, o.copyWindows(),
                o.gates().stream().map(g -> g.name() + "=" + g.file()).toList(), rows, started,
                (System.nanoTime() - start) / 1e9);
    }

    /** The bytes of a window as tokens. */
    static int[] readWindow(EvalOptions.Window w) {
        try (var ch = java.nio.channels.FileChannel.open(w.corpus())) {
            if (w.offset() + w.length() > ch.size()) {
                throw new IllegalArgumentException("window [" + w.offset() + ", " + (w.offset() + w.length())
                        + ") is beyond the end of " + w.corpus() + " (" + ch.size() + " bytes)");
            }
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(w.length());
            while (buf.hasRemaining()) {
                if (ch.read(buf, w.offset() + buf.position()) < 0) {
                    throw new IOException("unexpected end of " + w.corpus());
                }
            }
            int[] t = new int[w.length()];
            for (int i = 0; i < t.length; i++) {
                t[i] = buf.get(i) & 0xFF;
            }
            return t;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + w.corpus() + ": " + e.getMessage(), e);
        }
    }

    /** Writes a report as indented JSON (atomically: temp file, then move). */
    public static void writeJson(Path file, Report report) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + AtomicFiles.reason(e), e);
        }
        JsonMapper mapper = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
        AtomicFiles.write(file, (java.io.OutputStream out) -> mapper.writeValue(out, report));
    }

    /**
     * Merges reports of the same rows over disjoint window sets (e.g. run in parts): cross-entropies and byte counts
     * add up; densities are averaged weighted by windows.
     */
    public static Report merge(List<Report> parts) {
        Report first = parts.getFirst();
        List<Row> rows = new ArrayList<>();
        int windows = 0;
        int copy = 0;
        double seconds = 0;
        for (Report r : parts) {
            windows += r.windowsDone();
            copy += Math.min(r.copyWindows(), r.windowsDone());
            seconds += r.seconds();
            if (r.rows().size() != first.rows().size()) {
                throw new IllegalArgumentException("reports have different rows");
            }
        }
        for (int i = 0; i < first.rows().size(); i++) {
            double nats = 0;
            long bytes = 0;
            double copyNats = 0;
            long copyBytes = 0;
            double dens = 0;
            double[] perLayer = new double[first.rows().get(i).densityPerLayer().length];
            double secs = 0;
            for (Report r : parts) {
                Row row = r.rows().get(i);
                if (!row.method().equals(first.rows().get(i).method())
                        || !java.util.Objects.equals(row.density(), first.rows().get(i).density())) {
                    throw new IllegalArgumentException("row " + i + " differs between reports");
                }
                nats += row.nats();
                bytes += row.bytes();
                if (row.copyBitsPerByte() != null && row.copyBytes() > 0) {
                    copyNats += row.copyBitsPerByte() * Math.log(2) * row.copyBytes();
                    copyBytes += row.copyBytes();
                }
                double w = (double) r.windowsDone() / windows;
                dens += row.realisedDensity() * w;
                for (int l = 0; l < perLayer.length; l++) {
                    perLayer[l] += row.densityPerLayer()[l] * w;
                }
                secs += row.seconds();
            }
            Row f = first.rows().get(i);
            rows.add(new Row(f.method(), f.density(), nats / Math.log(2) / bytes, nats, bytes, dens, perLayer,
                    copyBytes > 0 ? copyNats / Math.log(2) / copyBytes : null, copyBytes, secs));
        }
        return new Report(first.model(), first.engine(), first.context(), windows, windows, copy, first.gates(), rows,
                first.started(), seconds);
    }

    /** A compact map of a report (for embedding in other JSON). */
    public static Map<String, Object> summary(Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Row row : r.rows()) {
            m.put(row.method() + (row.density() == null ? "" : "@" + row.density()), row.bitsPerByte());
        }
        return m;
    }
}
