package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.golden.GoldenCheck;

/** Every tensor of every golden file in golden-data/ is reproduced by the reference (issue #2, acceptance 1). */
class GoldenConformanceTest {
    static final Path GOLDEN = Path.of("../golden-data");

    static Stream<Path> files() {
        return GoldenCheck.goldenFiles(GOLDEN).stream();
    }

    @ParameterizedTest
    @MethodSource("files")
    void referenceReproducesGoldenFile(Path file) {
        List<GoldenCheck.Result> results = GoldenCheck.run(file, new ReferenceEngine());
        for (GoldenCheck.Result r : results) {
            System.out.printf("%-22s %-32s %-10s %.3e (tol %.0e) %s%n", r.caseName(), r.tensor(), r.metric(),
                    r.error(), r.tolerance(), r.note());
        }
        assertThat(results).hasSizeGreaterThanOrEqualTo(14);
        assertThat(results).allSatisfy(r -> assertThat(r.passed())
                .as("%s %s: %s %.3e > %.0e", r.caseName(), r.tensor(), r.metric(), r.error(), r.tolerance())
                .isTrue());
    }

    @ParameterizedTest
    @MethodSource("files")
    void referenceReproducesGoldenFileAsAVarlenBatch(Path file) {
        List<GoldenCheck.Result> results = GoldenCheck.runVarlen(file, new ReferenceEngine());
        for (GoldenCheck.Result r : results) {
            System.out.printf("%-30s %-36s %-10s %.3e (tol %.0e)%n", r.caseName(), r.tensor(), r.metric(), r.error(),
                    r.tolerance());
        }
        assertThat(results).hasSize(12);
        assertThat(results).allSatisfy(r -> assertThat(r.passed())
                .as("%s %s: %s %.3e > %.0e", r.caseName(), r.tensor(), r.metric(), r.error(), r.tolerance())
                .isTrue());
    }
}
