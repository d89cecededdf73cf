package org.seerjava.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void uniformLogitsGiveLog2Vocab() {
        float[] logits = new float[3 * 256];
        java.util.Arrays.fill(logits, 7.5f);
        Metrics.CrossEntropy ce = Metrics.crossEntropy(logits, new int[] {0, 100, 255});
        assertEquals(3 * Math.log(256), ce.nats(), 1e-9);
        assertEquals(24.0, ce.bits(), 1e-9);
        assertEquals(8.0, Metrics.bitsPerByte(logits, new int[] {0, 100, 255}), 1e-12);
    }

    @Test
    void matchesDirectFormulaAndIsStableForLargeLogits() {
        float[] logits = {1000f, 999f, 0f, 2f, 1f, 0f};
        Metrics.CrossEntropy ce = Metrics.crossEntropy(logits, 3, new int[] {1, 0});
        double row0 = -(999 - (1000 + Math.log(1 + Math.exp(-1) + Math.exp(-1000))));
        double row1 = -(2 - Math.log(Math.exp(2) + Math.exp(1) + 1));
        assertEquals(row0 + row1, ce.nats(), 1e-9);
        assertEquals(2, ce.tokens());
        assertEquals(ce.nats() / Math.log(2) / 2, ce.plus(Metrics.CrossEntropy.zero()).bitsPerToken(), 1e-12);
    }

    @Test
    void errors() {
        assertThrows(IllegalArgumentException.class, () -> Metrics.crossEntropy(new float[5], new int[] {0, 1}));
        assertThrows(IllegalArgumentException.class, () -> Metrics.crossEntropy(new float[4], new int[] {0, 2}));
        assertThrows(IllegalArgumentException.class, () -> Metrics.crossEntropy(new float[] {Float.NaN, 0}, new int[] {0}));
    }
}
