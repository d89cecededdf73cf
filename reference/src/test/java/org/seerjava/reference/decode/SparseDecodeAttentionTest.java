package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.DenseAttention;

/** The left-padded sparse decode attention (docs/SPEC.md §7.6) and property P6. */
class SparseDecodeAttentionTest {

    private static void assertAllClose(double[] actual, double[] expected, double tol) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within(tol));
        }
    }

    /** The explicit formula: softmax over the real keys of the visited blocks, no online rescaling. */
    private static double[] explicit(double[] q, double[] k, double[] v, int[] seqLens, boolean[] mask,
                                     AttentionShape shape, int blockSize, double scale) {
        int batch = shape.batch();
        int lmax = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int dim = shape.headDim();
        int nb = shape.blocks(blockSize);
        double[] out = new double[batch * hq * dim];
        for (int b = 0; b < batch; b++) {
            int leftPad = lmax - seqLens[b];
            for (int h = 0; h < hq; h++) {
                int kh = h / shape.groupSize();
                double[] logits = new double[lmax];
                Arrays.fill(logits, Double.NEGATIVE_INFINITY);
                double max = Double.NEGATIVE_INFINITY;
                for (int c = leftPad; c < lmax; c++) {
                    int n = c / blockSize;
                    if (mask[(b * hkv + kh) * nb + n] || n == leftPad / blockSize) {
                        double dot = 0;
                        for (int d = 0; d < dim; d++) {
                            dot += q[(b * hq + h) * dim + d] * k[((b * lmax + c) * hkv + kh) * dim + d];
                        }
                        logits[c] = dot * scale;
                        max = Math.max(max, logits[c]);
                    }
                }
                double sum = 0;
                for (int c = 0; c < lmax; c++) {
                    sum += Math.exp(logits[c] - max);
                }
                for (int c = 0; c < lmax; c++) {
                    double p = Math.exp(logits[c] - max) / sum;
                    for (int d = 0; d < dim; d++) {
                        out[(b * hq + h) * dim + d] += p * v[((b * lmax + c) * hkv + kh) * dim + d];
                    }
                }
            }
        }
        return out;
    }

    private static boolean[] randomMask(Random random, int n) {
        boolean[] mask = new boolean[n];
        for (int i = 0; i < n; i++) {
            mask[i] = random.nextDouble() < 0.4;
        }
        return mask;
    }

    @Test
    void onlineSoftmaxMatchesTheExplicitFormulaOnRandomMasksAndPadding() {
        Random random = new Random(21);
        int[][] heads = {{2, 1}, {4, 2}, {3, 1}, {6, 2}, {4, 1}};
        for (int trial = 0; trial < 40; trial++) {
            int[] hh = heads[trial % heads.length];
            int batch = 1 + trial % 3;
            int blockSize = 2 + trial % 4;
            int lmax = 1 + random.nextInt(30);
            int dim = 2 + random.nextInt(5);
            AttentionShape shape = new AttentionShape(batch, lmax, hh[0], hh[1], dim);
            int[] seqLens = new int[batch];
            for (int b = 0; b < batch; b++) {
                seqLens[b] = 1 + random.nextInt(lmax);
            }
            double[] q = TinyDecodeFixture.random(random, batch * hh[0] * dim, 1.5);
            double[] k = TinyDecodeFixture.random(random, shape.kvElements(), 1.5);
            double[] v = TinyDecodeFixture.random(random, shape.kvElements(), 1.0);
            boolean[] mask = randomMask(random, batch * hh[1] * shape.blocks(blockSize));
            double scale = 1 / Math.sqrt(dim);
            double[] out = new double[q.length];
            SparseDecodeAttention.forward(q, k, v, seqLens, mask, out, shape, blockSize, scale);
            assertAllClose(out, explicit(q, k, v, seqLens, mask, shape, blockSize, scale), 1e-12);
        }
    }

    @Test
    void allBlocksEqualsTheLastRowOfDenseCausalAttention() {
        Random random = new Random(22);
        int len = 11;
        AttentionShape shape = new AttentionShape(1, len, 4, 2, 4);
        double[] qAll = TinyDecodeFixture.random(random, shape.qElements(), 1.0);
        double[] k = TinyDecodeFixture.random(random, shape.kvElements(), 1.0);
        double[] v = TinyDecodeFixture.random(random, shape.kvElements(), 1.0);
        double[] dense = new double[shape.qElements()];
        DenseAttention.causal(qAll, k, v, dense, shape, 0.5);
        double[] q = Arrays.copyOfRange(qAll, (len - 1) * 16, len * 16);
        double[] out = new double[16];
        boolean[] all = new boolean[2 * shape.blocks(4)];
        Arrays.fill(all, true);
        SparseDecodeAttention.forward(q, k, v, new int[]{len}, all, out, shape, 4, 0.5);
        assertAllClose(out, Arrays.copyOfRange(dense, (len - 1) * 16, len * 16), 1e-12);
    }

    /** One left-padded batch vs the same sequences run alone without padding (P6). */
    @Test
    void p6LeftPaddedBatchIgnoresPadKeys() {
        Random random = new Random(23);
        int hq = 4;
        int hkv = 2;
        int dim = 4;
        int blockSize = 4;
        int[] seqLens = {13, 5, 16, 8};       // pads 3, 11, 0, 8: two are whole blocks
        int lmax = 16;
        int batch = seqLens.length;
        int nb = lmax / blockSize;
        AttentionShape padded = new AttentionShape(batch, lmax, hq, hkv, dim);
        double[] q = TinyDecodeFixture.random(random, batch * hq * dim, 1.5);
        double[] k = TinyDecodeFixture.random(random, padded.kvElements(), 1.5);
        double[] v = TinyDecodeFixture.random(random, padded.kvElements(), 1.0);
        double[] out = new double[q.length];

        // (a) every block selected: each sequence equals its unpadded run, whatever the pad slots hold
        boolean[] all = new boolean[batch * hkv * nb];
        Arrays.fill(all, true);
        SparseDecodeAttention.forward(q, k, v, seqLens, all, out, padded, blockSize, 0.5);
        double[] garbageK = k.clone();
        double[] garbageV = v.clone();
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < lmax - seqLens[b]; c++) {
                for (int i = 0; i < hkv * dim; i++) {
                    garbageK[(b * lmax + c) * hkv * dim + i] = 1e3 * (random.nextDouble() - 0.5);
                    garbageV[(b * lmax + c) * hkv * dim + i] = 1e6;
                }
            }
        }
        double[] outGarbage = new double[q.length];
        SparseDecodeAttention.forward(q, garbageK, garbageV, seqLens, all, outGarbage, padded, blockSize, 0.5);
        assertThat(outGarbage).containsExactly(out);
        for (int b = 0; b < batch; b++) {
            int len = seqLens[b];
            int pad = lmax - len;
            AttentionShape alone = new AttentionShape(1, len, hq, hkv, dim);
            boolean[] allAlone = new boolean[hkv * alone.blocks(blockSize)];
            Arrays.fill(allAlone, true);
            double[] single = new double[hq * dim];
            SparseDecodeAttention.forward(Arrays.copyOfRange(q, b * hq * dim, (b + 1) * hq * dim),
                    TinyDecodeFixture.tokens(k, b, lmax, hkv * dim, pad, lmax),
                    TinyDecodeFixture.tokens(v, b, lmax, hkv * dim, pad, lmax),
                    new int[]{len}, allAlone, single, alone, blockSize, 0.5);
            assertAllClose(Arrays.copyOfRange(out, b * hq * dim, (b + 1) * hq * dim), single, 1e-12);
        }

        // (b) random masks, pads that are whole blocks: padded block n is unpadded block n − pad / B
        for (int trial = 0; trial < 20; trial++) {
            boolean[] mask = randomMask(random, batch * hkv * nb);
            SparseDecodeAttention.forward(q, garbageK, garbageV, seqLens, mask, out, padded, blockSize, 0.5);
            for (int b : new int[]{2, 3}) {
                int len = seqLens[b];
                int pad = lmax - len;
                int shift = pad / blockSize;
                AttentionShape alone = new AttentionShape(1, len, hq, hkv, dim);
                int nbAlone = alone.blocks(blockSize);
                boolean[] maskAlone = new boolean[hkv * nbAlone];
                for (int kh = 0; kh < hkv; kh++) {
                    for (int n = 0; n < nbAlone; n++) {
                        maskAlone[kh * nbAlone + n] = mask[(b * hkv + kh) * nb + n + shift];
                    }
                }
                double[] single = new double[hq * dim];
                SparseDecodeAttention.forward(Arrays.copyOfRange(q, b * hq * dim, (b + 1) * hq * dim),
                        TinyDecodeFixture.tokens(k, b, lmax, hkv * dim, pad, lmax),
                        TinyDecodeFixture.tokens(v, b, lmax, hkv * dim, pad, lmax),
                        new int[]{len}, maskAlone, single, alone, blockSize, 0.5);
                assertAllClose(Arrays.copyOfRange(out, b * hq * dim, (b + 1) * hq * dim), single, 1e-12);
            }
        }
    }

    @Test
    void firstRealBlockIsForcedAndEarlierBlocksAreSkipped() {
        // one sequence, Lmax 12, 7 real tokens (pad 5): blocks 0 (pad only), 1 (first real), 2
        int lmax = 12;
        AttentionShape shape = new AttentionShape(1, lmax, 1, 1, 2);
        Random random = new Random(24);
        double[] q = TinyDecodeFixture.random(random, 2, 1.0);
        double[] k = TinyDecodeFixture.random(random, lmax * 2, 1.0);
        double[] v = TinyDecodeFixture.random(random, lmax * 2, 1.0);
        double[] onlyBlock0 = new double[2];
        SparseDecodeAttention.forward(q, k, v, new int[]{7}, new boolean[]{true, false, false}, onlyBlock0, shape, 4,
                1.0);
        double[] none = new double[2];
        SparseDecodeAttention.forward(q, k, v, new int[]{7}, new boolean[]{false, false, false}, none, shape, 4, 1.0);
        // both visit only the first real block (tokens 5..7)
        assertThat(onlyBlock0).containsExactly(none);
        double[] expected = new double[2];
        double[] w = new double[3];
        double sum = 0;
        for (int c = 5; c < 8; c++) {
            w[c - 5] = Math.exp(q[0] * k[2 * c] + q[1] * k[2 * c + 1]);
            sum += w[c - 5];
        }
        for (int c = 5; c < 8; c++) {
            expected[0] += w[c - 5] / sum * v[2 * c];
            expected[1] += w[c - 5] / sum * v[2 * c + 1];
        }
        assertAllClose(none, expected, 1e-12);
    }

    @Test
    void teacherForcedRowsWithEveryBlockAreDenseCausalAttentionAndFollowEachRowsOwnMask() {
        Random random = new Random(3);
        int n = 23;
        int bs = 4;
        AttentionShape shape = new AttentionShape(1, n, 4, 2, 8);
        double[] q = new double[shape.qElements()];
        double[] k = new double[shape.kvElements()];
        double[] v = new double[shape.kvElements()];
        for (double[] x : new double[][] {q, k, v}) {
            for (int i = 0; i < x.length; i++) {
                x[i] = random.nextGaussian();
            }
        }
        int from = 9;
        int nb = shape.blocks(bs);
        boolean[] all = new boolean[(n - from) * 2 * nb];
        Arrays.fill(all, true);
        double[] rows = new double[shape.qElements()];
        Arrays.fill(rows, 7.0);
        SparseDecodeAttention.forwardRows(q, k, v, all, from, rows, shape, bs, 0.3);
        double[] dense = new double[shape.qElements()];
        DenseAttention.causal(q, k, v, dense, shape, 0.3);
        int rowWidth = 4 * 8;
        assertAllClose(Arrays.copyOfRange(rows, from * rowWidth, n * rowWidth),
                Arrays.copyOfRange(dense, from * rowWidth, n * rowWidth), 1e-12);
        assertThat(Arrays.copyOf(rows, from * rowWidth)).containsOnly(7.0);       // earlier rows untouched

        // a row whose selection keeps only its own (last) block: block 0 is forced, the rest skipped
        boolean[] sparse = new boolean[all.length];
        int t = 17;                                               // block 4 of 0..4
        for (int kh = 0; kh < 2; kh++) {
            sparse[((t - from) * 2 + kh) * nb + t / bs] = true;
        }
        SparseDecodeAttention.forwardRows(q, k, v, sparse, from, rows, shape, bs, 0.3);
        boolean[] rowMask = new boolean[2 * (t / bs + 1)];
        rowMask[t / bs] = true;
        rowMask[(t / bs + 1) + t / bs] = true;
        double[] expected = explicit(Arrays.copyOfRange(q, t * rowWidth, (t + 1) * rowWidth),
                Arrays.copyOf(k, (t + 1) * 2 * 8), Arrays.copyOf(v, (t + 1) * 2 * 8), new int[] {t + 1}, rowMask,
                new AttentionShape(1, t + 1, 4, 2, 8), bs, 0.3);
        assertAllClose(Arrays.copyOfRange(rows, t * rowWidth, (t + 1) * rowWidth), expected, 1e-12);
    }
}
