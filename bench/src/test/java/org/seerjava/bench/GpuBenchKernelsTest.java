package org.seerjava.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.seerjava.gpu.KernelCompiler;
import org.seerjava.gpu.graph.KernelSpec;

/**
 * The GPU benchmark's own kernel source is found on the class path and assembled with the gpu module's header (whose
 * seeded hash it uses), and the mask kernel's spec names an entry point of it (no GPU needed).
 */
class GpuBenchKernelsTest {
    @Test
    void randomMasksResolveFromThisModule() {
        String source = KernelCompiler.resource(GpuBench.INPUTS);
        assertThat(source).contains("#line 1 \"common.cuh\"").contains("float uniform01(u64 seed, u64 i)");
        KernelSpec spec = GpuBench.RANDOM_MASK;
        assertThat(spec.resource()).isEqualTo(GpuBench.INPUTS);
        assertThat(source).contains("__global__ void " + spec.function() + "(");
    }

    @Test
    void keepProbabilityGivesTheRequestedDensityOfTheCausalTriangle() {
        int nb = 128;
        for (double density : new double[] {0.1, 0.3, 1.0}) {
            double p = GpuBench.keepProbability(nb, density);
            double kept = nb + p * nb * (nb - 1) / 2.0;              // the diagonal, then the off-diagonal blocks
            assertThat(kept / (nb * (nb + 1) / 2.0)).isCloseTo(density, org.assertj.core.data.Offset.offset(1e-6));
        }
        assertThat(GpuBench.keepProbability(nb, 0.001)).isZero();    // below the diagonal's share: diagonal only
    }

    @Test
    void peerRowSizesAreParsedAndCheckedBeforeAnyGpuWork() {
        assertThat(GpuBench.sizes("8192, 32768,131072")).containsExactly(8192, 32768, 131072);
        assertThatThrownBy(() -> GpuBench.sizes("8192,abc")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'8192,abc'");
        assertThatThrownBy(() -> GpuBench.sizes("8192,63")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(">= 64, got 63");
        assertThatThrownBy(() -> GpuBench.run(new String[] {"--dense", "32"}))   // refused before the GPU is touched
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 32");
        assertThatThrownBy(() -> GpuBench.run(new String[] {"--fused", "131072,40"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 40");
    }
}
