package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.DecodeSelection;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.decode.DecodeTarget;
import org.seerjava.reference.decode.SparseDecodeAttention;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/**
 * Decode-gate distillation: the trainer's batch gradient (×10, summed over layers, averaged over windows) against
 * finite differences of its loss, a short run on the embedded model, and the sink-plus-recent selection of
 * {@link SparseDecodePolicy}.
 */
class DecodeDistillTest {
    static final Path MODEL = Path.of("../models/tiny-llama-bytes");
    static final Path CORPUS = Path.of("../corpus/train-excerpt.bin");

    @TempDir
    Path dir;

    private static float[] random(Random r, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (scale * r.nextGaussian());
        }
        return x;
    }

    /** A random sample of a window of 40 tokens (B = 8, nb = 5), rows 20 … 39. */
    private static DecodeGateSample sample(Random r, DecodeGateSpec spec) {
        int nb = 5;
        int[] rows = new int[20];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = 20 + i;
        }
        float[] target = new float[spec.kvHeads() * rows.length * nb];
        for (int kh = 0; kh < spec.kvHeads(); kh++) {
            for (int i = 0; i < rows.length; i++) {
                int visible = rows[i] / 8;
                float sum = 0;
                for (int j = 0; j < visible; j++) {
                    sum += target[(kh * rows.length + i) * nb + j] = r.nextFloat();
                }
                for (int j = 0; j < visible; j++) {
                    target[(kh * rows.length + i) * nb + j] /= sum;
                }
            }
        }
        return new DecodeGateSample(random(r, rows.length * spec.qHeads() * spec.headDim(), 1), rows,
                random(r, nb * spec.kvHeads() * 3 * spec.headDim(), 1), target, nb);
    }

    @Test
    void theBatchGradientIsTheDerivativeOfTheBatchLoss() {
        ModelDims dims = new ModelDims(2, 4, 2, 8, RopeConfig.of(1000, 8));
        DecodeGateSpec spec = DecodeGateSpec.of(dims, 8, true);
        DecodeGateSet gates = DecodeGateSet.init(spec, 5);
        for (DecodeGateParameters p : gates.layers()) {           // away from the initial all-ones norms
            for (double[] a : p.arrays()) {
                for (int i = 0; i < a.length; i++) {
                    a[i] += 0.3 * Math.sin(7 * i + a.length);
                }
            }
        }
        Random r = new Random(2);
        List<DecodeGateSample[]> windows = List.of(new DecodeGateSample[] {sample(r, spec), sample(r, spec)},
                new DecodeGateSample[] {sample(r, spec), sample(r, spec)},
                new DecodeGateSample[] {sample(r, spec), sample(r, spec)});
        DecodeDistill.BatchResult b = DecodeDistill.lossAndGradients(gates, windows);
        assertThat(b.loss()).isCloseTo(DecodeDistill.loss(gates, windows), within(1e-12));
        List<double[]> params = DecodeDistill.parameters(gates);
        assertThat(params).hasSameSizeAs(b.gradients());
        for (int a = 0; a < params.size(); a++) {
            double[] w = params.get(a);
            for (int trial = 0; trial < 4; trial++) {
                int i = r.nextInt(w.length);
                double keep = w[i];
                double h = 1e-5;
                w[i] = keep + h;
                double up = DecodeDistill.loss(gates, windows);
                w[i] = keep - h;
                double down = DecodeDistill.loss(gates, windows);
                w[i] = keep;
                double fd = (up - down) / (2 * h);
                assertThat(b.gradients().get(a)[i]).as("array %d [%d]", a, i)
                        .isCloseTo(fd, within(1e-8 + 1e-5 * Math.abs(fd)));
            }
        }
    }

    @Test
    void aShortRunOnTheEmbeddedModelLowersTheLossAndWritesTheGates() {
        DecodeDistill.Options o = new DecodeDistill.Options(MODEL, CORPUS, dir, 64, true, 1024, 128, 2, 30, 1e-2, 3,
                0, 1.0, 0, 3, 0, "cpu", false);
        DecodeDistill.Result r = DecodeDistill.run(o);
        assertThat(r.history()).hasSize(30);
        double first = (r.history().get(0).loss() + r.history().get(1).loss()) / 2;
        double last = (r.history().get(28).loss() + r.history().get(29).loss()) / 2;
        System.out.printf("decode distillation, 30 steps: loss %.4f -> %.4f%n", first, last);
        assertThat(last).isLessThan(0.8 * first);
        DecodeGateSet back = DecodeGateSet.load(r.gateFile(), ModelDims.of(org.seerjava.model.LlamaConfig.load(
                MODEL.resolve(LlamaModel.CONFIG))));
        assertThat(back.layer(3).wk()[5]).isEqualTo((float) r.gates().layer(3).wk()[5]);
        assertThat(dir.resolve("decode-history.json")).exists();
    }

    @Test
    void rowsAreTheSecondHalfOrASortedSubsetOfIt() {
        assertThat(DecodeDistill.rows(10, 0, new SplittableRandom(1))).containsExactly(5, 6, 7, 8, 9);
        int[] some = DecodeDistill.rows(1000, 50, new SplittableRandom(1));
        assertThat(some).hasSize(50).isSorted().doesNotHaveDuplicates();
        assertThat(Arrays.stream(some).min().getAsInt()).isGreaterThanOrEqualTo(500);
    }

    @Test
    void sinkRecentRowsAttendToBlockZeroAndTheLastBlocksOfTheBudget() {
        Engine cpu = Engines.byName("cpu");
        Random r = new Random(4);
        int n = 50;
        AttentionShape shape = new AttentionShape(1, n, 4, 2, 8);
        float[] q = random(r, shape.qElements(), 1);
        float[] k = random(r, shape.kvElements(), 1);
        float[] v = random(r, shape.kvElements(), 1);
        float[] out = new float[shape.qElements()];
        SparseDecodePolicy policy = SparseDecodePolicy.sinkRecent(cpu, 8, 4, 17, 1);   // 2 recent blocks of 4
        policy.attend(0, new LayerAttention(shape, q, k, q, k, v, 0.35), out);
        int t = 37;                                                                   // block 9: keeps 8, 9 and 0
        boolean[] mask = new boolean[2 * 10];
        for (int kh = 0; kh < 2; kh++) {
            mask[kh * 10 + 8] = true;
            mask[kh * 10 + 9] = true;
        }
        double[] expected = new double[4 * 8];
        SparseDecodeAttention.forward(toDouble(Arrays.copyOfRange(q, t * 32, t * 32 + 32)),
                toDouble(Arrays.copyOf(k, (t + 1) * 16)), toDouble(Arrays.copyOf(v, (t + 1) * 16)), new int[] {t + 1},
                mask, expected, new AttentionShape(1, t + 1, 4, 2, 8), 4, 0.35);
        for (int i = 0; i < 32; i++) {
            assertThat((double) out[t * 32 + i]).isCloseTo(expected[i], within(1e-5));
        }
        assertThat(policy.density()).isLessThan(0.8);
        assertThat(new DecodeSelectionRule.TokenBudget(8).blockBudget(4)).isEqualTo(2);
    }

    @Test
    void oracleRowsKeepTheBlocksOfHighestDecodeTarget() {
        Engine cpu = Engines.byName("cpu");
        Random r = new Random(9);
        int n = 50;
        AttentionShape shape = new AttentionShape(1, n, 4, 2, 8);
        float[] q = random(r, shape.qElements(), 1.5);
        float[] k = random(r, shape.kvElements(), 1.5);
        float[] v = random(r, shape.kvElements(), 1);
        float[] out = new float[shape.qElements()];
        DecodeSelectionRule rule = new DecodeSelectionRule.TokenBudget(8);             // 2 blocks of 4
        SparseDecodePolicy policy = SparseDecodePolicy.oracle(cpu, rule, 4, 17, 1);
        policy.attend(0, new LayerAttention(shape, q, k, q, k, v, 0.35), out);
        double[] target = new double[2 * n * 13];
        DecodeTarget.compute(toDouble(q), toDouble(k), target, shape, 4, 0.35);
        for (int t : new int[] {17, 30, 37, 49}) {
            int blocks = t / 4 + 1;
            double[] scores = new double[2 * blocks];
            for (int kh = 0; kh < 2; kh++) {
                System.arraycopy(target, (kh * n + t) * 13, scores, kh * blocks, blocks);
            }
            boolean[] mask = DecodeSelection.select(scores, 1, 2, blocks, 4, null, rule);
            assertThat(DecodeSelection.countPerKvHead(mask, 1, 2, blocks)).containsOnly(3);   // 2 + the last block
            double[] expected = new double[4 * 8];
            SparseDecodeAttention.forward(toDouble(Arrays.copyOfRange(q, t * 32, t * 32 + 32)),
                    toDouble(Arrays.copyOf(k, (t + 1) * 16)), toDouble(Arrays.copyOf(v, (t + 1) * 16)),
                    new int[] {t + 1}, mask, expected, new AttentionShape(1, t + 1, 4, 2, 8), 4, 0.35);
            for (int i = 0; i < 32; i++) {
                assertThat((double) out[t * 32 + i]).as("row %d", t).isCloseTo(expected[i], within(1e-5));
            }
        }
        assertThat(policy.density()).isLessThan(0.6);
        assertThat(policy.toString()).startsWith("oracle");
    }

    private static double[] toDouble(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i];
        }
        return y;
    }
}
