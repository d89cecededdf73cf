package org.seerjava.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.golden.GoldenCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code seer check [DIR]}: runs every golden case through an engine and prints the errors per tensor. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Run every golden file (tensors produced by the official SeerAttention implementation) "
                + "through an engine and print the error of every tensor. Exit code 0 only if all pass."},
        footer = {"", "Examples:",
                "  seer check                      # golden-data/ through the reference",
                "  seer check --backend cpu        # the same through the Vector API engine",
                "  seer check --backend tornado    # TornadoVM engine (needs TORNADOVM_HOME)",
                "  seer check path/to/goldens      # every *.safetensors golden file of a folder"})
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
            description = "Folder of golden .safetensors files (default: golden-data/ of the project).")
    Path dir;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "reference",
            description = "Engine: reference, cpu, cuda, tornado or auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Override
    public Integer call() {
        new OptionChecks(spec).backend("--backend", backend);
        PrintWriter out = spec.commandLine().getOut();
        Path folder = dir != null ? dir : Seer.home().resolve("golden-data");
        Engine engine = Engines.byName(backend);
        out.printf("seer check: %s through %s (%s)%n%n", folder, engine.name(), engine.description());
        out.printf("%-22s %-32s %-10s %12s %10s  %s%n", "case", "tensor", "metric", "error", "tolerance", "result");
        List<GoldenCheck.Result> all = new ArrayList<>();
        for (Path file : GoldenCheck.goldenFiles(folder)) {
            for (GoldenCheck.Result r : GoldenCheck.run(file, engine)) {
                all.add(r);
                out.printf("%-22s %-32s %-10s %12.3e %10.0e  %s%s%n", r.caseName(), r.tensor(), r.metric(), r.error(),
                        r.tolerance(), r.passed() ? "pass" : "FAIL", r.note().isEmpty() ? "" : "  (" + r.note() + ")");
            }
            out.flush();
        }
        long failed = all.stream().filter(r -> !r.passed()).count();
        out.printf("%n%d comparisons, %d passed, %d failed%n", all.size(), all.size() - failed, failed);
        return failed == 0 ? 0 : Seer.FAILED;
    }
}
