package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The prefill properties P1–P4 and P8 of docs/SPEC.md §10, on random inputs. */
class PropertyTest {

    /** Attention computed the obvious way: a full masked score matrix, softmax, then P·V. */
    static double[] explicitMaskedSoftmax(double[] q, double[] k, double[] v, BlockMask mask, AttentionShape s,
                                          int block, double scale) {
        int N = s.seqLen();
        int Hq = s.qHeads();
        int Hkv = s.kvHeads();
        int D = s.headDim();
        double[] out = new double[s.qElements()];
        for (int b = 0; b < s.batch(); b++) {
            for (int h = 0; h < Hq; h++) {
                int kh = h / s.groupSize();
                for (int r = 0; r < N; r++) {
                    double[] logit = new double[N];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < N; c++) {
                        boolean allowed = c <= r && (mask == null || mask.keep(b, h, r / block, c / block));
                        if (!allowed) {
                            logit[c] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int d = 0; d < D; d++) {
                            dot += q[((b * N + r) * Hq + h) * D + d] * k[((b * N + c) * Hkv + kh) * D + d];
                        }
                        logit[c] = dot * scale;
                        max = Math.max(max, logit[c]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue;                                        // empty row: zero by definition
                    }
                    double sum = 0;
                    for (int c = 0; c < N; c++) {
                        logit[c] = Math.exp(logit[c] - max);
                        sum += logit[c];
                    }
                    for (int c = 0; c < N; c++) {
                        for (int d = 0; d < D; d++) {
                            out[((b * N + r) * Hq + h) * D + d] += logit[c] / sum * v[((b * N + c) * Hkv + kh) * D + d];
                        }
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "B={0} N={1} Hq={2} Hkv={3} D={4} block={5}")
    @CsvSource({"1,64,2,2,8,16", "2,37,4,2,8,8", "1,100,3,1,16,32", "2,45,4,1,4,16", "1,7,2,2,4,16"})
    void p1AllOnesMaskEqualsDenseAndP2RandomMasksEqualExplicitSoftmax(int B, int N, int Hq, int Hkv, int D,
                                                                       int block) {
        Random rng = new Random(N * 31L + Hq);
        AttentionShape s = new AttentionShape(B, N, Hq, Hkv, D);
        double[] q = Random64.normal(rng, s.qElements(), 1);
        double[] k = Random64.normal(rng, s.kvElements(), 1);
        double[] v = Random64.normal(rng, s.kvElements(), 1);
        double scale = s.defaultScale();
        int nb = s.blocks(block);

        double[] dense = new double[s.qElements()];
        DenseAttention.causal(q, k, v, dense, s, scale);
        double[] allOnes = new double[s.qElements()];
        BlockSparseAttention.forward(q, k, v, BlockMask.causal(B, Hq, nb), allOnes, s, block, scale);
        assertThat(Random64.maxAbsDiff(allOnes, dense)).isLessThan(1e-12);                          // P1
        assertThat(Random64.maxAbsDiff(dense, explicitMaskedSoftmax(q, k, v, null, s, block, scale))).isLessThan(1e-12);

        for (double p : new double[]{0.2, 0.5, 0.8}) {
            BlockMask mask = Random64.randomCausalMask(rng, B, Hq, nb, p);
            double[] sparse = new double[s.qElements()];
            BlockSparseAttention.forward(q, k, v, mask, sparse, s, block, scale);
            assertThat(Random64.maxAbsDiff(sparse, explicitMaskedSoftmax(q, k, v, mask, s, block, scale)))
                    .as("P2 at keep probability %s", p).isLessThan(1e-12);                          // P2
        }
    }

    @ParameterizedTest(name = "B={0} N={1} Hq={2} Hkv={3} D={4} block={5}")
    @CsvSource({"1,64,2,2,8,16", "2,37,4,2,8,8", "1,100,3,1,16,32", "1,5,2,1,4,8"})
    void p3RowsSumToOneUpperTriangleZeroAndP4MaxPoolOfExplicitMap(int B, int N, int Hq, int Hkv, int D, int block) {
        Random rng = new Random(N * 7L + D);
        AttentionShape s = new AttentionShape(B, N, Hq, Hkv, D);
        double[] q = Random64.normal(rng, s.qElements(), 1.5);
        double[] k = Random64.normal(rng, s.kvElements(), 1.5);
        int nb = s.blocks(block);
        double[] gt = new double[B * Hq * nb * nb];
        PooledAttentionTarget.compute(q, k, gt, s, block, s.defaultScale());

        // P4: the explicit softmax map, max-pooled in 2-D, rows renormalised.
        double[] expected = new double[gt.length];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < Hq; h++) {
                for (int r = 0; r < N; r++) {
                    double[] probs = explicitRow(q, k, s, b, h, r);
                    for (int c = 0; c <= r; c++) {
                        int cell = ((b * Hq + h) * nb + r / block) * nb + c / block;
                        expected[cell] = Math.max(expected[cell], probs[c]);
                    }
                }
            }
        }
        for (int row = 0; row < B * Hq * nb; row++) {
            double sum = 0;
            for (int j = 0; j < nb; j++) {
                sum += expected[row * nb + j];
            }
            double gtSum = 0;
            for (int j = 0; j < nb; j++) {
                expected[row * nb + j] /= sum;
                gtSum += gt[row * nb + j];
                if (j > row % nb) {
                    assertThat(gt[row * nb + j]).as("upper triangle").isZero();                      // P3
                }
            }
            assertThat(gtSum).as("row sum").isCloseTo(1.0, within(1e-12));                           // P3
        }
        assertThat(Random64.maxAbsDiff(gt, expected)).isLessThan(1e-12);                              // P4
    }

    /**
     * The causal softmax row written out from the formula, independent of {@link CausalSoftmax#row} on purpose: the
     * oracle of P4 must not share the code it checks.
     */
    private static double[] explicitRow(double[] q, double[] k, AttentionShape s, int b, int h, int r) {
        int N = s.seqLen();
        int D = s.headDim();
        int kh = h / s.groupSize();
        double[] p = new double[r + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c <= r; c++) {
            double dot = 0;
            for (int d = 0; d < D; d++) {
                dot += q[((b * N + r) * s.qHeads() + h) * D + d] * k[((b * N + c) * s.kvHeads() + kh) * D + d];
            }
            p[c] = dot * s.defaultScale();
            max = Math.max(max, p[c]);
        }
        double sum = 0;
        for (int c = 0; c <= r; c++) {
            p[c] = Math.exp(p[c] - max);
            sum += p[c];
        }
        for (int c = 0; c <= r; c++) {
            p[c] /= sum;
        }
        return p;
    }

    @ParameterizedTest(name = "nb={0}")
    @CsvSource({"1", "3", "4", "9"})
    void p8KlLossIsFiniteWithMaskedLogitsAndAllMaskedRowsCountInNumel(int nb) {
        Random rng = new Random(nb);
        int heads = 2;
        double[] logits = Random64.normal(rng, heads * nb * nb, 2);
        double[] target = new double[logits.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < nb; i++) {
                double sum = 0;
                for (int j = 0; j < nb; j++) {
                    int at = (h * nb + i) * nb + j;
                    if (j > i) {
                        logits[at] = AttnGate.MASKED_LOGIT;
                    } else {
                        target[at] = rng.nextDouble();
                        sum += target[at];
                    }
                }
                for (int j = 0; j <= i; j++) {
                    target[(h * nb + i) * nb + j] /= sum;
                }
            }
        }
        double[] grad = new double[logits.length];
        double loss = DistillationLoss.klMean(logits, target, 1, heads, nb, grad);
        assertThat(loss).isFinite().isGreaterThanOrEqualTo(0);
        assertThat(java.util.Arrays.stream(grad).allMatch(Double::isFinite)).isTrue();

        // Append an all-masked head with a zero target: it adds nothing to the sum but counts in numel.
        double[] logits2 = new double[logits.length + nb * nb];
        double[] target2 = new double[logits2.length];
        System.arraycopy(logits, 0, logits2, 0, logits.length);
        System.arraycopy(target, 0, target2, 0, target.length);
        java.util.Arrays.fill(logits2, logits.length, logits2.length, AttnGate.MASKED_LOGIT);
        double loss2 = DistillationLoss.klMean(logits2, target2, 1, heads + 1, nb, null);
        assertThat(loss2).isFinite().isCloseTo(loss * heads / (heads + 1.0), within(1e-15));
    }
}
