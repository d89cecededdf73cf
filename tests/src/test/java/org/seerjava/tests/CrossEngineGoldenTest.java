package org.seerjava.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.golden.GoldenCheck;

/**
 * Every engine on the class path reproduces every golden file of golden-data/ within the golden tolerances. An
 * engine that cannot run here (no GPU in CI) is skipped with its reason printed.
 */
class CrossEngineGoldenTest {
    static final Path GOLDEN = Path.of("../golden-data");

    static Stream<Arguments> cases() {
        List<Arguments> args = new ArrayList<>();
        for (EngineProvider p : Engines.providers()) {
            for (Path file : GoldenCheck.goldenFiles(GOLDEN)) {
                args.add(Arguments.of(p.name(), file.getFileName().toString()));
            }
        }
        return args.stream();
    }

    @Test
    void theReferenceAndTheCpuEngineAreRegistered() {
        assertThat(Engines.providers()).extracting(EngineProvider::name).contains("reference", "cpu", "cuda");
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void engineReproducesGoldenFile(String engineName, String fileName) {
        Engine engine = AvailableEngine.require(engineName, " on " + fileName);
        List<GoldenCheck.Result> results = GoldenCheck.run(GOLDEN.resolve(fileName), engine);
        assertThat(results).allSatisfy(r -> assertThat(r.passed())
                .as("%s / %s %s: %s %.3e > %.0e %s", engineName, r.caseName(), r.tensor(), r.metric(), r.error(),
                        r.tolerance(), r.note())
                .isTrue());
    }

    /** The varlen operations on every golden file packed after a prefix of its first sequence (docs/SPEC.md §11). */
    @ParameterizedTest(name = "{0} on {1}, varlen")
    @MethodSource("cases")
    void engineReproducesGoldenFileAsAVarlenBatch(String engineName, String fileName) {
        EngineProvider provider = Engines.providers().stream().filter(p -> p.name().equals(engineName))
                .findFirst().orElseThrow();
        String reason = provider.unavailableReason();
        if (engineName.equals("cuda")) {
            CudaRequirement.skipReason(reason);   // -Dseer.requireCuda=true: no skip
        }
        Assumptions.assumeTrue(reason == null, () -> engineName + " engine unavailable here: " + reason);
        List<GoldenCheck.Result> results = GoldenCheck.runVarlen(GOLDEN.resolve(fileName), Engines.byName(engineName));
        assertThat(results).hasSize(12).allSatisfy(r -> assertThat(r.passed())
                .as("%s / %s %s: %s %.3e > %.0e %s", engineName, r.caseName(), r.tensor(), r.metric(), r.error(),
                        r.tolerance(), r.note())
                .isTrue());
    }
}
