package org.seerjava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;

/**
 * Lengths whose gate scores {@code [B, Hq, nb, nb]} overflow an int: refused at once, before the inputs are read,
 * with the sizes (they used to end in a NegativeArraySizeException, or a wrapped 5.6 GB array after 15 s).
 */
class PrefillSizesTest {
    static SeerAttention facade(int blockSize) {
        GateConfig config = new GateConfig(GateType.DEFAULT, blockSize, 64, false, RopeConfig.of(100_000, 64));
        float[] wk = new float[(int) config.kWeightElements(new org.seerjava.reference.AttentionShape(1, 1, 6, 2, 64))];
        return SeerAttention.builder().heads(6, 2).headDim(64).rope(RopeConfig.of(100_000, 64))
                .gates(config, null, wk).density(0.3).backend("reference").build();
    }

    @Test
    void gateScoresBeyondAJavaArrayAreRefusedBeforeAnyWork() {
        float[] tiny = new float[1];
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            assertThatThrownBy(() -> facade(64).prefill(tiny, tiny, tiny, 1, 1_210_880))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("gate scores [B, Hq, nb, nb] = [1, 6, 18920, 18920] for N = 1210880 and block 64")
                    .hasMessageContaining("2147798400 elements, more than a Java array holds");
            assertThatThrownBy(() -> facade(1).prefill(tiny, tiny, tiny, 1, 100_000))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[1, 6, 100000, 100000]")
                    .hasMessageContaining("60000000000 elements");
        });
    }

    @Test
    void smallInputsStillComputeAndWrongLengthsAreStillNamed() {
        SeerAttention seer = facade(64);
        int n = 130;
        float[] q = new float[n * 6 * 64];
        float[] kv = new float[n * 2 * 64];
        java.util.Arrays.fill(q, 0.01f);
        java.util.Arrays.fill(kv, 0.02f);
        SeerAttention.Result r = seer.prefill(q, kv, kv, 1, n);
        assertThat(r.output()).hasSize(q.length);
        assertThatThrownBy(() -> seer.prefill(new float[5], kv, kv, 1, n)).hasMessageContaining("q");
    }
}
