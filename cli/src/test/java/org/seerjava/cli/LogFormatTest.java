package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The seer command's log records are one line each, without the launcher setting a format. */
class LogFormatTest {

    @Test
    void logRecordsAreOneLineEach() throws Exception {
        File err = File.createTempFile("seer-log", ".err");
        err.deleteOnExit();
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Seer.class.getName(),
                "bench", "--backend", "cpu", "--sizes", "64", "--densities", "1", "--reps", "1", "--heads", "1")
                .redirectError(err).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor()).isZero();
        List<String> lines = Files.readAllLines(err.toPath(), StandardCharsets.UTF_8);
        assertThat(lines).as("the engine choice is logged on one line").anyMatch(l -> l.startsWith("INFO: seer backend: cpu"));
        assertThat(lines).as("no two-line records (a date and source line before each message)")
                .noneMatch(l -> l.matches("^[A-Z][a-z]{2} \\d{2}, \\d{4} .*"));
    }
}
