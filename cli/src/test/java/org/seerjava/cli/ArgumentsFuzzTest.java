package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * Random command lines for demo, distill, eval and bench: each option of the command (from its picocli model) with
 * boundary values (negative, zero, huge, NaN, Infinity, empty, lists, paths to nothing, to a file, to a directory).
 * Documented outcomes: the line parses and the command's option checks pass (nothing is run), or it is refused;
 * a refused line run through the real entry point exits 2 (bad arguments) or 3 (a named file that cannot be read,
 * or too little memory, with the bytes),
 * with nothing on standard output, an error naming a flag or file, no stack trace and no file created. Seeded
 * ({@code -Dseer.fuzz.seed}); {@code -Dseer.fuzz.cases} runs more.
 */
class ArgumentsFuzzTest {
    static final long SEED = Long.getLong("seer.fuzz.seed", 20261204L);
    static final String[] COMMANDS = {"demo", "distill", "eval", "bench"};
    static final String[] NUMBERS = {"0", "-1", "1", "2", "7", "63", "64", "65", "128", "129", "2048", "131072",
            "131073", "2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775808",
            "1e-3", "0.5", "1.0", "1.5", "-0.0", "NaN", "Infinity", "-Infinity", "1e400", "", "x", "0x10", "1,2",
            "0.5,0.2", "0,0.5", "2,0.5", "64,128", "64,0"};
    static final java.util.Map<String, List<OptionSpec>> OPTIONS = new java.util.HashMap<>();

    static {
        CommandLine cl = Seer.commandLine();
        for (String cmd : COMMANDS) {
            OPTIONS.put(cmd, cl.getSubcommands().get(cmd).getCommandSpec().options());
        }
    }

    static final String[] WORDS = {"auto", "cpu", "reference", "nope", "Qavg_Kmaxminavg", "Qavg_Kmax", "Kavgmax",
            "a=b", "=x", "x=", "ref=missing.safetensors"};

    @Test
    void randomCommandLinesHaveOnlyDocumentedOutcomes(@TempDir Path dir) throws Exception {
        System.setProperty("seer.home", "..");
        Path file = Files.writeString(dir.resolve("plain.txt"), "x");
        Path sub = Files.createDirectory(dir.resolve("sub"));
        String[] paths = {dir.resolve("missing").toString(), file.toString(), sub.toString(),
                file.resolve("under-a-file").toString(), sub.resolve("new/deeper").toString(), "", "\u0000"};
        Set<String> before = listing(dir);
        SplittableRandom root = new SplittableRandom(SEED);
        int cases = Integer.getInteger("seer.fuzz.cases", 1000);
        int[] outcome = new int[3];                   // passed, refused with 2, refused with 3
        int[] current = {-1};
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < cases; i++) {
                current[0] = i;
                String[] args = line(root.split(), paths);
                try {
                    outcome[check(args)]++;
                } catch (AssertionError e) {
                    throw new AssertionError("case " + i + " (seed " + SEED + "): " + String.join(" ", args) + ": "
                            + e.getMessage(), e);
                } catch (Throwable e) {
                    throw new AssertionError("case " + i + " (seed " + SEED + "): " + String.join(" ", args)
                            + ": undocumented " + e, e);
                }
            }
        }, () -> "stuck in case " + current[0]);
        assertThat(listing(dir)).as("files created by refused or checked command lines").isEqualTo(before);
        assertThat(outcome[0]).as("lines that pass the checks").isGreaterThan(cases / 50);
        assertThat(outcome[1]).as("lines refused as bad arguments").isGreaterThan(cases / 4);
    }

    /** One random command line: a command, then options of it with random values. */
    static String[] line(SplittableRandom r, String[] paths) {
        String cmd = COMMANDS[r.nextInt(COMMANDS.length)];
        List<OptionSpec> options = OPTIONS.get(cmd);
        List<String> args = new ArrayList<>(List.of(cmd));
        int n = r.nextInt(5);
        for (int k = 0; k < n; k++) {
            OptionSpec o = options.get(r.nextInt(options.size()));
            String name = o.longestName();
            if (name.equals("--help") || name.equals("--version") || name.equals("-h") || name.equals("-V")) {
                continue;
            }
            args.add(name);
            if (o.arity().max() > 0) {
                Class<?> type = o.type();
                String value;
                if (type == java.nio.file.Path.class) {
                    value = paths[r.nextInt(paths.length)];
                } else if (type == String.class || r.nextInt(8) == 0) {
                    value = r.nextBoolean() ? WORDS[r.nextInt(WORDS.length)] : NUMBERS[r.nextInt(NUMBERS.length)];
                } else {
                    value = NUMBERS[r.nextInt(NUMBERS.length)];
                }
                args.add(value);
            }
        }
        if (r.nextInt(10) == 0) {
            args.add(r.nextInt(args.size() + 1), "--verbose");
        }
        args.add("--no-progress".equals(cmd) ? "" : cmd.equals("bench") ? "--reps" : "--no-progress");
        if (cmd.equals("bench")) {
            args.add("1");
        }
        return args.toArray(String[]::new);
    }

    /** 0: parsed and checked (not run); 1: refused with exit 2; 2: refused with exit 3 naming a file. */
    static int check(String[] args) throws Exception {
        CommandLine cl = SHARED;                      // picocli resets every option before each parse
        try {
            CommandLine.ParseResult parsed = cl.parseArgs(args);
            CommandLine sub = parsed.subcommand().commandSpec().commandLine();
            Object command = sub.getCommand();
            switch (command) {
                case DemoCommand d -> d.checkOptions();
                case DistillCommand d -> d.checkOptions();
                case EvalCommand e -> e.checkOptions();
                case BenchCommand b -> b.checkOptions();
                default -> throw new AssertionError("unexpected command " + command);
            }
            return 0;
        } catch (ParameterException e) {
            assertThat(e.getMessage()).isNotBlank();
            CheckCommandTest.Run run = execute(args);
            assertThat(run.exit()).as(run.err()).isEqualTo(Seer.USAGE);
            assertThat(run.out()).isEmpty();
            assertThat(run.err()).startsWith("error: ").contains("--help' for usage");
            return 1;
        } catch (IllegalArgumentException | IOException | org.seerjava.reference.InsufficientMemoryException e) {
            assertThat(e.getMessage()).isNotBlank();
            CheckCommandTest.Run run = execute(args);
            assertThat(run.exit()).as(run.err()).isEqualTo(Seer.ERROR);
            assertThat(run.out()).isEmpty();
            assertThat(run.err()).startsWith("error: ");
            if (!List.of(args).contains("--verbose")) {
                assertThat(run.err()).doesNotContain("\tat ");
            }
            return 2;
        }
    }

    static final CommandLine SHARED = Seer.commandLine();
    static final CommandLine RUNNER = Seer.commandLine();

    /** Runs a line through the real entry point's handlers (one command line object, reset by each execute). */
    static CheckCommandTest.Run execute(String[] args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        RUNNER.setOut(new PrintWriter(out, true));
        RUNNER.setErr(new PrintWriter(err, true));
        int exit = Seer.run(RUNNER, args);
        return new CheckCommandTest.Run(exit, out.toString(), err.toString());
    }

    private static Set<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            Set<String> names = new TreeSet<>();
            s.forEach(p -> names.add(dir.relativize(p).toString()));
            return names;
        }
    }
}
