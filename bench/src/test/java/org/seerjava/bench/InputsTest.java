package org.seerjava.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.BlockMask;

class InputsTest {
    @Test
    void randomMasksHitTheDensityKeepTheDiagonalAndStayCausal() {
        for (double density : new double[] {1.0, 0.5, 0.3, 0.1}) {
            BlockMask mask = Inputs.randomCausalMask(1, 8, 64, density, Inputs.SEED);
            assertThat(mask.density()).isCloseTo(density, org.assertj.core.data.Offset.offset(0.01));
            for (int h = 0; h < 8; h++) {
                for (int i = 0; i < 64; i++) {
                    assertThat(mask.keep(0, h, i, i)).isTrue();
                    for (int j = i + 1; j < 64; j++) {
                        assertThat(mask.keep(0, h, i, j)).isFalse();
                    }
                }
            }
        }
        assertThat(Inputs.randomCausalMask(1, 2, 16, 0.3, 1)).isEqualTo(Inputs.randomCausalMask(1, 2, 16, 0.3, 1));
    }

    @Test
    void attentionProblemIsSeededByNAndItsGateWeightsFollowTheStream() {
        Inputs.Attention a = Inputs.Attention.of(64);
        java.util.Random random = new java.util.Random(Inputs.SEED + 64);
        assertThat(a.shape()).isEqualTo(new org.seerjava.reference.AttentionShape(1, 64, 8, 8, 128));
        assertThat(a.q()).isEqualTo(Inputs.gaussian(random, 64 * 8 * 128));
        assertThat(a.k()).isEqualTo(Inputs.gaussian(random, 64 * 8 * 128));
        assertThat(a.v()).isEqualTo(Inputs.gaussian(random, 64 * 8 * 128));
        assertThat(a.out()).isEqualTo(new float[64 * 8 * 128]);
        float[] wk = a.gateKWeights();
        float[] expected = Inputs.gaussian(random, Inputs.GATE.kWeightElements(a.shape()));
        assertThat(wk).hasSize(expected.length);
        for (int i = 0; i < wk.length; i++) {
            assertThat(wk[i]).isEqualTo(expected[i] * 0.02f);
        }
        assertThat(Inputs.Attention.of(64).q()).isEqualTo(a.q());
    }
}
