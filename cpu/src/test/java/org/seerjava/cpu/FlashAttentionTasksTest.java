package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.seerjava.cpu.TestData.gaussian;
import static org.seerjava.cpu.TestData.relativeError;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.ReferenceEngine;

/** Task grouping (units per task) and the reused packing buffers do not change results. */
class FlashAttentionTasksTest {
    private static final Engine REF = new ReferenceEngine();

    @Test
    void everyGroupingMatchesReference() {
        for (int[] dims : new int[][] {{150, 6, 2, 72}, {200, 4, 4, 64}, {70, 3, 1, 20}}) {
            AttentionShape s = new AttentionShape(2, dims[0], dims[1], dims[2], dims[3]);
            Random random = new Random(dims[0]);
            float[] q = gaussian(random, s.qElements(), 1.5);
            float[] k = gaussian(random, s.kvElements(), 1.5);
            float[] v = gaussian(random, s.kvElements(), 1.0);
            int bs = 32;
            int nb = s.blocks(bs);
            byte[] bits = new byte[2 * s.qHeads() * nb * nb];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = (byte) (i % nb <= (i / nb) % nb && random.nextInt(3) > 0 ? 1 : 0);
            }
            BlockMask mask = BlockMask.of(2, s.qHeads(), nb, bits);
            float[] dense = new float[s.qElements()];
            float[] sparse = new float[s.qElements()];
            float[] fused = new float[s.qElements()];
            float[] target = new float[2 * s.qHeads() * nb * nb];
            REF.blockSparse(q, k, v, mask, sparse, s, bs, 0.2);
            REF.attentionWithPooledTarget(q, k, v, fused, target, s, bs, 0.2);
            REF.denseCausal(q, k, v, dense, s, 0.2);
            for (int units : new int[] {1, 2, 3, 5}) {
                float[] out = new float[s.qElements()];
                FlashAttention.run(q, k, v, out, null, s, bs, 0.2, mask, units);
                assertThat(relativeError(out, sparse)).as("sparse %s units=%d", s, units).isLessThanOrEqualTo(1e-5);
                float[] t = new float[target.length];
                FlashAttention.run(q, k, v, out, t, s, bs, 0.2, null, units);
                assertThat(relativeError(out, fused)).as("fused %s units=%d", s, units).isLessThanOrEqualTo(1e-5);
                assertThat(relativeError(t, target)).as("target %s units=%d", s, units).isLessThanOrEqualTo(1e-5);
                FlashAttention.run(q, k, v, out, null, s, 64, 0.2, null, units);
                assertThat(relativeError(out, dense)).as("dense %s units=%d", s, units).isLessThanOrEqualTo(1e-5);
            }
        }
    }

    @Test
    void sparseMasksOfLowAndHighDensityMatchReference() {
        AttentionShape s = new AttentionShape(2, 300, 6, 2, 64);
        Random random = new Random(11);
        float[] q = gaussian(random, s.qElements(), 1.5);
        float[] k = gaussian(random, s.kvElements(), 1.5);
        float[] v = gaussian(random, s.kvElements(), 1.0);
        int bs = 16;
        int nb = s.blocks(bs);
        for (double keep : new double[] {0.05, 0.6}) {
            byte[] bits = new byte[2 * s.qHeads() * nb * nb];
            for (int i = 0; i < bits.length; i++) {
                int row = (i / nb) % nb;
                int col = i % nb;
                bits[i] = (byte) (col == row || col < row && random.nextDouble() < keep ? 1 : 0);
            }
            BlockMask mask = BlockMask.of(2, s.qHeads(), nb, bits);
            float[] ref = new float[s.qElements()];
            REF.blockSparse(q, k, v, mask, ref, s, bs, 0.2);
            float[] out = new float[s.qElements()];
            FlashAttention.run(q, k, v, out, null, s, bs, 0.2, mask);
            assertThat(relativeError(out, ref)).as("keep %.2f", keep).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void reusedBuffersKeepThePaddingZero() {
        // a call with D = 128 fills the kept V buffer; the next call, D = 72, pads its rows to 128
        AttentionShape big = new AttentionShape(1, 300, 4, 2, 128);
        Random random = new Random(3);
        float[] kb = gaussian(random, big.kvElements(), 100);
        float[] ob = new float[big.qElements()];
        FlashAttention.run(gaussian(random, big.qElements(), 1), kb, kb, ob, null, big, 64, 0.1, null);
        AttentionShape s = new AttentionShape(1, 200, 4, 2, 72);
        float[] q = gaussian(random, s.qElements(), 1);
        float[] k = gaussian(random, s.kvElements(), 1);
        float[] v = gaussian(random, s.kvElements(), 1);
        float[] out = new float[s.qElements()];
        float[] ref = new float[s.qElements()];
        FlashAttention.run(q, k, v, out, null, s, 64, 0.1, null);
        REF.denseCausal(q, k, v, ref, s, 0.1);
        assertThat(relativeError(out, ref)).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void packedBuffersAreKeptUpToASixteenthOfTheHeap() {
        long gib = 1L << 30;
        assertThat(KvPacking.keepFloats(6 * gib)).isEqualTo((int) (6 * gib / 64));
        assertThat(KvPacking.keepFloats(gib / 2)).isEqualTo(1 << 24);       // at least 64 MiB
        assertThat(KvPacking.keepFloats(256 * gib)).isEqualTo(1 << 28);     // at most 1 GiB
        // N = 16384, 8 KV heads of 128: 16.8 M floats for K, kept with the default heap of this machine
        assertThat(KvPacking.keepFloats(6 * gib)).isGreaterThan(16384 * 8 * 128);
    }
}
