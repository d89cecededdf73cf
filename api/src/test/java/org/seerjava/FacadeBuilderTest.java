package org.seerjava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.GateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.InsufficientMemoryException;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.engine.ReferenceEngine;

/**
 * The facade's builder and bookkeeping by value: the three ways to give gate weights (a file's layer, weights given
 * directly, the untrained initial weights of a seed) give the same prefill as the same weights given another way, a
 * file's layer is the one named, conflicting or out-of-range choices are refused with the reason, an engine given
 * directly is the one used; a prefill too large for the heap is refused before its inputs are read with the exact
 * bytes it would allocate, and the two timings of a result are non-negative and fit in the call's wall time.
 */
class FacadeBuilderTest {
    static final int HQ = 4;
    static final int HKV = 2;
    static final int D = 32;
    static final int N = 150;                       // blocks of 64: 2 full + 22 rows
    static final RopeConfig ROPE = RopeConfig.of(10_000, D);

    static SeerAttention.Builder base() {
        return SeerAttention.builder().heads(HQ, HKV).headDim(D).rope(ROPE).density(0.5).backend("reference");
    }

    static float[][] inputs(long seed) {
        Random r = new Random(seed);
        float[][] qkv = {new float[N * HQ * D], new float[N * HKV * D], new float[N * HKV * D]};
        for (float[] x : qkv) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
        }
        return qkv;
    }

    static SeerAttention.Result run(SeerAttention seer, float[][] qkv) {
        return seer.prefill(qkv[0], qkv[1], qkv[2], 1, N);
    }

    @Test
    void aGateFileLayerEqualsTheSameWeightsGivenDirectly(@TempDir Path dir) {
        GateSpec spec = new ModelDims(3, HQ, HKV, D, ROPE).spec(GateType.parse("Qavg_Kmaxmin"), 32, 16);
        GateSet set = GateSet.init(spec, 5);
        Path file = dir.resolve("gates.safetensors");
        set.save(file);
        float[][] qkv = inputs(1);
        for (int layer : new int[] {0, 2}) {
            SeerAttention fromFile = base().gates(file, layer).build();
            SeerAttention direct = base().gates(spec.gate(), set.layer(layer).wqFloats(), set.layer(layer).wkFloats())
                    .build();
            assertThat(fromFile.gateConfig()).isEqualTo(spec.gate());
            SeerAttention.Result a = run(fromFile, qkv);
            SeerAttention.Result b = run(direct, qkv);
            assertThat(a.mask()).isEqualTo(b.mask());
            assertThat(a.output()).containsExactly(b.output());
        }
        // layer 0 and layer 2 hold different weights: the layer asked for is the one used
        assertThat(run(base().gates(file, 0).build(), qkv).output())
                .isNotEqualTo(run(base().gates(file, 2).build(), qkv).output());
        for (int bad : new int[] {-1, 3}) {
            assertThatThrownBy(() -> base().gates(file, bad).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("gate layer " + bad + " is not in " + file + " (layers 0..2)");
        }
    }

    @Test
    void initialGatesAreTheDefaultGateAtBlock64DrawnForTheSeed() {
        GateSpec spec = new ModelDims(1, HQ, HKV, D, ROPE).spec(GateType.DEFAULT, 64, D);
        GateSet set = GateSet.init(spec, 11);
        SeerAttention seeded = base().initialGates(11).build();
        assertThat(seeded.gateConfig()).isEqualTo(spec.gate());
        float[][] qkv = inputs(2);
        SeerAttention.Result a = run(seeded, qkv);
        SeerAttention.Result b = run(base().gates(spec.gate(), null, set.layer(0).wkFloats()).build(), qkv);
        assertThat(a.mask()).isEqualTo(b.mask());
        assertThat(a.output()).containsExactly(b.output());
    }

    @Test
    void anEngineGivenDirectlyIsTheOneUsed() {
        ReferenceEngine engine = new ReferenceEngine();
        SeerAttention seer = SeerAttention.builder().heads(HQ, HKV).headDim(D).rope(ROPE).density(0.5)
                .initialGates(3).engine(engine).build();
        assertThat(seer.engine()).isSameAs(engine);
        float[][] qkv = inputs(3);
        assertThat(run(seer, qkv).output()).containsExactly(run(base().initialGates(3).build(), qkv).output());
    }

    @Test
    void gateWeightsGivenTwoWaysAreRefused(@TempDir Path dir) {
        GateConfig config = new GateConfig(GateType.DEFAULT, 64, D, false, ROPE);
        float[] wk = new float[(int) config.kWeightElements(new AttentionShape(1, 1, HQ, HKV, D))];
        Path file = dir.resolve("none.safetensors");   // never opened: the conflict is found first
        String twoWays = "give gate weights one way only: gates(file, layer), gates(config, wq, wk) or initialGates(seed)";
        assertThatThrownBy(() -> base().gates(file, 0).gates(config, null, wk).build()).hasMessage(twoWays);
        assertThatThrownBy(() -> base().gates(config, null, wk).initialGates(1).build()).hasMessage(twoWays);
        assertThatThrownBy(() -> base().gates(file, 0).initialGates(1).build()).hasMessage(twoWays);
        assertThatThrownBy(() -> base().build()).hasMessageStartingWith("no gate weights: ");
        // hidden size = head dim: no Q linear, so a W_q given is a mistake, named; an empty one is no W_q
        assertThatThrownBy(() -> base().gates(config, new float[5], wk).build())
                .hasMessage("gate type Qavg_Kmaxminavg with hidden size 32 = head dim has no Q linear, but W_q has 5"
                        + " elements");
        assertThat(base().gates(config, new float[0], wk).build().gateConfig()).isEqualTo(config);
    }

    @Test
    void aPrefillBeyondTheHeapIsRefusedWithTheBytesItWouldAllocate() {
        SeerAttention seer = SeerAttention.builder().heads(6, 2).headDim(64).rope(RopeConfig.of(10_000, 64))
                .density(0.3).initialGates(1).backend("reference").build();
        float[] tiny = new float[1];
        // sparse: output and rotated q (2 · n·Hq·D floats), rotated k (n·Hkv·D), gate scores and mask (nb²·Hq · 5 B)
        int n = 1_200_000;
        long nb = n / 64 + (n % 64 == 0 ? 0 : 1);
        long sparse = (2L * n * 6 * 64 + (long) n * 2 * 64) * 4 + 6 * nb * nb * 5;
        assumeTrue(Runtime.getRuntime().maxMemory() < sparse, "the heap holds " + sparse + " bytes");
        assertThatThrownBy(() -> seer.prefill(tiny, tiny, tiny, 1, n))
                .isInstanceOfSatisfying(InsufficientMemoryException.class, e -> assertThat(e.needed()).isEqualTo(sparse))
                .hasMessageContaining("a prefill of 1 × 1200000 tokens");
        // dense: no gate scores
        int nDense = 4_000_000;
        long dense = (2L * nDense * 6 * 64 + (long) nDense * 2 * 64) * 4;
        assumeTrue(Runtime.getRuntime().maxMemory() < dense, "the heap holds " + dense + " bytes");
        assertThatThrownBy(() -> seer.prefillDense(tiny, tiny, tiny, 1, nDense))
                .isInstanceOfSatisfying(InsufficientMemoryException.class, e -> assertThat(e.needed()).isEqualTo(dense))
                .hasMessageContaining("a prefill of 1 × 4000000 tokens");
    }

    @Test
    void theTimingsAreNonNegativeAndFitTheCall() {
        SeerAttention seer = base().initialGates(4).build();
        float[][] qkv = inputs(4);
        long t0 = System.nanoTime();
        SeerAttention.Result r = run(seer, qkv);
        long wall = System.nanoTime() - t0;
        assertThat(r.gateTime().isNegative()).isFalse();
        assertThat(r.attentionTime().isNegative()).isFalse();
        assertThat(r.attentionTime().toNanos()).isPositive();
        assertThat(r.gateTime().plus(r.attentionTime()).toNanos()).isLessThanOrEqualTo(wall);
    }
}
