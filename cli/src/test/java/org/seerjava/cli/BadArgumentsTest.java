package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad option values through the real entry point: exit code 2 before any work or output (nothing on standard
 * output, no folder created), a message naming the flag, the value and the limit, and the usage hint; no stack trace.
 */
class BadArgumentsTest {
    static final String MOBY = SubcommandsTest.PROJECT.resolve("corpus/eval-moby.bin").toString();

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of(new String[] {"distill", "--steps", "-5"}, "--steps must be at least 1, got -5"),
                Arguments.of(new String[] {"distill", "--seq-len", "0"}, "--seq-len must be in [64, 131072], got 0"),
                Arguments.of(new String[] {"distill", "--batch", "0"}, "--batch must be at least 1, got 0"),
                Arguments.of(new String[] {"distill", "--lr", "-1"}, "--lr must be a finite number > 0, got -1.0"),
                Arguments.of(new String[] {"distill", "--lr", "Infinity"}, "--lr must be a finite number > 0, got Infinity"),
                Arguments.of(new String[] {"distill", "--lr", "NaN"}, "--lr must be a finite number > 0, got NaN"),
                Arguments.of(new String[] {"distill", "--weight-decay", "-0.1"}, "--weight-decay must be a finite number >= 0"),
                Arguments.of(new String[] {"distill", "--windows", "-1"}, "--windows must be at least 0, got -1"),
                Arguments.of(new String[] {"distill", "--block-size", "0"}, "--block-size must be at least 1, got 0"),
                Arguments.of(new String[] {"distill", "--gate-hidden", "-2"}, "--gate-hidden must be at least 0, got -2"),
                Arguments.of(new String[] {"distill", "--checkpoint-every", "-1"}, "--checkpoint-every must be at least 0"),
                Arguments.of(new String[] {"eval", "--densities", "0"}, "--densities must be in (0, 1], got 0.0"),
                Arguments.of(new String[] {"eval", "--windows", "0"}, "--windows must be in [1, 20], got 0"),
                Arguments.of(new String[] {"eval", "--context", "5"}, "--context must be in [128,"),
                Arguments.of(new String[] {"eval", "--copy", "-1"}, "--copy must be at least 0, got -1"),
                Arguments.of(new String[] {"eval", "--gates", "nofile"}, "--gates must be NAME=FILE, got 'nofile'"),
                Arguments.of(new String[] {"demo", "--context", "5"}, "--context must be in [128,"),
                Arguments.of(new String[] {"demo", "--context", "2147483647"}, "--context must be in [128,"),
                Arguments.of(new String[] {"demo", "--offset", "9223372036854775807", "--eval-text", MOBY},
                        "--offset 9223372036854775807 and --context 8193 run past the end of " + MOBY
                                + " (181,457 bytes): --offset + --context must be at most 181457"),
                Arguments.of(new String[] {"demo", "--offset", "-1"}, "--offset must be at least 0, got -1"),
                Arguments.of(new String[] {"demo", "--densities", "1.5"}, "--densities must be in (0, 1], got 1.5"),
                Arguments.of(new String[] {"demo", "--runs", "0"}, "--runs must be at least 1, got 0"),
                Arguments.of(new String[] {"demo", "--steps", "0"}, "--steps must be at least 1, got 0"),
                Arguments.of(new String[] {"demo", "--picture-density", "0"}, "--picture-density must be in (0, 1]"),
                Arguments.of(new String[] {"demo", "--layer", "-1"}, "--layer must be at least 0, got -1"),
                Arguments.of(new String[] {"bench", "--reps", "0"}, "--reps must be at least 1, got 0"),
                Arguments.of(new String[] {"bench", "--densities", "2"}, "--densities must be in (0, 1], got 2.0"),
                Arguments.of(new String[] {"bench", "--sizes", "1024,0"}, "--sizes must be at least 64, got 0"),
                Arguments.of(new String[] {"bench", "--sizes", "100000000"}, "--sizes 100000000 with --heads 8 needs arrays of 102400000000 floats, more than the 2147483639 a Java array holds"),
                Arguments.of(new String[] {"bench", "--heads", "0"}, "--heads must be at least 1, got 0"),
                Arguments.of(new String[] {"bench", "--backend", "gpu"}, "--backend 'gpu' is not an engine: expected one of auto"),
                Arguments.of(new String[] {"check", "--backend", "fast"}, "--backend 'fast' is not an engine"),
                Arguments.of(new String[] {"distill", "--backend", "tpu"}, "--backend 'tpu' is not an engine"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void badValuesExitTwoBeforeAnyWorkNamingTheFlag(String[] args, String message, @TempDir Path home) throws Exception {
        Path out = home.resolve("a/b");
        String[] withOut = args;
        if (!args[0].equals("bench") && !args[0].equals("check")) {                  // a folder that must not be created by a refused command
            withOut = Stream.concat(Stream.of(args), Stream.of(args[0].equals("eval") ? "--json" : "--out",
                    args[0].equals("eval") ? out.resolve("r.json").toString() : out.toString())).toArray(String[]::new);
        }
        CheckCommandTest.Run r = DemoCommandTest.runIn(home, withOut);
        assertThat(r.exit()).as(r.err()).isEqualTo(Seer.USAGE);
        assertThat(r.err()).contains("error: " + message).contains("Run 'seer " + args[0] + " --help'")
                .doesNotContain("\tat ");
        assertThat(r.out()).isEmpty();
        assertThat(home.resolve("a")).doesNotExist();
        try (Stream<Path> files = Files.list(home)) {
            assertThat(files).isEmpty();                  // no cache folder, no work folder
        }
    }

    @Test
    void outputPathsThatCannotBeWrittenAreRefusedBeforeAnyWork(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("plain.txt"), "x");
        CheckCommandTest.Run demo = CheckCommandTest.run("demo", "--out", file.toString());
        assertThat(demo.exit()).isEqualTo(Seer.USAGE);
        assertThat(demo.err()).contains("--out " + file + " is a file, not a directory");
        assertThat(demo.out()).isEmpty();
        CheckCommandTest.Run distill = CheckCommandTest.run("distill", "--out", file.toString(), "--no-progress");
        assertThat(distill.exit()).isEqualTo(Seer.USAGE);
        assertThat(distill.err()).contains("--out " + file + " is a file, not a directory");
        assertThat(distill.out()).isEmpty();
        CheckCommandTest.Run under = CheckCommandTest.run("distill", "--out", file.resolve("sub").toString());
        assertThat(under.exit()).isEqualTo(Seer.USAGE);
        assertThat(under.err()).contains("cannot be created: " + file + " is not a directory");
        CheckCommandTest.Run eval = CheckCommandTest.run("eval", "--json", dir.toString(), "--no-progress");
        assertThat(eval.exit()).isEqualTo(Seer.USAGE);
        assertThat(eval.err()).contains("--json " + dir + " is a directory; give a file name");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(file);     // no temp file left
        }
    }

    @Test
    void verboseWorksBeforeAndAfterTheSubcommand(@TempDir Path dir) {
        Path missing = dir.resolve("missing.safetensors");
        for (String[] args : new String[][] {
                {"--verbose", "inspect", missing.toString()},
                {"inspect", "--verbose", missing.toString()},
                {"inspect", missing.toString(), "--verbose"}}) {
            CheckCommandTest.Run r = CheckCommandTest.run(args);
            assertThat(r.exit()).isEqualTo(Seer.ERROR);
            assertThat(r.err()).as(String.join(" ", args)).contains("missing.safetensors", "\tat ")
                    .doesNotContain("run with --verbose");
        }
        CheckCommandTest.Run quiet = CheckCommandTest.run("inspect", missing.toString());
        assertThat(quiet.exit()).isEqualTo(Seer.ERROR);
        assertThat(quiet.err()).contains("missing.safetensors", "does not exist").doesNotContain("\tat ");
    }

    @Test
    void aDirectoryOrAPipeGivenAsASafetensorsFileIsNamed(@TempDir Path dir) throws Exception {
        CheckCommandTest.Run r = CheckCommandTest.run("inspect", dir.toString());
        assertThat(r.exit()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains(dir.toString(), "expected a regular file, found a directory")
                .doesNotContain("No such device");
        Path pipe = dir.resolve("pipe");
        Process mk = new ProcessBuilder("mkfifo", pipe.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "no mkfifo");
        CheckCommandTest.Run fifo = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(20), () -> CheckCommandTest.run("inspect", pipe.toString()));
        assertThat(fifo.exit()).isEqualTo(Seer.ERROR);
        assertThat(fifo.err()).contains("a device, pipe or socket");
    }

    @Test
    void theBackendDefaultsToTheSeerBackendProperty() {
        String old = System.getProperty("seer.backend");
        try {
            System.setProperty("seer.backend", "reference");
            for (String cmd : new String[] {"demo", "distill", "eval", "generate"}) {
                picocli.CommandLine cl = Seer.commandLine();
                cl.parseArgs(cmd);
                picocli.CommandLine sub = cl.getSubcommands().get(cmd);
                assertThat((String) sub.getCommandSpec().findOption("--backend").getValue()).as(cmd).isEqualTo("reference");
            }
            System.clearProperty("seer.backend");
            picocli.CommandLine cl = Seer.commandLine();
            cl.parseArgs("demo");
            assertThat((String) cl.getSubcommands().get("demo").getCommandSpec().findOption("--backend").getValue())
                    .isEqualTo("auto");
        } finally {
            if (old == null) {
                System.clearProperty("seer.backend");
            } else {
                System.setProperty("seer.backend", old);
            }
        }
    }
}
