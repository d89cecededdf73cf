package org.seerjava.gate;

import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.AtomicFiles;

/**
 * Accuracy of sparse decoding (issue 20, acceptance 4): bits per byte of held-out windows whose first
 * {@code prompt} bytes are prefilled densely and every later byte is decoded — teacher-forced, with
 * {@link SparseDecodePolicy} — with dense attention, with the decode gates at each token budget, with the
 * sink-plus-recent pattern of the same budget, and with the oracle of the same budget (the rule applied to each row's
 * decode target, what a perfectly distilled gate would keep). Bits per byte count the decoded rows only: the predictions of bytes
 * {@code prompt + 1 … context} of each window (the prompt's predictions are the same for every method).
 */
public final class DecodeEvaluate {
    private DecodeEvaluate() {
    }

    /** Decode gates under a name ({@code gate:name} rows). */
    public record NamedGates(String name, Path file) {
        public NamedGates {
            if (name == null || name.isBlank() || file == null) {
                throw new IllegalArgumentException("named decode gates need a name and a file");
            }
        }
    }

    /**
     * Options.
     *
     * @param modelDir   Hugging Face model directory (byte-level)
     * @param gates      decode gates to evaluate
     * @param windows    held-out windows of context + 1 bytes
     * @param prompt     bytes prefilled densely before decoding starts
     * @param budgets    token budgets of the sparse rows
     * @param sinkRecent include the sink-plus-recent rows
     * @param oracle     include the oracle rows
     * @param engine     engine name
     * @param jsonOut    where to write the report after every window (null: not written)
     * @param progress   progress bar on stderr
     */
    public record Options(Path modelDir, List<NamedGates> gates, List<EvalOptions.Window> windows, int prompt,
                          List<Integer> budgets, boolean sinkRecent, boolean oracle, String engine, Path jsonOut,
                          boolean progress) {
        public Options {
            if (modelDir == null || windows == null || windows.isEmpty()) {
                throw new IllegalArgumentException("evaluation needs a model and at least one window");
            }
            gates = gates == null ? List.of() : List.copyOf(gates);
            windows = List.copyOf(windows);
            budgets = budgets == null ? List.of() : List.copyOf(budgets);
            int context = windows.getFirst().length() - 1;
            if (prompt < 1 || prompt >= context) {
                throw new IllegalArgumentException("the prompt (" + prompt + " bytes) must be at least 1 byte and "
                        + "shorter than the context (" + context + ")");
            }
            for (int b : budgets) {
                if (b < 1) {
                    throw new IllegalArgumentException("token budgets must be ≥ 1, got " + b);
                }
            }
            if (engine == null) {
                engine = "auto";
            }
        }
    }

    /**
     * One row.
     *
     * @param method          {@code dense}, {@code gate:<name>}, {@code oracle} or {@code sink-recent}
     * @param budget          token budget (null for dense)
     * @param bitsPerByte     Σ CE / ln 2 / decoded bytes
     * @param nats            Σ CE in nats
     * @param bytes           decoded bytes predicted
     * @param density         blocks attended ÷ blocks cached over the decoded rows, layers and KV heads
     * @param densityPerLayer the same per layer
     * @param seconds         time spent on the row
     */
    public record Row(String method, Integer budget, double bitsPerByte, double nats, long bytes, double density,
                      double[] densityPerLayer, double seconds) {
    }

    /** The report. */
    public record Report(String model, String engine, int context, int prompt, int windows, int windowsDone,
                         List<String> gates, List<Row> rows, String started, double seconds) {

        /** A Markdown table. */
        public String table() {
            double dense = rows.stream().filter(r -> r.method().equals("dense")).mapToDouble(Row::bitsPerByte)
                    .findFirst().orElse(Double.NaN);
            StringBuilder sb = new StringBuilder();
            sb.append("| method | token budget | attended blocks | bits/byte | Δ vs dense |\n");
            sb.append("|---|---|---|---|---|\n");
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.4f | %+.4f |%n", r.method(),
                        r.budget() == null ? "— (dense)" : String.format(Locale.ROOT, "%,d", r.budget()), r.density(),
                        r.bitsPerByte(), r.bitsPerByte() - dense));
            }
            return sb.toString();
        }
    }

    private record Method(String name, Integer budget, Supplier<AttentionPolicy> factory) {
    }

    /** Runs the evaluation. */
    public static Report run(Options o) {
        long start = System.nanoTime();
        String started = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
        ByteText.requireByteModel(o.modelDir(), "eval-decode");
        Engine engine = Engines.byName(o.engine());
        try (LlamaModel model = LlamaModel.load(o.modelDir())) {
            ModelDims dims = ModelDims.of(model.config());
            List<DecodeGateSet> sets = new ArrayList<>();
            for (NamedGates g : o.gates()) {
                sets.add(DecodeGateSet.load(g.file(), dims));
            }
            int blockSize = sets.isEmpty() ? 64 : sets.getFirst().spec().blockSize();
            List<Method> methods = new ArrayList<>();
            methods.add(new Method("dense", null, () -> AttentionPolicy.dense(engine)));
            for (int budget : o.budgets()) {
                for (int i = 0; i < sets.size(); i++) {
                    DecodeGateSet set = sets.get(i);
                    methods.add(new Method("gate:" + o.gates().get(i).name(), budget, () -> SparseDecodePolicy.gate(
                            engine, set, new DecodeSelectionRule.TokenBudget(budget), o.prompt())));
                }
                if (o.oracle()) {
                    methods.add(new Method("oracle", budget, () -> SparseDecodePolicy.oracle(engine,
                            new DecodeSelectionRule.TokenBudget(budget), blockSize, o.prompt(), dims.layers())));
                }
                if (o.sinkRecent()) {
                    methods.add(new Method("sink-recent", budget, () -> SparseDecodePolicy.sinkRecent(engine, budget,
                            blockSize, o.prompt(), dims.layers())));
                }
            }
            List<AttentionPolicy> policies = methods.stream().map(m -> m.factory().get()).toList();
            Metrics.CrossEntropy[] ce = new Metrics.CrossEntropy[methods.size()];
            Arrays.fill(ce, Metrics.CrossEntropy.zero());
            double[] seconds = new double[methods.size()];
            int context = o.windows().getFirst().length() - 1;
            Report report = null;
            long work = (long) o.windows().size() * methods.size();
            try (Progress p = o.progress() ? Progress.stderr("evaluate", work) : Progress.silent("evaluate", work)) {
                long done = 0;
                for (int w = 0; w < o.windows().size(); w++) {
                    int[] bytes = Evaluate.readWindow(o.windows().get(w));
                    int[] input = Arrays.copyOf(bytes, bytes.length - 1);
                    int[] target = Arrays.copyOfRange(bytes, o.prompt() + 1, bytes.length);
                    for (int m = 0; m < methods.size(); m++) {
                        long t0 = System.nanoTime();
                        float[] logits = model.forward(input, policies.get(m), o.prompt());
                        ce[m] = ce[m].plus(Metrics.crossEntropy(logits, target));
                        seconds[m] += (System.nanoTime() - t0) / 1e9;
                        Method method = methods.get(m);
                        p.update(++done, method.name() + (method.budget() == null ? "" : " @" + method.budget())
                                + " window " + (w + 1));
                    }
                    List<Row> rows = new ArrayList<>();
                    for (int m = 0; m < methods.size(); m++) {
                        double density = 1;
                        double[] perLayer = new double[dims.layers()];
                        Arrays.fill(perLayer, 1);
                        if (policies.get(m) instanceof SparseDecodePolicy s) {
                            density = s.density();
                            perLayer = s.densityPerLayer();
                        }
                        rows.add(new Row(methods.get(m).name(), methods.get(m).budget(), ce[m].bitsPerToken(),
                                ce[m].nats(), ce[m].tokens(), density, perLayer, seconds[m]));
                    }
                    report = new Report(o.modelDir().toString(), engine.name() + " (" + engine.description() + ")",
                            context, o.prompt(), o.windows().size(), w + 1,
                            o.gates().stream().map(g -> g.name() + "=" + g.file()).toList(), rows, started,
                            (System.nanoTime() - start) / 1e9);
                    if (o.jsonOut() != null) {
                        writeJson(o.jsonOut(), report);
                    }
                }
            }
            return report;
        }
    }

    /** Writes a report as indented JSON, atomically ({@link AtomicFiles}: a temporary file beside it, renamed). */
    public static void writeJson(Path file, Report report) {
        try {
            java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + file + ": " + AtomicFiles.reason(e), e);
        }
        com.fasterxml.jackson.databind.json.JsonMapper mapper = com.fasterxml.jackson.databind.json.JsonMapper.builder()
                .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).build();
        AtomicFiles.write(file, (java.io.OutputStream out) -> mapper.writeValue(out, report));
    }
}
