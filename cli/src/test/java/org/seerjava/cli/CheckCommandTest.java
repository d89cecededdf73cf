package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code seer check} through the real entry point: exit codes and output. */
class CheckCommandTest {

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        System.setProperty("seer.home", "..");
        return runNoHome(args);
    }

    /** Runs the command line with whatever {@code seer.home} is set. */
    static Run runNoHome(String... args) {
        CommandLine cl = Seer.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void checkPassesOnTheProjectGoldenFiles() {
        Run r = run("check");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("golden-small-gqa", "golden-partial-block", "golden-batch2",
                "gate.scores", "official.sparse_threshold_bf16", "45 comparisons, 45 passed, 0 failed");
    }

    @Test
    void checkOfAFolderWithACorruptFileIsAnErrorNamingTheFile(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("broken.safetensors"), new byte[]{1, 2, 3});
        Run r = run("check", dir.toString());
        assertThat(r.exit()).isEqualTo(Seer.ERROR);
        assertThat(r.err()).contains("broken.safetensors").doesNotContain("\tat ");
    }

    @Test
    void checkOfAMissingFolderIsAnErrorAndAnUnknownBackendABadArgument(@TempDir Path dir) {
        Run missing = run("check", dir.resolve("nope").toString());
        assertThat(missing.exit()).isEqualTo(Seer.ERROR);
        assertThat(missing.err()).contains("does not exist");
        Run backend = run("check", "--backend", "tpu");
        assertThat(backend.exit()).isEqualTo(Seer.USAGE);
        assertThat(backend.err()).contains("--backend 'tpu' is not an engine: expected one of auto, ");
    }

    @Test
    void badArgumentsGiveUsageExitCode() {
        Run r = run("check", "--no-such-flag");
        assertThat(r.exit()).isEqualTo(Seer.USAGE);
        assertThat(r.err()).contains("Unknown option: '--no-such-flag'");
        Run unknown = run("frobnicate");
        assertThat(unknown.exit()).isEqualTo(Seer.USAGE);
    }

    @Test
    void helpHasExamples() {
        Run r = run("check", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Examples:", "seer check --backend cpu");
    }
}
