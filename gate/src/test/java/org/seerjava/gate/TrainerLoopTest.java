package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's loop and helpers: the held-out loss equals the batch loss, the per-layer losses add up to it, the
 * loop calls the listener and the progress bar once a step with the running average of the loss, no clipping at
 * {@code maxGradNorm} 0, the settings' checks, the corpus windows (offsets inside the corpus, both ends reachable,
 * bytes read unsigned, windows outside refused).
 */
class TrainerLoopTest {
    @TempDir
    Path dir;

    @Test
    void theHeldOutLossIsTheBatchLossAndTheLayersAddUpToIt() {
        List<GateSample[]> windows = TrainerStepTest.windows(3, false, 3);   // 3 windows, 4 layers
        GateSet gates = GateSet.init(TrainerStepTest.SPEC, 2);
        DistillationTrainer.BatchResult b = DistillationTrainer.lossAndGradients(gates, windows);
        assertThat(DistillationTrainer.loss(gates, windows)).isCloseTo(b.loss(), within(1e-12 * b.loss()));
        assertThat(b.layerLosses()).hasSize(4);
        double sum = 0;
        for (int l = 0; l < 4; l++) {
            double mean = 0;
            for (GateSample[] w : windows) {
                mean += GateMath.loss(TrainerStepTest.SPEC, gates.layer(l), DistillationTrainer.toDouble(w[l].qPooled()),
                        DistillationTrainer.toDouble(w[l].kPooled()), DistillationTrainer.toDouble(w[l].target()), 1,
                        w[l].blocks()) / 3;
            }
            assertThat(b.layerLosses()[l]).isCloseTo(mean, within(1e-12));
            sum += mean;
        }
        assertThat(b.loss()).isCloseTo(10 * sum, within(1e-10));
        assertThatThrownBy(() -> DistillationTrainer.lossAndGradients(gates, List.of()))
                .hasMessage("a batch needs at least one window");
    }

    @Test
    void theLoopReportsEveryStepToTheListenerAndTheBar() {
        List<GateSample[]> windows = TrainerStepTest.windows(4, false, 2);
        GateSet gates = GateSet.init(TrainerStepTest.SPEC, 2);
        DistillationTrainer t = new DistillationTrainer(gates, new DistillationTrainer.Settings(3, 1e-2, 1, 0, 1),
                AdamW.Settings.defaults(0));
        assertThat(t.gates()).isSameAs(gates);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<Integer> heard = new ArrayList<>();
        List<DistillationTrainer.StepLog> history;
        try (Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), "distil", 3, false, 0)) {
            history = t.train(step -> windows, 1000, p, (log, g) -> {
                assertThat(g).isSameAs(gates);
                heard.add(log.step());
            });
        }
        assertThat(heard).containsExactly(0, 1, 2);
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).hasSize(3);
        double ema = Double.NaN;
        for (int s = 0; s < 3; s++) {
            double loss = history.get(s).loss();
            ema = s == 0 ? loss : 0.9 * ema + 0.1 * loss;
            assertThat(lines[s]).contains(" " + (s + 1) + "/3 ")
                    .contains(String.format(Locale.ROOT, "loss %.4f (avg %.4f) ", loss, ema));
            assertThat(history.get(s).tokensPerSecond() * history.get(s).seconds())
                    .isCloseTo(1000.0 * (s + 1), within(1e-6));
        }
        assertThat(history.get(2).loss()).isNotEqualTo(history.get(0).loss());
        assertThat(history.get(1).seconds()).isPositive().isLessThan(600);
    }

    @Test
    void maxGradNormZeroMeansNoClipping() {
        List<GateSample[]> windows = TrainerStepTest.windows(5, true, 2);
        GateSet zero = GateSet.init(TrainerStepTest.SPEC, 2);
        GateSet off = GateSet.init(TrainerStepTest.SPEC, 2);
        new DistillationTrainer(zero, new DistillationTrainer.Settings(2, 1e-2, 0, 0, 0), AdamW.Settings.defaults(0))
                .train(s -> windows, 0, null, null);
        new DistillationTrainer(off, new DistillationTrainer.Settings(2, 1e-2, 0, 0, -1), AdamW.Settings.defaults(0))
                .train(s -> windows, 0, null, null);
        DistillationRunTest.assertSameWeights(zero, off);
        assertThat(DistillationTrainer.parameters(zero).get(0)).isNotEqualTo(
                DistillationTrainer.parameters(GateSet.init(TrainerStepTest.SPEC, 2)).get(0));
    }

    @Test
    void settingsAreChecked() {
        String m = "need steps > 0, lr > 0, warmup >= 0, weight decay >= 0; got ";
        assertThatThrownBy(() -> new DistillationTrainer.Settings(0, 1e-3, 0, 0, 1)).hasMessage(m + "0, 0.001, 0, 0.0");
        assertThatThrownBy(() -> new DistillationTrainer.Settings(1, 0, 0, 0, 1)).hasMessage(m + "1, 0.0, 0, 0.0");
        assertThatThrownBy(() -> new DistillationTrainer.Settings(1, Double.NaN, 0, 0, 1)).hasMessageStartingWith(m);
        assertThatThrownBy(() -> new DistillationTrainer.Settings(1, 1, -1, 0, 1)).hasMessage(m + "1, 1.0, -1, 0.0");
        assertThatThrownBy(() -> new DistillationTrainer.Settings(1, 1, 0, -0.5, 1)).hasMessage(m + "1, 1.0, 0, -0.5");
        assertThatThrownBy(() -> new DistillationTrainer.Settings(1, 1, 0, Double.NaN, 1)).hasMessageStartingWith(m);
        DistillationTrainer.Settings ok = new DistillationTrainer.Settings(1, Double.MIN_VALUE, 0, 0, 0);
        assertThat(ok.steps()).isEqualTo(1);
    }

    @Test
    void windowOffsetsLieInsideTheCorpusAndReachBothEnds() {
        SplittableRandom r = new SplittableRandom(1);
        long[] offsets = DistillationTrainer.randomOffsets(103, 100, 200, r);
        assertThat(offsets).hasSize(200).containsOnly(0L, 1L, 2L, 3L).contains(0L, 3L);
        assertThat(DistillationTrainer.randomOffsets(100, 100, 5, new SplittableRandom(2))).containsOnly(0L);
        assertThatThrownBy(() -> DistillationTrainer.randomOffsets(99, 100, 1, new SplittableRandom(2)))
                .hasMessage("corpus has 99 tokens, shorter than a window of 100");
        long[] big = DistillationTrainer.randomOffsets(1L << 40, 10, 50, new SplittableRandom(3));
        assertThat(java.util.Arrays.stream(big).min().getAsLong()).isNotNegative();
        assertThat(java.util.Arrays.stream(big).max().getAsLong()).isLessThanOrEqualTo((1L << 40) - 10);
        assertThat(java.util.Arrays.stream(big).max().getAsLong()).isGreaterThan(1L << 38);
    }

    @Test
    void windowBytesAreReadUnsignedAndMustLieInsideTheCorpus() {
        byte[] corpus = new byte[256];
        for (int i = 0; i < corpus.length; i++) {
            corpus[i] = (byte) (255 - i);
        }
        int[] t = DistillationTrainer.tokens(corpus, 6, 250);                 // up to the last byte
        assertThat(t).hasSize(250);
        for (int i = 0; i < 250; i++) {
            assertThat(t[i]).isEqualTo(255 - 6 - i);
        }
        assertThat(DistillationTrainer.tokens(corpus, 256, 0)).isEmpty();
        assertThat(DistillationTrainer.tokens(corpus, 0, 256)[0]).isEqualTo(255);
        assertThatThrownBy(() -> DistillationTrainer.tokens(corpus, 7, 250))
                .hasMessage("window [7, 257) is outside the corpus of 256 bytes");
        assertThatThrownBy(() -> DistillationTrainer.tokens(corpus, -1, 2))
                .hasMessage("window [-1, 1) is outside the corpus of 256 bytes");
        assertThatThrownBy(() -> DistillationTrainer.tokens(corpus, 0, -1))
                .hasMessage("window [0, -1) is outside the corpus of 256 bytes");
        assertThatThrownBy(() -> DistillationTrainer.tokens(corpus, Long.MAX_VALUE, 2))
                .isInstanceOf(IllegalArgumentException.class);
        Path missing = dir.resolve("missing.bin");
        assertThatThrownBy(() -> DistillationTrainer.readCorpus(missing))
                .hasMessageStartingWith("cannot read corpus " + missing + ": ");
    }
}
