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
import picocli.CommandLine.ParameterException;
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

    @Option(names = "--backend", defaultValue = "auto", description = "Engine: cpu, reference or auto (default: "
            + "${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the report as JSON.")
    Path json;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    @Override
    public Integer call() {
        List<DecodeEvaluate.NamedGates> named = new ArrayList<>();
        for (String g : gates) {
            int eq = g.indexOf('=');
            if (eq <= 0 || eq == g.length() - 1) {
                throw new ParameterException(spec.commandLine(), "--decode-gates must be NAME=FILE, got '" + g + "'");
            }
            named.add(new DecodeEvaluate.NamedGates(g.substring(0, eq), Path.of(g.substring(eq + 1))));
        }
        if (windows < 1 || from < 0 || from + windows > 20) {
            throw new ParameterException(spec.commandLine(), "--from " + from + " with --windows " + windows
                    + " must select windows among the 20 (0-19)");
        }
        if (prompt < 1 || prompt >= context) {
            throw new ParameterException(spec.commandLine(), "--prompt must be in [1, --context), got " + prompt);
        }
        for (int b : budgets) {
            if (b < 1) {
                throw new ParameterException(spec.commandLine(), "--budgets must be ≥ 1, got " + b);
            }
        }
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
