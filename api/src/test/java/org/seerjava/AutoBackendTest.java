package org.seerjava;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.engine.Engines;

/**
 * What {@code backend("auto")} picks in a fresh JVM with and without the Vector API module, and that falling back
 * to the scalar reference is logged as a WARNING that says how to fix it.
 */
class AutoBackendTest {

    /** Prints the engine auto picks (run in a child JVM). */
    public static final class PrintAuto {
        public static void main(String[] args) {
            System.out.println("auto=" + Engines.byName("auto").name());
        }
    }

    record Run(int exit, String out, String err) {
    }

    static Run run(String... jvmFlags) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmFlags));
        cmd.add("-Dseer.backend=auto");
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PrintAuto.class.getName()));
        File err = File.createTempFile("auto-backend", ".err");
        err.deleteOnExit();
        Process p = new ProcessBuilder(cmd).redirectError(err).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        return new Run(exit, out, java.nio.file.Files.readString(err.toPath()));
    }

    @Test
    void withoutTheVectorModuleAutoFallsBackToTheReferenceWithAWarning() throws Exception {
        Run r = run("--enable-native-access=ALL-UNNAMED");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("auto=reference");
        assertThat(r.err()).contains("WARNING", "falling back to the scalar reference",
                "cpu is not available", "--add-modules jdk.incubator.vector");
    }

    @Test
    void withTheVectorModuleAutoPicksAFastEngineSilently() throws Exception {
        Run r = run("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("auto=(cpu|cuda)");
        assertThat(r.err()).doesNotContain("falling back");
    }
}
