package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's library example compiles against the project and runs (from the project folder). */
class ReadmeExampleTest {

    @Test
    void readmeExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        int start = readme.indexOf("<!-- example:start -->");
        int end = readme.indexOf("<!-- example:end -->");
        assertThat(start).as("README example markers").isNotNegative();
        String block = readme.substring(start, end);
        String code = block.substring(block.indexOf("```java") + 7, block.lastIndexOf("```"));
        Path source = dir.resolve("Example.java");
        Files.writeString(source, code);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, null, diagnostics, "-d", dir.toString(), "-cp", System.getProperty("java.class.path"),
                source.toString());
        assertThat(rc).as(diagnostics.toString(StandardCharsets.UTF_8)).isZero();

        // Run it as a user would: a fresh JVM in the project folder (the example's paths are relative to it).
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(javaBin.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp",
                dir + java.io.File.pathSeparator + System.getProperty("java.class.path"), "Example")
                .directory(Path.of("..").toAbsolutePath().normalize().toFile())
                .redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(printed).isZero();
        assertThat(printed).containsPattern("density 0\\.\\d{3}, gate \\d+ ms, attention \\d+ ms, output\\[0\\] = -?\\d");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("density (0\\.\\d{3})").matcher(printed);
        assertThat(m.find()).isTrue();
        double density = Double.parseDouble(m.group(1));
        assertThat(density).isBetween(0.25, 0.5);
    }
}
