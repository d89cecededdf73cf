package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.golden.GoldenCheck;

/**
 * The TornadoVM engine as a whole (argument checks, buffers, graph reuse, every kernel) against the float64
 * reference (relative error ≤ 1e-5) and the golden files. {@link TornadoDeviceTest} runs it on the PTX device,
 * {@link EmulatedEngineTest} with the graphs run by the KernelContext emulator.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EngineConformance {
    static final double TOL = 1e-5;
    static final ReferenceEngine REF = new ReferenceEngine();

    abstract TornadoEngine engine();

    /** (B, N, Hq, Hkv, D) of the random-shape comparisons. */
    abstract Stream<Arguments> shapes();

    /** The gate of {@link #everyOperationMatchesTheReference} (also {@link KernelPtxDump}'s). */
    static final GateConfig RANDOM_SHAPES_GATE = new GateConfig(GateType.DEFAULT, 64, 96, false,
            RopeConfig.of(500_000, 96));
    /** The selection rules of {@link #everyOperationMatchesTheReference} (also {@link KernelPtxDump}'s). */
    static final List<SelectionRule> RANDOM_SHAPES_RULES = List.of(new SelectionRule.TopK(0.3, true, true),
            new SelectionRule.Threshold(0.05, false, false));

    static Path goldenData() {
        Path home = Path.of(System.getProperty("seer.home", "..")).toAbsolutePath().normalize();
        return home.resolve("golden-data");
    }

    @Test
    @org.junit.jupiter.api.Tag("golden")                   // the same comparisons as `seer check --backend tornado`
    void everyGoldenComparisonPasses() {
        Path dir = goldenData();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(dir), "no golden-data at " + dir);
        int passed = 0;
        int total = 0;
        for (Path file : GoldenCheck.goldenFiles(dir)) {
            for (GoldenCheck.Result r : GoldenCheck.run(file, engine())) {
                total++;
                System.out.printf("golden %-22s %-32s %-10s %.3e%n", r.caseName(), r.tensor(), r.metric(), r.error());
                if (r.passed()) {
                    passed++;
                }
            }
        }
        System.out.println("golden comparisons: " + passed + "/" + total);
        assertThat(passed).isEqualTo(total);
        assertThat(total).isEqualTo(45);
    }

    @ParameterizedTest(name = "B={0} N={1} Hq={2} Hkv={3} D={4}")
    @MethodSource("shapes")
    void everyOperationMatchesTheReference(int b, int n, int hq, int hkv, int d) {
        AttentionShape shape = new AttentionShape(b, n, hq, hkv, d);
        Random random = new Random(n + 31L * d);
        float[] q = TestData.gaussian(random, shape.qElements());
        float[] k = TestData.gaussian(random, shape.kvElements());
        float[] v = TestData.gaussian(random, shape.kvElements());
        double scale = 1 / Math.sqrt(d);
        int nb = shape.blocks(64);

        BlockMask mask = TestData.randomMask(random, b, hq, nb, 0.5);
        compare("block-sparse", shape.qElements(), o -> engine().blockSparse(q, k, v, mask, o, shape, 64, scale),
                o -> REF.blockSparse(q, k, v, mask, o, shape, 64, scale));
        compare("dense", shape.qElements(), o -> engine().denseCausal(q, k, v, o, shape, scale),
                o -> REF.denseCausal(q, k, v, o, shape, scale));
        float[] target = new float[b * hq * nb * nb];
        float[] refTarget = new float[target.length];
        compare("fused", shape.qElements(), o -> engine().attentionWithPooledTarget(q, k, v, o, target, shape, 64, scale),
                o -> REF.attentionWithPooledTarget(q, k, v, o, refTarget, shape, 64, scale));
        assertThat(relative(target, refTarget)).as("pooled target").isLessThan(TOL);

        compare("pool", b * nb * hkv * d * 3, o -> engine().pool(k, o, b, n, hkv, d, 64, List.of(Pool.MAX, Pool.MIN,
                Pool.AVG)), o -> REF.pool(k, o, b, n, hkv, d, 64, List.of(Pool.MAX, Pool.MIN, Pool.AVG)));
        GateConfig gate = RANDOM_SHAPES_GATE;
        float[] wq = scaled(TestData.gaussian(random, gate.qWeightElements(shape)));
        float[] wk = scaled(TestData.gaussian(random, gate.kWeightElements(shape)));
        float[] scores = new float[b * hq * nb * nb];
        compare("gate scores", scores.length, o -> engine().gateScores(q, k, wq, wk, o, shape, gate, true),
                o -> REF.gateScores(q, k, wq, wk, o, shape, gate, true));
        engine().gateScores(q, k, wq, wk, scores, shape, gate, true);
        for (SelectionRule rule : RANDOM_SHAPES_RULES) {
            assertThat(engine().select(scores, b, hq, nb, rule)).as("%s", rule)
                    .isEqualTo(REF.select(scores, b, hq, nb, rule));
        }
    }

    @Test
    void badInputsGiveClearErrors() {
        AttentionShape d80 = new AttentionShape(1, 128, 2, 2, 80);
        float[] x = new float[d80.qElements()];
        assertThatThrownBy(() -> engine().denseCausal(x, x, x, new float[x.length], d80, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("D = 80");
        AttentionShape s = new AttentionShape(1, 256, 2, 2, 64);
        float[] y = new float[s.qElements()];
        assertThatThrownBy(() -> engine().blockSparse(y, y, y, BlockMask.causal(1, 2, 2), new float[y.length], s, 128,
                0.1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block sizes up to 64");
        float[] nan = y.clone();
        nan[7] = Float.NaN;
        assertThatThrownBy(() -> engine().denseCausal(nan, y, y, new float[y.length], s, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q contains NaN");
        assertThatThrownBy(() -> engine().denseCausal(new float[3], y, y, new float[y.length], s, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q has 3 elements");
    }

    interface Op {
        void run(float[] out);
    }

    static void compare(String what, int n, Op ours, Op reference) {
        float[] a = new float[n];
        float[] r = new float[n];
        java.util.Arrays.fill(a, Float.NaN);
        ours.run(a);
        reference.run(r);
        double err = relative(a, r);
        System.out.printf("engine vs reference: %-13s %.2e%n", what, err);
        assertThat(err).as(what).isLessThan(TOL);
    }

    static double relative(float[] a, float[] r) {
        double[] rd = new double[r.length];
        for (int i = 0; i < r.length; i++) {
            rd[i] = r[i];
        }
        return TestData.relativeError(a, rd);
    }

    static float[] scaled(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= 0.05f;
        }
        return x;
    }
}
