package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A left-padded batch is the varlen batch of its real tokens (docs/SPEC.md §11.3): the conversions both ways, the
 * three ways to describe the padding, and a padded batch's attention and gate giving each sequence's result alone,
 * whatever its pad length modulo the block size.
 */
class LeftPaddingTest {
    @Test
    void unpadAndPadAreInverseOnTheRealRowsAndPadRowsAreZero() {
        LeftPadding padding = LeftPadding.ofLengths(5, 2, 5, 1);
        assertThat(padding.varlen()).isEqualTo(VarlenBatch.of(0, 2, 7, 8));
        assertThat(padding.padLength(0)).isEqualTo(3);
        assertThat(padding.padLength(1)).isZero();
        double[] padded = new double[3 * 5 * 2];
        for (int i = 0; i < padded.length; i++) {
            padded[i] = i;                                  // [b, p, c] = 10b + 2p + c
        }
        double[] packed = padding.unpad(padded, 2);
        assertThat(packed).containsExactly(6, 7, 8, 9, /* b = 1 */ 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
                /* b = 2 */ 28, 29);
        double[] back = padding.pad(packed, 2);
        double[] expected = padded.clone();
        for (int b = 0; b < 3; b++) {
            Arrays.fill(expected, b * 10, b * 10 + 2 * padding.padLength(b), 0);
        }
        assertThat(back).containsExactly(expected);
        float[] packed32 = padding.unpad(toFloat(padded), 2);
        assertThat(padding.pad(packed32, 2)).containsExactly(toFloat(expected));
    }

    @Test
    void lengthsPadLengthsAndAttentionMaskDescribeTheSameBatch() {
        LeftPadding a = LeftPadding.ofLengths(6, 6, 1, 3);
        LeftPadding b = LeftPadding.ofPadLengths(6, 0, 5, 3);
        LeftPadding c = LeftPadding.ofAttentionMask(new int[] {
                1, 1, 1, 1, 1, 1,
                0, 0, 0, 0, 0, 1,
                0, 0, 0, 1, 1, 1}, 3, 6);
        assertThat(b.varlen()).isEqualTo(a.varlen());
        assertThat(c.varlen()).isEqualTo(a.varlen());
        assertThat(c.paddedLength()).isEqualTo(6);
        assertThat(c.sequences()).isEqualTo(3);
        assertThat(c.length(2)).isEqualTo(3);
    }

    /**
     * Pad lengths 0, 5 (not a multiple of the block of 4) and 9: each padded sequence's attention rows, gate scores and
     * pooled target equal that sequence's own single-sequence prefill, and its pad rows are 0 — unlike the official
     * code, which cuts the gate's blocks from padded position 0 (docs/SPEC.md §11.3).
     */
    @Test
    void aPaddedSequenceGivesItsOwnPrefill() {
        Random random = new Random(7);
        int lmax = 14;
        LeftPadding padding = LeftPadding.ofPadLengths(lmax, 0, 5, 9);
        int hq = 2;
        int d = 4;
        double[] q = Random64.normal(random, 3 * lmax * hq * d, 1);
        double[] k = Random64.normal(random, 3 * lmax * d, 1);
        double[] v = Random64.normal(random, 3 * lmax * d, 1);
        VarlenShape shape = new VarlenShape(padding.varlen(), hq, 1, d);
        double[] packedOut = new double[shape.qElements()];
        VarlenPrefill.denseCausal(padding.unpad(q, hq * d), padding.unpad(k, d), padding.unpad(v, d), packedOut, shape,
                0.5);
        double[] out = padding.pad(packedOut, hq * d);
        GateConfig config = new GateConfig(GateType.DEFAULT, 4, 4, false, Tiny.ROPE);
        double[] scores = new double[padding.varlen().mapElements(hq, 4)];
        VarlenPrefill.gateScores(padding.unpad(q, hq * d), padding.unpad(k, d), null, Tiny.prefillWk(), scores, shape,
                config, true);
        int[] cuMaps = padding.varlen().cuMaps(hq, 4);
        for (int b = 0; b < 3; b++) {
            int pad = padding.padLength(b);
            int n = lmax - pad;
            AttentionShape alone = new AttentionShape(1, n, hq, 1, d);
            double[] qb = Arrays.copyOfRange(q, (b * lmax + pad) * hq * d, (b + 1) * lmax * hq * d);
            double[] kb = Arrays.copyOfRange(k, (b * lmax + pad) * d, (b + 1) * lmax * d);
            double[] vb = Arrays.copyOfRange(v, (b * lmax + pad) * d, (b + 1) * lmax * d);
            double[] expected = new double[alone.qElements()];
            DenseAttention.causal(qb, kb, vb, expected, alone, 0.5);
            assertThat(Arrays.copyOfRange(out, (b * lmax + pad) * hq * d, (b + 1) * lmax * hq * d))
                    .containsExactly(expected);
            for (int i = b * lmax * hq * d; i < (b * lmax + pad) * hq * d; i++) {
                assertThat(out[i]).as("pad row element %d", i).isZero();
            }
            double[] gate = new AttnGate(alone, config, null, Tiny.prefillWk()).scores(qb, kb);
            assertThat(Arrays.copyOfRange(scores, cuMaps[b], cuMaps[b + 1])).containsExactly(gate);
        }
        // the official quirk this avoids: the 9-padded sequence's first gate block would hold 3 real tokens at
        // padded block 2 (positions 8..11); here its block 0 is its first 4 real tokens.
        List<Pool> avg = List.of(Pool.AVG);
        double[] pooled = new double[padding.varlen().totalBlocks(4) * d];
        VarlenPrefill.pool(padding.unpad(k, d), pooled, padding.varlen(), 1, d, 4, avg);
        int firstBlockOf2 = padding.varlen().cuBlocks(4)[2];
        for (int c = 0; c < d; c++) {
            double mean = 0;
            for (int t = 0; t < 4; t++) {
                mean += k[(2 * lmax + 9 + t) * d + c] / 4;
            }
            assertThat(pooled[firstBlockOf2 * d + c]).isCloseTo(mean, org.assertj.core.api.Assertions.within(1e-15));
        }
    }

    private static float[] toFloat(double[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (float) x[i];
        }
        return y;
    }
}
