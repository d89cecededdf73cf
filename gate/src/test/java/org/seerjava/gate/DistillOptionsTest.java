package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.RopeConfig;

/**
 * The distillation options by value: every integer setting accepted at its minimum and refused one below it with
 * the field and the limit named, the learning rate, weight decay and clip refused when not numbers in range, the
 * defaults of the gate type and engine, the recipe of docs/ACCURACY.md, each {@code with…} changing only its
 * field, and the gate shape with hidden size 0 meaning head_dim.
 */
class DistillOptionsTest {
    static final Path M = Path.of("m");
    static final Path C = Path.of("c");

    /** Options with the integer settings given in record order, everything else from the defaults. */
    static DistillOptions ints(int blockSize, int gateHidden, int seqLen, int batch, int steps, int warmup,
                               int checkpointEvery, int poolWindows) {
        return new DistillOptions(M, C, null, null, blockSize, gateHidden, seqLen, batch, steps, 1e-3, warmup, 0, 1,
                0, checkpointEvery, poolWindows, null, false);
    }

    @Test
    void integerSettingsAtTheirMinimumAndOneBelow() {
        DistillOptions least = ints(1, 0, 1, 1, 1, 0, 0, 0);
        assertThat(least.gateType()).isEqualTo("Qavg_Kmaxminavg");
        assertThat(least.engine()).isEqualTo("auto");
        assertThatThrownBy(() -> ints(0, 0, 1, 1, 1, 0, 0, 0)).hasMessage("blockSize must be at least 1, got 0");
        assertThatThrownBy(() -> ints(1, -1, 1, 1, 1, 0, 0, 0)).hasMessage("gateHidden must be at least 0, got -1");
        assertThatThrownBy(() -> ints(64, 0, 63, 1, 1, 0, 0, 0))
                .hasMessage("seqLen (at least one block) must be at least 64, got 63");
        assertThat(ints(64, 0, 64, 1, 1, 0, 0, 0).seqLen()).isEqualTo(64);
        assertThatThrownBy(() -> ints(1, 0, 1, 0, 1, 0, 0, 0)).hasMessage("batch must be at least 1, got 0");
        assertThatThrownBy(() -> ints(1, 0, 1, 1, 0, 0, 0, 0)).hasMessage("steps must be at least 1, got 0");
        assertThatThrownBy(() -> ints(1, 0, 1, 1, 1, -1, 0, 0)).hasMessage("warmup must be at least 0, got -1");
        assertThatThrownBy(() -> ints(1, 0, 1, 1, 1, 0, -1, 0)).hasMessage("checkpointEvery must be at least 0, got -1");
        assertThatThrownBy(() -> ints(1, 0, 1, 1, 1, 0, 0, -1)).hasMessage("poolWindows must be at least 0, got -1");
        assertThatThrownBy(() -> new DistillOptions(null, C, null, null, 1, 0, 1, 1, 1, 1e-3, 0, 0, 1, 0, 0, 0, null,
                false)).hasMessage("model directory and corpus must be given");
        assertThatThrownBy(() -> new DistillOptions(M, null, null, null, 1, 0, 1, 1, 1, 1e-3, 0, 0, 1, 0, 0, 0, null,
                false)).hasMessage("model directory and corpus must be given");
    }

    @Test
    void realSettingsOutOfRangeAreRefused() {
        DistillOptions d = DistillOptions.defaults(M, C, null);
        for (double lr : new double[] {0, -1e-3, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> d.withLr(lr, 0)).hasMessage("lr must be finite and > 0, got " + lr);
        }
        for (double wd : new double[] {-1e-9, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> d.withWeightDecay(wd)).hasMessage("weightDecay must be finite and >= 0, got " + wd);
        }
        assertThat(d.withWeightDecay(0).weightDecay()).isZero();
        assertThatThrownBy(() -> new DistillOptions(M, C, null, null, 64, 0, 64, 1, 1, 1e-3, 0, 0, Double.NaN, 0, 0, 0,
                null, false)).hasMessageStartingWith("maxGradNorm must be a number");
        assertThat(new DistillOptions(M, C, null, null, 64, 0, 64, 1, 1, 1e-3, 0, 0, 0, 0, 0, 0, null, false)
                .maxGradNorm()).isZero();
    }

    @Test
    void defaultsRecipeAndWithers() {
        DistillOptions d = DistillOptions.defaults(M, C, Path.of("o"));
        assertThat(d).isEqualTo(new DistillOptions(M, C, Path.of("o"), "Qavg_Kmaxminavg", 64, 0, 2048, 4, 100, 1e-3,
                20, 0, 1.0, 0, 0, 0, "auto", true));
        assertThat(DistillOptions.recipe8k(M, C, null)).isEqualTo(new DistillOptions(M, C, null, "Qavg_Kmaxminavg", 64,
                0, 8192, 4, 500, 1e-2, 20, 0, 1.0, 0, 100, 32, "auto", true));
        assertThat(d.withSeqLen(128)).isEqualTo(new DistillOptions(M, C, Path.of("o"), "Qavg_Kmaxminavg", 64, 0, 128,
                4, 100, 1e-3, 20, 0, 1.0, 0, 0, 0, "auto", true));
        assertThat(d.withBatch(2).batch()).isEqualTo(2);
        assertThat(d.withSteps(7).steps()).isEqualTo(7);
        assertThat(d.withLr(5e-3, 3)).extracting(DistillOptions::lr, DistillOptions::warmup).containsExactly(5e-3, 3);
        assertThat(d.withSeed(9).seed()).isEqualTo(9);
        assertThat(d.withPoolWindows(5).poolWindows()).isEqualTo(5);
        assertThat(d.withCheckpointEvery(4).checkpointEvery()).isEqualTo(4);
        assertThat(d.withEngine("cpu").engine()).isEqualTo("cpu");
        assertThat(d.withProgress(false).progress()).isFalse();
        assertThat(d.withOutputDir(Path.of("p")).outputDir()).isEqualTo(Path.of("p"));
        assertThat(d.withWeightDecay(0.1).withSeed(9)).isEqualTo(new DistillOptions(M, C, Path.of("o"),
                "Qavg_Kmaxminavg", 64, 0, 2048, 4, 100, 1e-3, 20, 0.1, 1.0, 9, 0, 0, "auto", true));
    }

    @Test
    void gateHiddenZeroMeansHeadDimAndTheRandomSourcesFollowTheSeed() {
        ModelDims dims = new ModelDims(2, 4, 2, 16, RopeConfig.of(10_000, 16));
        DistillOptions d = DistillOptions.defaults(M, C, null);
        assertThat(d.gateSpec(dims).gate().hiddenSize()).isEqualTo(16);
        assertThat(d.gateSpec(dims).gate().blockSize()).isEqualTo(64);
        assertThat(d.gateSpec(dims).layers()).isEqualTo(2);
        DistillOptions h8 = new DistillOptions(M, C, null, "Qavg_Kmaxmin", 32, 8, 64, 1, 1, 1e-3, 0, 0, 1, 0, 0, 0,
                null, false);
        assertThat(h8.gateSpec(dims).gate().hiddenSize()).isEqualTo(8);
        assertThat(h8.gateSpec(dims).gate().type().name()).isEqualTo("Qavg_Kmaxmin");
        assertThat(d.windowRandom().nextLong()).isEqualTo(d.windowRandom().nextLong())
                .isNotEqualTo(d.withSeed(1).windowRandom().nextLong());
        assertThat(d.poolPickRandom().nextLong()).isEqualTo(d.poolPickRandom().nextLong())
                .isNotEqualTo(d.windowRandom().nextLong());
    }
}
