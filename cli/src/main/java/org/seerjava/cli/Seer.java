package org.seerjava.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.seerjava.reference.InsufficientMemoryException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code seer} command. Exit codes scripts can rely on: 0 success, 1 a check or comparison failed,
 * 2 bad arguments, 3 an error while running (bad file, missing GPU, …).
 */
@Command(name = "seer", mixinStandardHelpOptions = true, version = "seer-java 0.1.0",
        description = "SeerAttention (learned block-sparse attention) in Java.",
        subcommands = {DemoCommand.class, GenerateCommand.class, DistillCommand.class, DistillDecodeCommand.class,
                EvalCommand.class, EvalDecodeCommand.class, CheckCommand.class, BenchCommand.class,
                InspectCommand.class, CommandLine.HelpCommand.class})
public final class Seer {
    /** Exit code: a check or comparison failed. */
    public static final int FAILED = 1;
    /** Exit code: bad arguments. */
    public static final int USAGE = 2;
    /** Exit code: an error while running. */
    public static final int ERROR = 3;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces of errors.")
    boolean verbose;

    /** The project folder: {@code -Dseer.home} (set by the ./seer launcher) or the working directory. */
    static Path home() {
        return Path.of(System.getProperty("seer.home", ".")).toAbsolutePath().normalize();
    }

    /** The given path, or the embedded default {@code rel} (e.g. {@code models/tiny-llama-bytes}) under {@link #home()}. */
    static Path orDefault(Path given, String rel) {
        return given != null ? given : home().resolve(rel);
    }

    /** Builds the command line with the project's error handling. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Seer());
        cl.setExitCodeExceptionMapper(t -> t instanceof CommandLine.ParameterException ? USAGE : ERROR);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("error: " + ex.getMessage());
            err.println("Run 'seer " + (ex.getCommandLine().getCommandName().equals("seer") ? ""
                    : ex.getCommandLine().getCommandName() + " ") + "--help' for usage.");
            return USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            boolean verbose = verbose(parseResult);
            // Errors the user can act on carry a message naming what was wrong: print just that.
            String message = ex.getMessage() != null && (ex instanceof RuntimeException || ex instanceof java.io.IOException)
                    ? ex.getMessage() : ex.toString();
            err.println("error: " + message);
            if (ex instanceof InsufficientMemoryException) {
                err.println("(./seer passes JVM flags from SEER_JAVA_OPTS, e.g. SEER_JAVA_OPTS=-Xmx16g)");
            }
            if (verbose) {
                ex.printStackTrace(err);
            } else if (!(ex instanceof IllegalArgumentException || ex instanceof InsufficientMemoryException)) {
                err.println("(run with --verbose for the stack trace)");
            }
            return ERROR;
        });
        return cl;
    }

    /** The java.util.logging property that sets the log line format. */
    static final String LOG_FORMAT_PROPERTY = "java.util.logging.SimpleFormatter.format";

    /** One line per record: {@code WARNING: message}, then the stack trace when there is one. */
    static final String LOG_FORMAT = "%4$s: %5$s%6$s%n";

    /**
     * Whether {@code --verbose} was given, before or after the subcommand (the option is inherited: each command of
     * the chain has its own copy).
     */
    static boolean verbose(CommandLine.ParseResult parseResult) {
        for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs a command line; an {@link OutOfMemoryError} that escapes a command (a size no check foresaw) becomes a
     * one-line error with the heap limit and exit code 3, its stack trace only with {@code --verbose}.
     */
    static int run(CommandLine cl, String[] args) {
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            PrintWriter err = cl.getErr();
            err.printf(java.util.Locale.ROOT, "error: out of memory (%s; the Java heap may grow to %,d bytes); "
                    + "./seer passes JVM flags from SEER_JAVA_OPTS, e.g. SEER_JAVA_OPTS=-Xmx16g%n", e.getMessage(),
                    Runtime.getRuntime().maxMemory());
            if (java.util.Arrays.asList(args).contains("--verbose")) {
                e.printStackTrace(err);
            }
            err.flush();
            return ERROR;
        }
    }

    /** Entry point. */
    public static void main(String[] args) {
        if (System.getProperty(LOG_FORMAT_PROPERTY) == null) {      // before the first logger reads it
            System.setProperty(LOG_FORMAT_PROPERTY, LOG_FORMAT);
        }
        System.exit(run(commandLine(), args));
    }
}
