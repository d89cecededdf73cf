package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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
import org.seerjava.tornado.kernels.BlockSparseAttention;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The engine on the PTX device, against the reference (relative error ≤ 1e-5) and the golden files; proof that the
 * kernels ran on the device; no device-memory growth; clear errors. Skipped, with TornadoVM's own reason printed,
 * where TornadoVM cannot start (no NVIDIA driver, not launched with its JVM arguments). These tests run with
 * {@code -Dtornado.recover.bailout=False}, so a kernel TornadoVM cannot compile fails instead of running as Java.
 */
class TornadoDeviceTest {
    static final double TOL = 1e-5;
    static TornadoEngine engine;
    static final ReferenceEngine REF = new ReferenceEngine();

    @BeforeAll
    static void device() {
        String reason = TornadoRuntimeStatus.unavailableReason();
        if (reason != null) {
            System.out.println("TornadoVM device tests skipped: " + reason);
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, reason);
        assertThat(System.getProperty("tornado.recover.bailout")).as("device tests must not fall back to Java")
                .isEqualToIgnoringCase("false");
        engine = new TornadoEngine();
        System.out.println("TornadoVM device: " + engine.description());
    }

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
            for (GoldenCheck.Result r : GoldenCheck.run(file, engine)) {
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

    static Stream<Arguments> shapes() {
        return Stream.of(                                  // N not a multiple of 64, GQA 1–4, B = 2, D = 64 and 128
                Arguments.of(2, 77, 4, 4, 64),
                Arguments.of(2, 130, 4, 2, 128),
                Arguments.of(1, 333, 3, 1, 64),
                Arguments.of(2, 1000, 4, 1, 128));
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
        compare("block-sparse", shape.qElements(), o -> engine.blockSparse(q, k, v, mask, o, shape, 64, scale),
                o -> REF.blockSparse(q, k, v, mask, o, shape, 64, scale));
        compare("dense", shape.qElements(), o -> engine.denseCausal(q, k, v, o, shape, scale),
                o -> REF.denseCausal(q, k, v, o, shape, scale));
        float[] target = new float[b * hq * nb * nb];
        float[] refTarget = new float[target.length];
        compare("fused", shape.qElements(), o -> engine.attentionWithPooledTarget(q, k, v, o, target, shape, 64, scale),
                o -> REF.attentionWithPooledTarget(q, k, v, o, refTarget, shape, 64, scale));
        assertThat(relative(target, refTarget)).as("pooled target").isLessThan(TOL);

        compare("pool", b * nb * hkv * d * 3, o -> engine.pool(k, o, b, n, hkv, d, 64, List.of(Pool.MAX, Pool.MIN,
                Pool.AVG)), o -> REF.pool(k, o, b, n, hkv, d, 64, List.of(Pool.MAX, Pool.MIN, Pool.AVG)));
        GateConfig gate = new GateConfig(GateType.DEFAULT, 64, 96, false, RopeConfig.of(500_000, 96));
        float[] wq = scaled(TestData.gaussian(random, gate.qWeightElements(shape)));
        float[] wk = scaled(TestData.gaussian(random, gate.kWeightElements(shape)));
        float[] scores = new float[b * hq * nb * nb];
        compare("gate scores", scores.length, o -> engine.gateScores(q, k, wq, wk, o, shape, gate, true),
                o -> REF.gateScores(q, k, wq, wk, o, shape, gate, true));
        engine.gateScores(q, k, wq, wk, scores, shape, gate, true);
        for (SelectionRule rule : new SelectionRule[] {new SelectionRule.TopK(0.3, true, true),
                                                       new SelectionRule.Threshold(0.05, false, false)}) {
            assertThat(engine.select(scores, b, hq, nb, rule)).as("%s", rule)
                    .isEqualTo(REF.select(scores, b, hq, nb, rule));
        }
    }

    @Test
    void kernelsRunOnThePtxDevice() {
        assertThat(TornadoRuntimeStatus.backend()).isEqualTo("PTX");
        AttentionShape shape = new AttentionShape(1, 4096, 8, 8, 128);
        Random random = new Random(1);
        FloatArray q = TestData.buffer(TestData.gaussian(random, shape.qElements()));
        FloatArray k = TestData.buffer(TestData.gaussian(random, shape.kvElements()));
        FloatArray v = TestData.buffer(TestData.gaussian(random, shape.kvElements()));
        FloatArray out = new FloatArray(shape.qElements());
        ByteArray mask = new ByteArray(1);
        KernelTask task = SeerTasks.attention("attention", q, k, v, mask, out, shape, 64, 0.088,
                BlockSparseAttention.DENSE);
        try (GraphPlan plan = new GraphPlan("proof", List.of(q, k, v, mask), List.of(), List.of(task), List.of(out),
                List.of(), true)) {
            plan.execute();
            TornadoExecutionResult r = plan.execute();
            long kernelNs = r.getProfilerResult().getDeviceKernelTime();
            String device = plan.plan().getDevice(0).getPhysicalDevice().getDeviceName();
            double tflops = 2.0 * 4096 * 4096 * 128 * 8 * 2 / 2 / kernelNs / 1e3;
            System.out.printf("proof of device execution: %s, dense attention N=4096 H=8 D=128 kernel %.3f ms "
                    + "(TornadoVM profiler), %.1f TFLOP/s%n", device, kernelNs / 1e6, tflops);
            assertThat(kernelNs).isPositive();
            assertThat(device).isNotBlank();
            // 137 GFLOP of causal attention: the Java fallback would need tens of seconds, not milliseconds.
            assertThat(kernelNs).isLessThan(1_000_000_000L);
        }
    }

    @Test
    void prefillGraphHoldsItsDeviceMemoryOver1000Executions() {
        AttentionShape shape = new AttentionShape(1, 2048, 8, 2, 128);
        GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 128, 500_000);
        Random random = new Random(2);
        float[] q = TestData.gaussian(random, shape.qElements());
        float[] k = TestData.gaussian(random, shape.kvElements());
        float[] v = TestData.gaussian(random, shape.kvElements());
        float[] wk = scaled(TestData.gaussian(random, gate.kWeightElements(shape)));
        float[] out = new float[shape.qElements()];
        try (TornadoPrefill prefill = new TornadoPrefill(shape, gate, null, wk, new SelectionRule.TopK(0.2, false,
                true), 1 / Math.sqrt(128), true, false)) {
            prefill.run(q, k, q, k, v, out);
            long first = prefill.plan().deviceMemory();
            for (int i = 0; i < 1000; i++) {
                prefill.execute();
            }
            long after = prefill.plan().deviceMemory();
            System.out.printf("prefill graph device memory (TornadoVM's count): %d bytes after 1 execution, %d after "
                    + "1001%n", first, after);
            assertThat(after).isEqualTo(first);
            float[] again = new float[out.length];
            prefill.run(q, k, q, k, v, again);
            assertThat(java.util.Arrays.equals(again, out)).as("the same output on re-execution").isTrue();
        }
    }

    @Test
    void badInputsGiveClearErrors() {
        AttentionShape d80 = new AttentionShape(1, 128, 2, 2, 80);
        float[] x = new float[d80.qElements()];
        assertThatThrownBy(() -> engine.denseCausal(x, x, x, new float[x.length], d80, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("D = 80");
        AttentionShape s = new AttentionShape(1, 256, 2, 2, 64);
        float[] y = new float[s.qElements()];
        assertThatThrownBy(() -> engine.blockSparse(y, y, y, BlockMask.causal(1, 2, 2), new float[y.length], s, 128,
                0.1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block sizes up to 64");
        float[] nan = y.clone();
        nan[7] = Float.NaN;
        assertThatThrownBy(() -> engine.denseCausal(nan, y, y, new float[y.length], s, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q contains NaN");
        assertThatThrownBy(() -> engine.denseCausal(new float[3], y, y, new float[y.length], s, 0.1))
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
        System.out.printf("device vs reference: %-13s %.2e%n", what, err);
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
