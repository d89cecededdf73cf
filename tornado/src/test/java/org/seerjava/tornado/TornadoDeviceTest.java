package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;
import org.seerjava.tornado.kernels.BlockSparseAttention;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The engine on the PTX device: the conformance suite (reference within 1e-5, golden files, clear errors), proof
 * that the kernels ran on the device, and no device-memory growth. Skipped, with TornadoVM's own reason printed,
 * where TornadoVM cannot start (no NVIDIA driver, not launched with its JVM arguments). These tests run with
 * {@code -Dtornado.recover.bailout=False}, so a kernel TornadoVM cannot compile fails instead of running as Java.
 */
class TornadoDeviceTest extends EngineConformance {
    static TornadoEngine engine;

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

    @Override
    TornadoEngine engine() {
        return engine;
    }

    /** B, N, Hq, Hkv, D: N not a multiple of 64, GQA 1–4, B = 2, D = 64 and 128 (also {@link KernelPtxDump}'s). */
    static final int[][] SHAPES = {{2, 77, 4, 4, 64}, {2, 130, 4, 2, 128}, {1, 333, 3, 1, 64}, {2, 1000, 4, 1, 128}};

    @Override
    Stream<Arguments> shapes() {
        return java.util.Arrays.stream(SHAPES).map(x -> Arguments.of(x[0], x[1], x[2], x[3], x[4]));
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

    static float[] scaled(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= 0.05f;
        }
        return x;
    }
}
