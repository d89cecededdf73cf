package org.seerjava.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.seerjava.gate.DecodeEvaluate;
import org.seerjava.gate.EvalOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code seer eval-decode}: bits per byte of sparse decoding against dense decoding and sink-plus-recent. */
@Command(name = "eval-decode", mixinStandardHelpOptions = true,
        description = {"Bits per byte on held-out text when the first --prompt bytes of each window are prefilled "
                + "densely and every later byte is decoded (teacher-forced) with dense attention, with the decode "
                + "gates at each token budget (SeerAttention-R), with the oracle of the same budget (the blocks of "
                + "highest decode target) and with a fixed sink-plus-recent pattern of the same budget. Counts the "
                + "decoded bytes only. Windows: 10 of corpus/eval-moby.bin then 10 of "
                + "corpus/eval-sotu.bin."},
        footer = {"", "Examples:",
                "  seer eval-decode \\",
                "      --decode-gates java=work/distill-decode/decode-gates.safetensors",
                "  seer eval-decode --decode-gates g=FILE --windows 2 --budgets 512",
                "  seer eval-decode --decode-gates g=FILE --from 10 --windows 4 --json part.json"})
final class EvalDecodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (default: models/tiny-llama-bytes).")
    Path model;

    @Option(names = "--corpus-dir", paramLabel = "DIR",
            description = "Folder with eval-moby.bin and eval-sotu.bin (default: corpus).")
    Path corpusDir;

    @Option(names = "--decode-gates", paramLabel = "NAME=FILE", required = true,
            description = "Decode gates to evaluate, repeatable.")
    List<String> gates;

    @Option(names = "--context", defaultValue = "8192", description = "Context in bytes (default: ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--prompt", defaultValue = "1024",
            description = "Bytes prefilled densely before decoding (default: ${DEFAULT-VALUE}).")
    int prompt;

    @Option(names = "--budgets", split = ",", defaultValue = "512,1024,2048",
            description = "Token budgets (default: ${DEFAULT-VALUE}).")
    List<Integer> budgets;

    @Option(names = "--no-sink-recent", description = "Skip the sink-plus-recent pattern.")
    boolean noSinkRecent;

    @Option(names = "--no-oracle", description = "Skip the oracle selection.")
    boolean noOracle;

    @Option(names = "--windows", defaultValue = "4", description = "How many of the 20 windows (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--from", defaultValue = "0", description = "Index of the first window, 0-19 (default: ${DEFAULT-VALUE}).")
    int from;

    @Option(names = "--backend", defaultValue = "auto", description = "Engine: cpu, cuda, reference or auto "
            + "(default: ${DEFAULT-VALUE}). With cuda the decode gate's per-row work is one device call each.")
    String backend;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the report as JSON.")
    Path json;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    /** Every option value, before anything is read or written (exit 2 naming the flag). */
    List<DecodeEvaluate.NamedGates> checkOptions() {
        OptionChecks c = new OptionChecks(spec);
        if (json != null) {
            c.outputFile("--json", json);
        }
        List<DecodeEvaluate.NamedGates> named = new ArrayList<>();
        for (String g : gates) {
            int eq = g.indexOf('=');
            if (eq <= 0 || eq == g.length() - 1) {
                throw c.bad("--decode-gates must be NAME=FILE, got '" + g + "'");
            }
            try {
                named.add(new DecodeEvaluate.NamedGates(g.substring(0, eq), Path.of(g.substring(eq + 1))));
            } catch (java.nio.file.InvalidPathException e) {
                throw c.bad("--decode-gates " + g + ": not a file path (" + e.getReason() + ")");
            }
        }
        c.inRange("--windows", windows, 1, 20);
        c.inRange("--from", from, 0, 19);
        if (from + windows > 20) {
            throw c.bad("--from " + from + " with --windows " + windows + " goes past the 20 windows");
        }
        c.inRange("--context", context, DemoCommand.MIN_CONTEXT, DemoCommand.MAX_CONTEXT);
        c.inRange("--prompt", prompt, 1, context - 1L);
        if (budgets == null || budgets.isEmpty()) {
            throw c.bad("--budgets needs at least one token budget");
        }
        for (int b : budgets) {
            c.atLeast("--budgets", b, 1);
        }
        c.backend("--backend", backend);
        if (backend.equalsIgnoreCase("tornado")) {
            throw c.bad("--backend tornado: the tornado engine does not implement the SeerAttention-R decode "
                    + "operations; use cuda, cpu, reference or auto");
        }
        return named;
    }

    @Override
    public Integer call() {
        List<DecodeEvaluate.NamedGates> named = checkOptions();
        List<EvalOptions.Window> all = EvalOptions.acceptanceWindows(Seer.orDefault(corpusDir, "corpus"), context);
        DecodeEvaluate.Report r = DecodeEvaluate.run(new DecodeEvaluate.Options(
                Seer.orDefault(model, "models/tiny-llama-bytes"), named, all.subList(from, from + windows), prompt,
                budgets, !noSinkRecent, !noOracle, backend, json, !noProgress));
        PrintWriter w = spec.commandLine().getOut();
        w.println(r.table());
        w.printf(Locale.ROOT, "%d windows at context %d, prompt %d, %.1f s%n", r.windowsDone(), r.context(),
                r.prompt(), r.seconds());
        if (json != null) {
            w.println("json: " + json);
        }
        return 0;
    }
}
