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
}
