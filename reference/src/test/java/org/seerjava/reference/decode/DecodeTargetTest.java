package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;

/** The decode distillation target (docs/SPEC.md §7.7): properties P3 and P4 in their decode form. */
class DecodeTargetTest {

    @Test
    void rowsSumToOneOverStrictlyEarlierBlocksAndAreZeroElsewhere() {
        Random random = new Random(51);
        int[][] heads = {{1, 1}, {2, 1}, {6, 2}, {4, 1}};
        for (int trial = 0; trial < 12; trial++) {
            int[] hh = heads[trial % heads.length];
            int blockSize = 2 + trial % 4;
            AttentionShape shape = new AttentionShape(1 + trial % 2, 3 + random.nextInt(20), hh[0], hh[1], 4);
            double[] q = TinyDecodeFixture.random(random, shape.qElements(), 2.0);
            double[] k = TinyDecodeFixture.random(random, shape.kvElements(), 2.0);
            int nb = shape.blocks(blockSize);
            int len = shape.seqLen();
            double[] target = new double[shape.batch() * hh[1] * len * nb];
            DecodeTarget.compute(q, k, target, shape, blockSize, 0.5);
            for (int row = 0; row < shape.batch() * hh[1] * len; row++) {
                int t = row % len;
                double sum = 0;
                for (int n = 0; n < nb; n++) {
                    double x = target[row * nb + n];
                    if (n >= t / blockSize) {
                        assertThat(x).isZero();
                    }
                    assertThat(x).isBetween(0.0, 1.0);
                    sum += x;
                }
                // Σ GT = ΣG / (ΣG + 1e-9): 1 up to the epsilon, which weighs ~1e-9 / ΣG
                assertThat(sum).isCloseTo(t < blockSize ? 0.0 : 1.0, within(1e-6));
            }
        }
    }

    @Test
    void targetIsTheGroupMaxOfBlockMaximaOfAnExplicitSoftmaxMap() {
        Random random = new Random(52);
        int hq = 6;
        int hkv = 2;
        int dim = 3;
        int len = 14;
        int blockSize = 3;
        AttentionShape shape = new AttentionShape(1, len, hq, hkv, dim);
        double[] q = TinyDecodeFixture.random(random, shape.qElements(), 2.0);
        double[] k = TinyDecodeFixture.random(random, shape.kvElements(), 2.0);
        int nb = shape.blocks(blockSize);
        double scale = 0.7;
        // explicit attention map P[h, t, c]
        double[][][] p = new double[hq][len][len];
        for (int h = 0; h < hq; h++) {
            for (int t = 0; t < len; t++) {
                double sum = 0;
                for (int c = 0; c <= t; c++) {
                    double dot = 0;
                    for (int d = 0; d < dim; d++) {
                        dot += q[(t * hq + h) * dim + d] * k[(c * hkv + h / 3) * dim + d];
                    }
                    p[h][t][c] = Math.exp(dot * scale);
                    sum += p[h][t][c];
                }
                for (int c = 0; c <= t; c++) {
                    p[h][t][c] /= sum;
                }
            }
        }
        double[] maxima = new double[hq * len * nb];
        DecodeTarget.headMaxima(q, k, maxima, shape, blockSize, scale);
        double[] target = new double[hkv * len * nb];
        DecodeTarget.compute(q, k, target, shape, blockSize, scale);
        for (int kh = 0; kh < hkv; kh++) {
            for (int t = 0; t < len; t++) {
                double[] g = new double[nb];
                for (int h = kh * 3; h < kh * 3 + 3; h++) {
                    for (int c = 0; c <= t; c++) {
                        double cell = maxima[(h * len + t) * nb + c / blockSize];
                        assertThat(cell).isGreaterThanOrEqualTo(p[h][t][c] - 1e-12);
                        if (c / blockSize < t / blockSize) {
                            g[c / blockSize] = Math.max(g[c / blockSize], p[h][t][c]);
                        }
                    }
                }
                double sum = 0;
                for (double x : g) {
                    sum += x;
                }
                for (int n = 0; n < nb; n++) {
                    assertThat(target[(kh * len + t) * nb + n]).isCloseTo(g[n] / (sum + 1e-9), within(1e-12));
                }
            }
        }
    }
}
