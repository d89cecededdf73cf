package org.seerjava;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.RopeConfig;

/**
 * The README's library example compiles against the api artifact's class path alone and runs, as a user would run
 * it, in a fresh JVM with the README's flags, from a folder that is not the project's.
 */
class ReadmeExampleTest {

    @Test
    void readmeExampleCompilesAndRunsFromAnyDirectory(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        int start = readme.indexOf("<!-- example:start -->");
        int end = readme.indexOf("<!-- example:end -->");
        assertThat(start).as("README example markers").isNotNegative();
        String block = readme.substring(start, end);
        String code = block.substring(block.indexOf("```java") + 7, block.lastIndexOf("```"));
        Path source = dir.resolve("Example.java");
        Files.writeString(source, code);

        String classPath = System.getProperty("java.class.path");
        // Surefire may hide the class path in a manifest-only jar; it names the real one in this property.
        assertThat(System.getProperty("surefire.test.class.path", classPath))
                .as("the api's test class path has no CLI, chart or benchmark jars")
                .doesNotContain("picocli", "jfreechart", "jmh-core", "seer-cli", "seer-bench", "commons-math3");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, null, diagnostics, "-d", dir.toString(), "-cp", classPath, source.toString());
        assertThat(rc).as(diagnostics.toString(StandardCharsets.UTF_8)).isZero();

        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(javaBin.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", dir + File.pathSeparator + classPath, "Example")
                .directory(elsewhere.toFile())
                .redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(printed).isZero();
        assertThat(printed).as("auto picks the CPU engine when the Vector API module is there")
                .doesNotContain("falling back to the scalar reference");
        // what the example prints is what the facade computes: the same call in this JVM, formatted alike
        SeerAttention seer = SeerAttention.builder().heads(6, 2).headDim(64).rope(RopeConfig.of(100_000, 64))
                .initialGates(7).density(0.3).backend("auto").build();
        int n = 4096;
        Random random = new Random(0);
        float[] q = new float[n * 6 * 64];
        float[] k = new float[n * 2 * 64];
        float[] v = new float[n * 2 * 64];
        for (float[] x : new float[][] {q, k, v}) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
        }
        SeerAttention.Result here = seer.prefill(q, k, v, 1, n);
        String density = String.format(Locale.ROOT, "%.3f", here.density());
        String first = String.format(Locale.ROOT, "%.4f", here.output()[0]);
        Matcher m = Pattern.compile("(\\w+): density (\\d\\.\\d{3}), gate \\d+ ms, attention \\d+ ms, output\\[0\\] = "
                + "(-?\\d+\\.\\d{4})").matcher(printed);
        int lines = 0;
        while (m.find()) {
            lines++;
            assertThat(m.group(1)).as("engine auto picked").isEqualTo(seer.engine().name());
            assertThat(m.group(2)).as("density, call %d", lines).isEqualTo(density);
            assertThat(m.group(3)).as("output[0], call %d", lines).isEqualTo(first);
        }
        assertThat(lines).as(printed).isEqualTo(3);
        assertThat(here.density()).isBetween(0.25, 0.5);
    }
}
