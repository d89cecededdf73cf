package org.seerjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.seerjava.gate.Distill;
import org.seerjava.gate.DistillOptions;
import org.seerjava.gate.DistillationTrainer;
import org.seerjava.gate.GateParameters;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.io.AtomicFiles;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code seer demo}: the whole method on the embedded model. Distils gates briefly (cached under the work folder),
 * prefills a long held-out passage dense and sparse, prints time, speed-up and bits per byte, and writes an HTML
 * report with pictures of one layer and head.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"SeerAttention end to end on the embedded tiny Llama: distil gates (or reuse cached ones), "
                + "prefill a held-out passage dense and at several densities, and write an HTML report with the "
                + "true pooled attention map, the gate's scores, the selected blocks and the distillation loss curve."},
        footer = {"", "Examples:",
                "  seer demo        # an 8,192-byte Moby-Dick passage, densities 0.5 0.3 0.2 0.1",
                "  seer demo --gates \\",
                "      models/tiny-llama-bytes/reference-gates/attn_gate_weights.safetensors",
                "  seer demo --context 4096 --steps 200 --retrain --out work/demo-4k"})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (default: models/tiny-llama-bytes).")
    Path model;

    @Option(names = "--train-text", paramLabel = "FILE", description = "Distillation text (default: corpus/train-excerpt.bin).")
    Path trainText;

    @Option(names = "--eval-text", paramLabel = "FILE", description = "Held-out text (default: corpus/eval-moby.bin).")
    Path evalText;

    @Option(names = "--offset", defaultValue = "0", description = "Byte offset of the passage (default: ${DEFAULT-VALUE}).")
    long offset;

    @Option(names = "--context", defaultValue = "8192", description = "Passage length in bytes = tokens (default: ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--densities", split = ",", defaultValue = "0.5,0.3,0.2,0.1",
            description = "Densities to compare with dense (default: ${DEFAULT-VALUE}).")
    List<Double> densities;

    @Option(names = "--gates", paramLabel = "FILE", description = "Use these gates instead of distilling.")
    Path gates;

    @Option(names = "--steps", defaultValue = "300", description = "Distillation steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seq-len", defaultValue = "2048", description = "Distillation window (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--windows", defaultValue = "12",
            description = "Windows captured once and replayed during distillation (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of gate init and window choice (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--retrain", description = "Distil again even when cached gates exist.")
    boolean retrain;

    @Option(names = "--layer", defaultValue = "2", description = "Layer shown in the pictures (default: ${DEFAULT-VALUE}).")
    int layer;

    @Option(names = "--head", defaultValue = "0", description = "Query head shown in the pictures (default: ${DEFAULT-VALUE}).")
    int head;

    @Option(names = "--picture-density", defaultValue = "0.2",
            description = "Density of the selected-blocks picture (default: ${DEFAULT-VALUE}).")
    double pictureDensity;

    @Option(names = "--backend", defaultValue = "${sys:seer.backend:-auto}",
            description = "Engine: reference, cpu, cuda, auto (default: -Dseer.backend, else auto).")
    String backend;

    @Option(names = "--out", paramLabel = "DIR", description = "Report folder (default: work/demo).")
    Path out;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    @Option(names = "--runs", defaultValue = "5",
            description = "Timed runs of each row after the warm-up; the table shows their median and spread "
                    + "(default: ${DEFAULT-VALUE}).")
    int runs;

    /**
     * One row of the demo table.
     *
     * @param seconds    median prefill time over the timed runs
     * @param minSeconds fastest run
     * @param maxSeconds slowest run
     * @param speedup    median over the rounds of (dense time ÷ this row's time) in the same round
     */
    record Row(String attention, double density, double seconds, double minSeconds, double maxSeconds,
               double speedup, double bitsPerByte) {
    }

    /** The shortest passage: two blocks of 64. */
    static final int MIN_CONTEXT = 128;
    /**
     * The longest passage or distillation window accepted: 131,072 tokens (the pictures hold nb × nb blocks, the
     * dense prefill grows with the square of the length).
     */
    static final int MAX_CONTEXT = 1 << 17;

    /**
     * Every option checked before anything is read (but the eval text's size and the model's config), created or
     * printed; bad values exit 2.
     *
     * @return the model's configuration (for the layer and head bounds)
     */
    LlamaConfig checkOptions() throws IOException {
        OptionChecks c = new OptionChecks(spec);
        Path modelDir = Seer.orDefault(model, "models/tiny-llama-bytes");
        Path text = Seer.orDefault(evalText, "corpus/eval-moby.bin");
        c.atLeast("--layer", layer, 0);
        c.atLeast("--head", head, 0);
        c.atLeast("--runs", runs, 1);
        c.inRange("--context", context, MIN_CONTEXT, MAX_CONTEXT);
        c.atLeast("--offset", offset, 0);
        c.densities("--densities", densities);
        c.density("--picture-density", pictureDensity);
        if (gates == null) {
            c.atLeast("--steps", steps, 1);
            c.inRange("--seq-len", seqLen, 64, MAX_CONTEXT);
            c.atLeast("--windows", windows, 0);
        }
        c.backend("--backend", backend);
        c.outputDirectory("--out", Seer.orDefault(out, "work/demo"));
        if (!Files.isRegularFile(text)) {
            throw new IllegalArgumentException("--eval-text " + text + ": " + (Files.exists(text) ? "not a regular file"
                    : "does not exist"));
        }
        c.slice("--offset", offset, "--context", context + 1L, text, Files.size(text));
        LlamaConfig config = LlamaConfig.load(modelDir.resolve(LlamaModel.CONFIG));
        c.inRange("--layer", layer, 0, config.numHiddenLayers() - 1);
        c.inRange("--head", head, 0, config.numAttentionHeads() - 1);
        return config;
    }

    @Override
    public Integer call() throws IOException {
        LlamaConfig config = checkOptions();
        ModelDims dims = ModelDims.of(config);
        Path home = Seer.home();
        Path modelDir = Seer.orDefault(model, "models/tiny-llama-bytes");
        Path outDir = Seer.orDefault(out, "work/demo");
        Path text = Seer.orDefault(evalText, "corpus/eval-moby.bin");
        Path train = Seer.orDefault(trainText, "corpus/train-excerpt.bin");

        Engine engine = Engines.byName(backend);
        Files.createDirectories(outDir);
        PrintWriter w = spec.commandLine().getOut();
        w.printf("seer demo: model %s, engine %s (%s)%n", shown(home, modelDir), engine.name(), engine.description());
        w.flush();

        // 1. Gates: given, cached, or distilled now.
        GateSet gateSet;
        List<double[]> lossCurve = new ArrayList<>();
        String gateSource;
        try (LlamaModel m = LlamaModel.load(modelDir)) {
            if (gates != null) {
                gateSet = GateSet.load(gates, dims);
                gateSource = "loaded from " + shown(home, gates);
            } else {
                DistillOptions o = DistillOptions.defaults(modelDir, train, null)
                        .withSeqLen(seqLen).withBatch(4).withSteps(steps).withLr(1e-3, Math.min(20, steps / 5))
                        .withSeed(seed).withPoolWindows(windows).withEngine(engine.name())
                        .withProgress(!noProgress);
                GateCache.Entry entry = GateCache.entry(home.resolve("work/gates"), modelDir, train, o);
                Path cached = entry.gates();
                GateCache.Cached hit = retrain ? null : GateCache.read(entry, dims, spec.commandLine().getErr());
                if (hit != null) {
                    gateSet = hit.gates();
                    lossCurve.addAll(hit.lossCurve());
                    gateSource = "distilled earlier, cached in " + shown(home, cached);
                } else {
                    w.printf("distilling gates: %d steps, %d windows of %d bytes replayed ...%n", steps, windows, seqLen);
                    w.flush();
                    Files.createDirectories(entry.dir());
                    Distill.Result r = Distill.run(o.withOutputDir(entry.dir()));
                    GateCache.describe(entry);
                    gateSet = r.gates();
                    lossCurve.addAll(GateCache.lossCurve(entry.history()));
                    gateSource = String.format(Locale.ROOT, "distilled now in %.1f s (%d steps), cached in %s",
                            r.seconds(), steps, shown(home, cached));
                }
            }
            w.println("gates: " + gateSource);

            // 2. The passage and a warm-up.
            int[] tokens = DistillationTrainer.tokens(DistillationTrainer.readCorpus(text), offset, context + 1);
            int[] input = java.util.Arrays.copyOf(tokens, context);
            int[] targets = java.util.Arrays.copyOfRange(tokens, 1, context + 1);
            // Warm-up, untimed: the JIT compiles the dense and the sparse paths on a short prefix, then one
            // full-length dense run (capturing the pictured layer) and one sparse run.
            int[] warm = java.util.Arrays.copyOf(input, Math.min(context, 1024));
            m.forward(warm, AttentionPolicy.dense(engine));
            m.forward(warm, SeerAttentionPolicy.gate(engine, gateSet, 0.3));
            LayerAttention[] captured = new LayerAttention[1];
            AttentionPolicy dense = AttentionPolicy.dense(engine);
            m.forward(input, (l, in, o) -> {
                if (l == layer) {
                    captured[0] = in;
                }
                dense.attend(l, in, o);
            });
            m.forward(input, SeerAttentionPolicy.gate(engine, gateSet, densities.getFirst()));
            w.printf("timing %d rounds, each a run of dense and of every density in turn (seconds):%n", runs);
            w.flush();

            // 3. Rounds: dense, then each density, timed back to back so that each round sees the same host speed.
            int rowCount = densities.size() + 1;
            double[][] seconds = new double[rowCount][runs];
            float[][] logits = new float[rowCount][];
            SeerAttentionPolicy[] policies = new SeerAttentionPolicy[rowCount];
            for (int rep = 0; rep < runs; rep++) {
                for (int row = 0; row < rowCount; row++) {
                    AttentionPolicy policy = dense;
                    if (row > 0) {
                        policies[row] = SeerAttentionPolicy.gate(engine, gateSet, densities.get(row - 1));
                        policy = policies[row];
                    }
                    long t0 = System.nanoTime();
                    logits[row] = m.forward(input, policy);
                    seconds[row][rep] = (System.nanoTime() - t0) / 1e9;
                }
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d/%d:", rep + 1, runs));
                for (int row = 0; row < rowCount; row++) {
                    line.append(String.format(Locale.ROOT, " %.3f", seconds[row][rep]));
                }
                w.println(line.append(" s"));
                w.flush();
            }
            List<Row> rows = new ArrayList<>();
            printHeader(w);
            for (int row = 0; row < rowCount; row++) {
                double[] ratios = new double[runs];
                for (int rep = 0; rep < runs; rep++) {
                    ratios[rep] = seconds[0][rep] / seconds[row][rep];
                }
                double[] sorted = seconds[row].clone();
                java.util.Arrays.sort(sorted);
                Row r = new Row(row == 0 ? "dense" : String.format(Locale.ROOT, "seer top-k %.2f", densities.get(row - 1)),
                        row == 0 ? 1.0 : policies[row].density(), median(seconds[row]), sorted[0], sorted[runs - 1],
                        median(ratios), Metrics.bitsPerByte(logits[row], targets));
                rows.add(r);
                printRow(w, r);
            }

            // 4. Pictures of one layer and head.
            Map<String, String> pictures = pictures(engine, gateSet, captured[0], lossCurve, outDir);
            writeReport(outDir, modelDir, engine, gateSource, text, rows, pictures);
            w.printf("%nreport: %s%n", shown(home, outDir.resolve("report.html")));
        }
        return 0;
    }

    private static void printHeader(PrintWriter w) {
        w.printf("%n%-18s %9s %12s %15s %9s %14s%n", "attention", "density", "prefill (s)", "spread (s)", "speed-up",
                "bits per byte");
    }

    private static void printRow(PrintWriter w, Row r) {
        w.printf(Locale.ROOT, "%-18s %9.3f %12.3f %15s %8.2fx %14.4f%n", r.attention(), r.density(), r.seconds(),
                spread(r), r.speedup(), r.bitsPerByte());
        w.flush();
    }

    private static String spread(Row r) {
        return String.format(Locale.ROOT, "%.3f–%.3f", r.minSeconds(), r.maxSeconds());
    }

    /** The median (the mean of the middle two for an even count). */
    static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /**
     * A path as the report shows it: relative to the project folder when it lies inside it, else its file name
     * alone (the report may be shared; it names no absolute path).
     */
    static String shown(Path home, Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (p.startsWith(home)) {
            return home.relativize(p).toString();
        }
        return p.getFileName() == null ? p.toString() : p.getFileName().toString();
    }

    private Map<String, String> pictures(Engine engine, GateSet gateSet, LayerAttention in, List<double[]> loss,
                                         Path dir) {
        AttentionShape s = in.shape();
        int nb = s.blocks(gateSet.config().blockSize());
        float[] attn = new float[s.qElements()];
        long map = Checks.blockMap(1, s.qHeads(), nb);
        float[] target = new float[HeapBudget.floatArray("the pooled attention map [Hq, nb, nb]", map)];
        engine.attentionWithPooledTarget(in.q(), in.k(), in.v(), attn, target, s, gateSet.config().blockSize(), in.scale());
        GateParameters p = gateSet.layer(layer);
        float[] scores = new float[HeapBudget.floatArray("the gate scores [Hq, nb, nb]", map)];
        engine.gateScores(in.qPre(), in.kPre(), p.wq() == null ? null : p.wqFloats(), p.wkFloats(), scores, s,
                gateSet.config(), true);
        float[] logits = new float[scores.length];
        engine.gateScores(in.qPre(), in.kPre(), p.wq() == null ? null : p.wqFloats(), p.wkFloats(), logits, s,
                gateSet.config(), false);
        BlockMask mask = engine.select(logits, 1, s.qHeads(), nb, new SelectionRule.TopK(pictureDensity, false, true));

        double[] truth = new double[nb * nb];
        double[] gate = new double[nb * nb];
        boolean[] kept = new boolean[nb * nb];
        for (int i = 0; i < nb; i++) {
            for (int j = 0; j < nb; j++) {
                int at = (head * nb + i) * nb + j;
                truth[i * nb + j] = j > i ? Double.NaN : target[at];
                gate[i * nb + j] = j > i ? Double.NaN : scores[at];
                kept[i * nb + j] = mask.keep(0, head, i, j);
            }
        }
        Map<String, String> files = new LinkedHashMap<>();
        String where = String.format(Locale.ROOT, "layer %d, head %d", layer, head);
        Charts.heatmap(truth, nb, "True pooled attention (" + where + ")", "max attention probability, row-normalised",
                true, dir.resolve("attention-map.png"));
        files.put("attention-map.png", "The model's real attention, 2-D max-pooled per 64×64 block and row-normalised "
                + "(the distillation target).");
        Charts.heatmap(gate, nb, "Gate scores (" + where + ")", "gate probability", true, dir.resolve("gate-scores.png"));
        files.put("gate-scores.png", "What the gate predicts from pooled Q and K alone, before any attention is computed.");
        Charts.maskMap(kept, nb, String.format(Locale.ROOT, "Selected blocks, density %.2f (%s)", pictureDensity, where),
                dir.resolve("selected-blocks.png"));
        files.put("selected-blocks.png", "Blocks the sparse kernel computes: top-k gate scores per row plus the diagonal.");
        if (!loss.isEmpty()) {
            Charts.lossCurve("Gate self-distillation", List.of("training loss"), List.<double[][]>of(loss.toArray(new double[0][])),
                    dir.resolve("loss-curve.png"));
            files.put("loss-curve.png", "Distillation loss (KL to the pooled attention, ×10, summed over layers) per step.");
        }
        return files;
    }

    private void writeReport(Path dir, Path modelDir, Engine engine, String gateSource, Path text, List<Row> rows,
                             Map<String, String> pictures) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        Path home = Seer.home();
        json.put("model", shown(home, modelDir));
        json.put("engine", engine.name() + " (" + engine.description() + ")");
        json.put("gates", gateSource);
        json.put("text", shown(home, text));
        json.put("offset", offset);
        json.put("context", context);
        json.put("runs", runs);
        json.put("seed", seed);
        json.put("rows", rows);
        json.put("pictures", new ArrayList<>(pictures.keySet()));
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        AtomicFiles.write(dir.resolve("report.json"), (java.io.OutputStream o) -> mapper.writeValue(o, json));

        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>seer demo</title><style>")
                .append("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse}td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:right}")
                .append("th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:8px;vertical-align:top;max-width:560px}")
                .append("</style></head><body><h1>SeerAttention on the embedded model</h1>")
                .append("<p>Model <code>").append(esc(shown(home, modelDir))).append("</code>, engine <code>")
                .append(esc(engine.name() + " (" + engine.description() + ")")).append("</code>.<br>Gates ")
                .append(esc(gateSource)).append(".<br>Passage: ").append(context).append(" bytes of <code>")
                .append(esc(shown(home, text))).append("</code> from offset ").append(offset).append(".</p>")
                .append("<h2>Prefill: time and accuracy</h2><table><tr><th>attention</th><th>density</th>")
                .append("<th>prefill (s)</th><th>spread (s)</th><th>speed-up</th><th>bits per byte</th></tr>");
        for (Row r : rows) {
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%s</td><td>%.2f×</td>"
                    + "<td>%.4f</td></tr>", esc(r.attention()), r.density(), r.seconds(), spread(r), r.speedup(),
                    r.bitsPerByte()));
        }
        h.append("</table><p>Density = kept blocks / causal blocks over all layers and heads. Prefill time is the "
                + "whole model forward pass on this machine: the median of " + runs + " runs after a warm-up, with "
                + "the fastest and slowest run as the spread; speed-up is the median over the rounds of dense time ÷ "
                + "the row's time, each round timing every row back to back.</p><h2>Pictures</h2>");
        for (Map.Entry<String, String> e : pictures.entrySet()) {
            // Inlined, so that the report is one self-contained file (the PNGs stay beside it for other uses).
            String png = Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve(e.getKey())));
            h.append("<figure><img alt=\"").append(esc(e.getKey())).append("\" src=\"data:image/png;base64,")
                    .append(png).append("\" width=\"540\"><figcaption>").append(esc(e.getValue()))
                    .append("</figcaption></figure>");
        }
        h.append("</body></html>\n");
        AtomicFiles.writeString(dir.resolve("report.html"), h);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

}
