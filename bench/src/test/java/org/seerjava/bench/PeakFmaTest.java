package org.seerjava.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class PeakFmaTest {
    /** FLOPs of one loop iteration on one thread: 16 accumulator vectors, one FMA (2 FLOPs per lane) each. */
    private static final double PER_ITERATION = 2.0 * 16 * FloatVector.SPECIES_PREFERRED.length();

    @Test
    void countsItsFlopsAndComputesWhatTheScalarLoopComputes() {
        try (PeakFma probe = new PeakFma(2, 1e6)) {
            assertThat(probe.flops()).isLessThanOrEqualTo(1e6).isGreaterThan(1e6 - 2 * PER_ITERATION);
            long iterations = Math.round(probe.flops() / 2 / PER_ITERATION);
            float expected = 0f;
            for (int t = 0; t < 2; t++) {
                float seed = 1e-3f * (t + 1);
                float a = seed;
                for (long i = 0; i < iterations; i++) {
                    a = Math.fma(0.999999f, seed, a);        // every lane of every accumulator
                }
                expected += 16 * a;                           // 16 equal accumulators, summed pairwise: exact
            }
            assertThat(probe.threadRates()).containsExactly(0.0, 0.0);      // nothing timed yet
            assertThat(probe.run()).isEqualTo(expected);
            assertThat(expected).isGreaterThan(0f).isFinite();
        }
    }

    @Test
    void timesEachThreadAndSumsTheirRates() {
        try (PeakFma probe = new PeakFma(3, 3e7)) {
            long t0 = System.nanoTime();
            probe.run();
            double wallRate = probe.flops() / ((System.nanoTime() - t0) / 1e9) / 1e9;
            double[] rates = probe.threadRates();
            assertThat(rates).hasSize(3);
            for (double rate : rates) {
                assertThat(rate).isPositive().isFinite();
            }
            assertThat(probe.capacity()).isCloseTo(rates[0] + rates[1] + rates[2], org.assertj.core.data.Offset.offset(1e-9));
            // each thread's loop lies inside the call, so the threads' own rates add up to at least the call's rate
            assertThat(probe.capacity()).isGreaterThanOrEqualTo(wallRate);
            rates[0] = -1;
            assertThat(probe.threadRates()[0]).isPositive();                  // a copy is returned
        }
    }

    @Test
    void rejectsNoThreads() {
        assertThatThrownBy(() -> new PeakFma(0, 1e6)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("threads");
    }
}
