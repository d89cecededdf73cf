package org.seerjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.SelectionRule;
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

    @Option(names = "--backend", defaultValue = "auto", description = "Engine: reference, cpu, cuda, auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--out", paramLabel = "DIR", description = "Report folder (default: work/demo).")
    Path out;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    /** Each prefill is run this many times and the fastest run is reported (the machine may be shared). */
    static final int TIMED_RUNS = 2;

    /** One row of the demo table. */
    record Row(String attention, double density, double seconds, double speedup, double bitsPerByte) {
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter w = spec.commandLine().getOut();
        Path home = Seer.home();
        Path modelDir = Seer.orDefault(model, "models/tiny-llama-bytes");
        Path outDir = Seer.orDefault(out, "work/demo");
        Files.createDirectories(outDir);
        if (layer < 0 || head < 0) {
            throw new IllegalArgumentException("--layer and --head must be >= 0");
        }
        if (context < 128) {
            throw new IllegalArgumentException("--context must be at least 128 bytes, got " + context);
        }
        for (double d : densities) {
            if (!(d > 0 && d <= 1)) {
                throw new IllegalArgumentException("--densities must be in (0, 1], got " + d);
            }
        }
        Engine engine = Engines.byName(backend);
        w.printf("seer demo: model %s, engine %s (%s)%n", modelDir, engine.name(), engine.description());
        w.flush();

        // 1. Gates: given, cached, or distilled now.
        GateSet gateSet;
        List<double[]> lossCurve = new ArrayList<>();
        String gateSource;
        try (LlamaModel m = LlamaModel.load(modelDir)) {
            ModelDims dims = ModelDims.of(m.config());
            if (layer >= dims.layers() || head >= dims.qHeads()) {
                throw new IllegalArgumentException("--layer/--head out of range: the model has " + dims.layers()
                        + " layers and " + dims.qHeads() + " query heads");
            }
            if (gates != null) {
                gateSet = GateSet.load(gates, dims);
                gateSource = "loaded from " + gates;
            } else {
                String key = String.format(Locale.ROOT, "steps%d-seq%d-win%d-seed%d", steps, seqLen, windows, seed);
                Path cacheDir = home.resolve("work/gates").resolve(key);
                Path cached = cacheDir.resolve("gates.safetensors");
                if (Files.exists(cached) && !retrain) {
                    gateSet = GateSet.load(cached, dims);
                    gateSource = "distilled earlier, cached in " + cached;
                } else {
                    Path train = Seer.orDefault(trainText, "corpus/train-excerpt.bin");
                    DistillOptions o = DistillOptions.defaults(modelDir, train, cacheDir)
                            .withSeqLen(seqLen).withBatch(4).withSteps(steps).withLr(1e-3, Math.min(20, steps / 5))
                            .withSeed(seed).withPoolWindows(windows).withEngine(engine.name())
                            .withProgress(!noProgress);
                    w.printf("distilling gates: %d steps, %d windows of %d bytes replayed ...%n", steps, windows, seqLen);
                    w.flush();
                    Distill.Result r = Distill.run(o);
                    gateSet = r.gates();
                    gateSource = String.format(Locale.ROOT, "distilled now in %.1f s (%d steps), cached in %s",
                            r.seconds(), steps, cached);
                }
                Path history = cacheDir.resolve("history.json");
                if (Files.exists(history)) {
                    for (var node : new ObjectMapper().readTree(history.toFile()).get("history")) {
                        lossCurve.add(new double[]{node.get("step").asDouble() + 1, node.get("loss").asDouble()});
                    }
                }
            }
            w.println("gates: " + gateSource);

            // 2. The passage and a warm-up.
            Path text = Seer.orDefault(evalText, "corpus/eval-moby.bin");
            int[] tokens = DistillationTrainer.tokens(DistillationTrainer.readCorpus(text), offset, context + 1);
            int[] input = java.util.Arrays.copyOf(tokens, context);
            int[] targets = java.util.Arrays.copyOfRange(tokens, 1, context + 1);
            // Warm-up: let the JIT compile the dense and the sparse paths before anything is timed.
            int[] warm = java.util.Arrays.copyOf(input, Math.min(context, 1024));
            m.forward(warm, AttentionPolicy.dense(engine));
            m.forward(warm, SeerAttentionPolicy.gate(engine, gateSet, 0.3));

            // 3. Dense, capturing the pictured layer.
            List<Row> rows = new ArrayList<>();
            LayerAttention[] captured = new LayerAttention[1];
            AttentionPolicy dense = AttentionPolicy.dense(engine);
            AttentionPolicy capture = (l, in, o) -> {
                if (l == layer) {
                    captured[0] = in;
                }
                dense.attend(l, in, o);
            };
            float[] logits = null;
            double denseSeconds = Double.POSITIVE_INFINITY;
            for (int rep = 0; rep < TIMED_RUNS; rep++) {            // the fastest of TIMED_RUNS runs
                long t0 = System.nanoTime();
                logits = m.forward(input, rep == 0 ? capture : dense);
                denseSeconds = Math.min(denseSeconds, (System.nanoTime() - t0) / 1e9);
            }
            rows.add(new Row("dense", 1.0, denseSeconds, 1.0, Metrics.bitsPerByte(logits, targets)));
            printHeader(w);
            printRow(w, rows.getFirst());

            // 4. Sparse at each density.
            for (double d : densities) {
                SeerAttentionPolicy policy = null;
                float[] sparseLogits = null;
                double s = Double.POSITIVE_INFINITY;
                for (int rep = 0; rep < TIMED_RUNS; rep++) {
                    policy = SeerAttentionPolicy.gate(engine, gateSet, d);
                    long t = System.nanoTime();
                    sparseLogits = m.forward(input, policy);
                    s = Math.min(s, (System.nanoTime() - t) / 1e9);
                }
                Row row = new Row(String.format(Locale.ROOT, "seer top-k %.2f", d), policy.density(), s,
                        denseSeconds / s, Metrics.bitsPerByte(sparseLogits, targets));
                rows.add(row);
                printRow(w, row);
            }

            // 5. Pictures of one layer and head.
            Map<String, String> pictures = pictures(engine, gateSet, captured[0], lossCurve, outDir);
            writeReport(outDir, modelDir, engine, gateSource, text, rows, pictures);
            w.printf("%nreport: %s%n", outDir.resolve("report.html"));
        }
        return 0;
    }

    private static void printHeader(PrintWriter w) {
        w.printf("%n%-18s %9s %12s %9s %14s%n", "attention", "density", "prefill (s)", "speed-up", "bits per byte");
    }

    private static void printRow(PrintWriter w, Row r) {
        w.printf(Locale.ROOT, "%-18s %9.3f %12.3f %8.2fx %14.4f%n", r.attention(), r.density(), r.seconds(),
                r.speedup(), r.bitsPerByte());
        w.flush();
    }

    private Map<String, String> pictures(Engine engine, GateSet gateSet, LayerAttention in, List<double[]> loss,
                                         Path dir) {
        AttentionShape s = in.shape();
        int nb = s.blocks(gateSet.config().blockSize());
        float[] attn = new float[s.qElements()];
        float[] target = new float[s.qHeads() * nb * nb];
        engine.attentionWithPooledTarget(in.q(), in.k(), in.v(), attn, target, s, gateSet.config().blockSize(), in.scale());
        GateParameters p = gateSet.layer(layer);
        float[] scores = new float[s.qHeads() * nb * nb];
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
        json.put("model", modelDir.toString());
        json.put("engine", engine.name() + " (" + engine.description() + ")");
        json.put("gates", gateSource);
        json.put("text", text.toString());
        json.put("offset", offset);
        json.put("context", context);
        json.put("seed", seed);
        json.put("rows", rows);
        json.put("pictures", new ArrayList<>(pictures.keySet()));
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("report.json").toFile(), json);

        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>seer demo</title><style>")
                .append("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse}td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:right}")
                .append("th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:8px;vertical-align:top;max-width:560px}")
                .append("</style></head><body><h1>SeerAttention on the embedded model</h1>")
                .append("<p>Model <code>").append(esc(modelDir.toString())).append("</code>, engine <code>")
                .append(esc(engine.name() + " (" + engine.description() + ")")).append("</code>.<br>Gates ")
                .append(esc(gateSource)).append(".<br>Passage: ").append(context).append(" bytes of <code>")
                .append(esc(text.toString())).append("</code> from offset ").append(offset).append(".</p>")
                .append("<h2>Prefill: time and accuracy</h2><table><tr><th>attention</th><th>density</th>")
                .append("<th>prefill (s)</th><th>speed-up</th><th>bits per byte</th></tr>");
        for (Row r : rows) {
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.2f×</td><td>%.4f</td></tr>",
                    esc(r.attention()), r.density(), r.seconds(), r.speedup(), r.bitsPerByte()));
        }
        h.append("</table><p>Density = kept blocks / causal blocks over all layers and heads. Prefill time is the "
                + "whole model forward pass on this machine, the faster of " + TIMED_RUNS + " runs after a warm-up.</p><h2>Pictures</h2>");
        for (Map.Entry<String, String> e : pictures.entrySet()) {
            h.append("<figure><img src=\"").append(e.getKey()).append("\" width=\"540\"><figcaption>")
                    .append(esc(e.getValue())).append("</figcaption></figure>");
        }
        h.append("</body></html>\n");
        Path tmp = dir.resolve("report.html.tmp");
        Files.writeString(tmp, h, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve("report.html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

}
