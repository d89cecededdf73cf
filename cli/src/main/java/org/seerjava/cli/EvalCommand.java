package org.seerjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.seerjava.gate.EvalOptions;
import org.seerjava.gate.Evaluate;
import org.seerjava.reference.io.SmallFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code seer eval}: bits per byte for dense attention and gate, oracle and sink-plus-local selections. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Bits per byte on held-out text for dense attention and, at each density, the gates' top-k "
                + "selection, the oracle (top-k of the true pooled attention) and a fixed sink-plus-local pattern; "
                + "plus a long-range copy test. Windows: 10 of corpus/eval-moby.bin then 10 of corpus/eval-sotu.bin."},
        footer = {"", "Examples:",
                "  seer eval --windows 2 --context 2048      # a quick look, the reference gates",
                "  seer eval --gates mine=work/distill/gates.safetensors --json work/eval.json",
                "  seer eval --densities 0.2,0.1 --no-oracle",
                "  seer eval --from 10 --windows 10 --json part1.json   # windows 11-20",
                "  seer eval --merge part0.json,part1.json --json all.json"})
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (default: models/tiny-llama-bytes).")
    Path model;

    @Option(names = "--corpus-dir", paramLabel = "DIR", description = "Folder with eval-moby.bin and eval-sotu.bin (default: corpus).")
    Path corpusDir;

    @Option(names = "--gates", paramLabel = "NAME=FILE",
            description = "Gates to evaluate, repeatable (default: reference=the embedded reference gates).")
    List<String> gates;

    @Option(names = "--context", defaultValue = "8192", description = "Context in bytes (default: ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--windows", defaultValue = "20", description = "How many of the 20 windows (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--from", defaultValue = "0", description = "Index of the first window, 0-19 (default: ${DEFAULT-VALUE}).")
    int from;

    @Option(names = "--merge", paramLabel = "FILE", split = ",",
            description = "Instead of evaluating, merge JSON reports of the same rows over disjoint windows (e.g. parts run with --from).")
    List<Path> merge;

    @Option(names = "--densities", split = ",", defaultValue = "0.5,0.3,0.2,0.1",
            description = "Densities (default: ${DEFAULT-VALUE}).")
    List<Double> densities;

    @Option(names = "--no-oracle", description = "Skip the oracle selection.")
    boolean noOracle;

    @Option(names = "--no-sink-local", description = "Skip the sink-plus-local pattern.")
    boolean noSinkLocal;

    @Option(names = "--copy", defaultValue = "0",
            description = "Windows that also run the long-range copy test (default: ${DEFAULT-VALUE}).")
    int copy;

    @Option(names = "--backend", defaultValue = "${sys:seer.backend:-auto}",
            description = "Engine (default: -Dseer.backend, else auto).")
    String backend;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the report as JSON.")
    Path json;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    /**
     * Every option checked before anything is read, created or printed; bad values exit 2.
     *
     * @return the gates to evaluate, by name (empty when merging reports)
     */
    List<EvalOptions.NamedGates> checkOptions() {
        OptionChecks c = new OptionChecks(spec);
        if (json != null) {
            c.outputFile("--json", json);
        }
        List<EvalOptions.NamedGates> named = new ArrayList<>();
        if (merge != null && !merge.isEmpty()) {
            return named;
        }
        if (gates == null || gates.isEmpty()) {
            named.add(new EvalOptions.NamedGates("reference",
                    Seer.home().resolve("models/tiny-llama-bytes/reference-gates/attn_gate_weights.safetensors")));
        } else {
            for (String g : gates) {
                int eq = g.indexOf('=');
                if (eq <= 0 || eq == g.length() - 1) {
                    throw c.bad("--gates must be NAME=FILE, got '" + g + "'");
                }
                try {
                    named.add(new EvalOptions.NamedGates(g.substring(0, eq), Path.of(g.substring(eq + 1))));
                } catch (java.nio.file.InvalidPathException e) {
                    throw c.bad("--gates " + g + ": not a file path (" + e.getReason() + ")");
                }
            }
        }
        c.inRange("--windows", windows, 1, 20);
        c.inRange("--from", from, 0, 19);
        if (from + windows > 20) {
            throw c.bad("--from " + from + " with --windows " + windows + " goes past the 20 windows");
        }
        c.inRange("--context", context, DemoCommand.MIN_CONTEXT, DemoCommand.MAX_CONTEXT);
        c.densities("--densities", densities);
        c.atLeast("--copy", copy, 0);
        c.backend("--backend", backend);
        return named;
    }

    @Override
    public Integer call() throws IOException {
        List<EvalOptions.NamedGates> named = checkOptions();
        PrintWriter w = spec.commandLine().getOut();
        if (merge != null && !merge.isEmpty()) {
            List<Evaluate.Report> parts = new ArrayList<>();
            for (Path f : merge) {
                parts.add(new ObjectMapper().readValue(SmallFiles.read(f, 256L << 20, "the report to merge"),
                        Evaluate.Report.class));
            }
            Evaluate.Report merged = Evaluate.merge(parts);
            if (json != null) {
                Evaluate.writeJson(json, merged);
            }
            w.println(merged.table());
            w.printf(Locale.ROOT, "%d windows merged from %d reports%n", merged.windowsDone(), parts.size());
            return 0;
        }
        List<EvalOptions.Window> all = EvalOptions.acceptanceWindows(Seer.orDefault(corpusDir, "corpus"),
                context);
        EvalOptions o = new EvalOptions(Seer.orDefault(model, "models/tiny-llama-bytes"), named,
                all.subList(from, from + windows), densities, !noOracle, !noSinkLocal, Math.min(copy, windows), 1024, 1024,
                backend, json, !noProgress);
        Evaluate.Report r = Evaluate.run(o);
        w.println(r.table());
        w.printf(Locale.ROOT, "%d windows at context %d, %.1f s%n", r.windowsDone(), r.context(), r.seconds());
        if (json != null) {
            w.println("json: " + json);
        }
        return 0;
    }
}
