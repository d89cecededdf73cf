package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GateTypeAndRopeTest {

    /**
     * Every one of the 49 gate types: its name round-trips; the pooled Q and K features equal a hand pooling
     * (max, min, mean over each block's tokens, a partial last block, pools concatenated in the type's order); W_k
     * reads each pool's features at the rows where they are (masking W_k to one pool gives the single-pool type's
     * logits); the scores are a causal softmax (zero above the diagonal, rows sum to 1).
     */
    @Test
    void all49GateTypesRoundTripAndRunThroughTheGate() {
        List<GateType> all = GateType.all();
        assertThat(all).hasSize(49);
        assertThat(new HashSet<>(all.stream().map(GateType::name).toList())).hasSize(49);
        Random rng = new Random(3);
        AttentionShape shape = new AttentionShape(1, 21, 4, 2, 4);
        double[] q = Random64.normal(rng, shape.qElements(), 1);
        double[] k = Random64.normal(rng, shape.kvElements(), 1);
        for (GateType type : all) {
            assertThat(GateType.parse(type.name())).isEqualTo(type);
            GateConfig config = GateConfig.of(type, 8, 4, 10000);
            double[] wq = config.hasQLinear(4) ? Random64.normal(rng, config.qWeightElements(shape), 0.5) : null;
            double[] wk = Random64.normal(rng, config.kWeightElements(shape), 0.5);
            AttnGate gate = new AttnGate(shape, config, wq, wk);
            AttnGate.Forward f = gate.forward(q, k);
            // pooled features by hand: per block of 8 tokens (the last has 5), each pool of the type in its order
            assertThat(f.qPooled()).as(type + " Q features").containsExactly(pooledByHand(q, 21, 4, 4, 8,
                    type.qPools()), within(1e-12));
            assertThat(f.kPooled()).as(type + " K features").containsExactly(pooledByHand(k, 21, 2, 4, 8,
                    type.kPools()), within(1e-12));
            // W_k reads the features where the pooling put them: with W_k zero outside pool p's rows, the logits
            // are those of the type that pools K by p alone, given those rows
            for (int p = 0; p < type.kPools().size(); p++) {
                GateType single = new GateType(type.qPools(), List.of(type.kPools().get(p)));
                GateConfig singleConfig = GateConfig.of(single, 8, 4, 10000);
                int heads = config.kLinearHeads(shape);
                double[] wkMasked = new double[wk.length];
                double[] wkSingle = new double[singleConfig.kWeightElements(shape)];
                for (int h = 0; h < heads; h++) {
                    for (int row = 0; row < 4; row++) {
                        for (int c = 0; c < 4; c++) {
                            double w = wk[(h * type.kDup() * 4 + p * 4 + row) * 4 + c];
                            wkMasked[(h * type.kDup() * 4 + p * 4 + row) * 4 + c] = w;
                            wkSingle[(h * 4 + row) * 4 + c] = w;
                        }
                    }
                }
                assertThat(new AttnGate(shape, config, wq, wkMasked).forward(q, k).logits())
                        .as(type + " K pool " + type.kPools().get(p))
                        .containsExactly(new AttnGate(shape, singleConfig, wq, wkSingle).forward(q, k).logits(),
                                within(1e-12));
            }
            double[] scores = gate.scores(q, k);
            for (int row = 0; row < 4 * 3; row++) {
                double sum = 0;
                for (int j = 0; j < 3; j++) {
                    sum += scores[row * 3 + j];
                    if (j > row % 3) {
                        assertThat(scores[row * 3 + j]).isZero();
                    }
                }
                assertThat(sum).as(type.name()).isCloseTo(1, within(1e-12));
            }
        }
        assertThat(GateType.parse("Qavg_Kmaxminavg").kPools()).containsExactly(Pool.MAX, Pool.MIN, Pool.AVG);
        assertThat(GateConfig.of(GateType.parse("Qavg_Kmaxminavg"), 64, 128, 1e4).hasQLinear(128)).isFalse();
        assertThat(GateConfig.of(GateType.parse("Qmaxavg_Kmax"), 64, 128, 1e4).hasQLinear(128)).isTrue();
        assertThat(GateConfig.of(GateType.parse("Qavg_Kmax"), 64, 64, 1e4).hasQLinear(128)).isTrue();
    }

    @Test
    void ropeIsARotationAndItsInverse() {
        Rope rope = new Rope(RopeConfig.of(500000, 8));
        double[] x = {0.3, -1.2, 2.0, 0.7, -0.4, 0.9, 1.1, -2.2, 5.0};   // 8 rotated channels + 1 passed through
        double[] y = x.clone();
        rope.rotate(y, 0, 1234, +1);
        assertThat(norm(y, 8)).isCloseTo(norm(x, 8), within(1e-12));
        assertThat(y[8]).isEqualTo(5.0);
        rope.rotate(y, 0, 1234, -1);
        assertThat(y).containsExactly(x, within(1e-12));
        // Position 0 is the identity; channel pairs (k, k + half) rotate by p·θ^(−2k/dim).
        double[] z = x.clone();
        rope.rotate(z, 0, 0, +1);
        assertThat(z).containsExactly(x, within(0.0));
        double[] e = {1, 0, 0, 0, 0, 0, 0, 0};
        rope.rotate(e, 0, 2, +1);
        assertThat(e[0]).isCloseTo(Math.cos(2), within(1e-15));
        assertThat(e[4]).isCloseTo(Math.sin(2), within(1e-15));
    }

    @Test
    void llama3ScalingMatchesTheTransformersRule() {
        RopeConfig cfg = new RopeConfig(500000, 128, new RopeConfig.Scaling.Llama3(8, 1, 4, 8192));
        double[] scaled = Rope.inverseFrequencies(cfg);
        double[] plain = Rope.inverseFrequencies(RopeConfig.of(500000, 128));
        for (int k = 0; k < 64; k++) {
            double wavelen = 2 * Math.PI / plain[k];
            if (wavelen < 8192 / 4.0) {
                assertThat(scaled[k]).isEqualTo(plain[k]);                 // high frequencies kept
            } else if (wavelen > 8192) {
                assertThat(scaled[k]).isCloseTo(plain[k] / 8, within(1e-18)); // low frequencies divided by factor
            } else {
                double s = (8192 / wavelen - 1) / 3;
                assertThat(scaled[k]).isCloseTo((1 - s) * plain[k] / 8 + s * plain[k], within(1e-18));
                assertThat(scaled[k]).isBetween(plain[k] / 8, plain[k]);
            }
        }
        assertThat(plain[0]).isEqualTo(1.0);
        assertThat(scaled[63]).isCloseTo(plain[63] / 8, within(1e-20));
    }

    /** {@code [1, nb, heads, pools·D]}: each block's max, min or mean over its tokens, pools concatenated in order. */
    private static double[] pooledByHand(double[] x, int n, int heads, int dim, int block, List<Pool> pools) {
        int nb = (n + block - 1) / block;
        double[] out = new double[nb * heads * pools.size() * dim];
        for (int i = 0; i < nb; i++) {
            for (int h = 0; h < heads; h++) {
                for (int p = 0; p < pools.size(); p++) {
                    for (int d = 0; d < dim; d++) {
                        double max = Double.NEGATIVE_INFINITY;
                        double min = Double.POSITIVE_INFINITY;
                        double sum = 0;
                        int count = 0;
                        for (int t = i * block; t < Math.min(n, (i + 1) * block); t++) {
                            double v = x[(t * heads + h) * dim + d];
                            max = Math.max(max, v);
                            min = Math.min(min, v);
                            sum += v;
                            count++;
                        }
                        out[((i * heads + h) * pools.size() + p) * dim + d] = switch (pools.get(p)) {
                            case MAX -> max;
                            case MIN -> min;
                            case AVG -> sum / count;
                        };
                    }
                }
            }
        }
        return out;
    }

    private static double norm(double[] x, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x[i] * x[i];
        }
        return Math.sqrt(s);
    }
}
