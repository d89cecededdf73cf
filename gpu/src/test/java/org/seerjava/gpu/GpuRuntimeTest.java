package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.seerjava.gpu.graph.DataTransferMode;
import org.seerjava.gpu.graph.ExecutionPlan;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.io.DType;

/** The runtime on the GPU: failure paths, caches, transfer modes, persistence, CUDA graphs, leaks. */
class GpuRuntimeTest {

    @BeforeEach
    void setUp() {
        Gpu.assume();
    }

    @Test
    void deviceIsDescribed() {
        CudaContext c = CudaContext.get();
        System.out.println("[seer-gpu] device: " + c + ", arch " + c.architecture() + ", driver "
                + c.driver().driverVersion() + ", NVRTC " + Nvrtc.get().version());
        assertTrue(c.multiprocessors() > 0);
    }

    @Test
    void compileErrorShowsTheProgramLog() {
        CudaException e = assertThrows(CudaException.class, () -> KernelCompiler.compile("broken.cu",
                "extern \"C\" __global__ void broken(float *x) { x[0] = undeclared_name; }", Map.of()));
        System.out.println("[seer-gpu] compile error: " + e.getMessage());
        assertNotNull(e.programLog());
        assertTrue(e.programLog().contains("undeclared_name"), e.programLog());
        assertTrue(e.getMessage().contains("nvrtcCompileProgram(broken.cu"), e.getMessage());
        assertTrue(e.getMessage().contains("NVRTC program log"), e.getMessage());
    }

    @Test
    void outOfMemoryNamesTheSizeAsked() {
        long huge = 1L << 50;
        CudaException e = assertThrows(CudaException.class, () -> DeviceBuffer.allocate(huge));
        System.out.println("[seer-gpu] OOM: " + e.getMessage());
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
        assertTrue(e.getMessage().contains("cuMemAlloc_v2(" + huge + " bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("out of device memory: asked for 1048576.00 GiB"), e.getMessage());
    }

    @Test
    void compiledImagesAreCachedInMemoryAndOnDisk() {
        String src = "extern \"C\" __global__ void cache_probe(float *x) { x[threadIdx.x] = CONST_VALUE; }";
        int before = KernelCompiler.COMPILATIONS.get();
        long stamp = System.nanoTime();
        byte[] a = KernelCompiler.compile("probe.cu", src, Map.of("CONST_VALUE", stamp + ".0f"));
        byte[] b = KernelCompiler.compile("probe.cu", src, Map.of("CONST_VALUE", stamp + ".0f"));
        assertEquals(before + 1, KernelCompiler.COMPILATIONS.get());
        assertArrayEquals(a, b);
        Path dir = KernelCompiler.cacheDir().resolve(CudaContext.get().architecture());
        String key = KernelCompiler.key(CudaContext.get().architecture(), src,
                KernelCompiler.options(CudaContext.get(), Map.of("CONST_VALUE", stamp + ".0f")));
        assertTrue(Files.isRegularFile(dir.resolve(key + ".cubin")), "no disk cache entry in " + dir);
        assertTrue(KernelCompiler.options(CudaContext.get(), Map.of()).stream()
                .anyMatch(o -> o.startsWith("--gpu-architecture=sm_")));
    }

    private static Tensor host(Arena a, String name, float[] x, long... shape) {
        return Tensor.of(name, DType.F32, shape).withHost(a.allocateFrom(ValueLayout.JAVA_FLOAT, x));
    }

    private static Tensor hostOut(Arena a, String name, long... shape) {
        Tensor t = Tensor.of(name, DType.F32, shape);
        return t.withHost(a.allocate(t.bytes(), 8));
    }

    private static float[] pooled(float[] x, int n) {
        float[] out = new float[2 * 2 * 4];
        new ReferenceEngine().pool(x, out, 1, n, 2, 4, 64, java.util.List.of(org.seerjava.reference.Pool.AVG));
        return out;
    }

    @Test
    void transferModesPersistenceAndCudaGraphs() {
        Random r = new Random(1);
        float[] x0 = Gpu.random(r, 128 * 2 * 4);
        float[] x1 = Gpu.random(r, x0.length);
        try (Arena a = Arena.ofConfined()) {
            Tensor first = host(a, "first", x0, 1, 128, 2, 4);
            Tensor every = host(a, "every", x0, 1, 128, 2, 4);
            Tensor o1 = hostOut(a, "o1", 1, 2, 2, 4);
            Tensor o2 = hostOut(a, "o2", 1, 2, 2, 4);
            Tensor kept = Tensor.of("kept", DType.F32, 1, 2, 2, 4);
            Launch l = Launch.linear(16, 64);
            TaskGraph g1 = new TaskGraph("g1")
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, first)
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, every)
                    .task("p1", SeerKernels.POOL_F32, l, first, o1, 1, 128, 2, 4, 64, 4)
                    .task("p2", SeerKernels.POOL_F32, l, every, o2, 1, 128, 2, 4, 64, 4)
                    .task("p3", SeerKernels.POOL_F32, l, every, kept, 1, 128, 2, 4, 64, 4)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, o1)
                    .transferToHost(DataTransferMode.UNDER_DEMAND, o2)
                    .persistOnDevice(kept);
            try (ExecutionPlan plan = new ExecutionPlan(g1.snapshot()).withCudaGraph()) {
                plan.execute();
                assertArrayEquals(pooled(x0, 128), o1.host().toArray(ValueLayout.JAVA_FLOAT), 1e-6f);
                assertArrayEquals(new float[16], o2.host().toArray(ValueLayout.JAVA_FLOAT)); // not copied yet
                // change both host inputs: FIRST_EXECUTION is not copied again, EVERY_EXECUTION is
                first.host().copyFrom(a.allocateFrom(ValueLayout.JAVA_FLOAT, x1));
                every.host().copyFrom(a.allocateFrom(ValueLayout.JAVA_FLOAT, x1));
                plan.execute().transferToHost(o2);
                assertArrayEquals(pooled(x0, 128), o1.host().toArray(ValueLayout.JAVA_FLOAT), 1e-6f);
                assertArrayEquals(pooled(x1, 128), o2.host().toArray(ValueLayout.JAVA_FLOAT), 1e-6f);
            }
            // the persisted tensor outlives the plan and feeds another graph
            try (kept) {
                assertEquals(kept.bytes(), kept.device().bytes(), "the persisted tensor's device buffer");
                TaskGraph g2 = new TaskGraph("g2").consumeFromDevice(kept)
                        .task("copy", SeerKernels.SOFTMAX, Launch.linear(32, 32), kept, 0L, 4);   // rows = 0: no-op
                try (ExecutionPlan p2 = new ExecutionPlan(g2.snapshot())) {
                    p2.execute();
                }
                assertArrayEquals(pooled(x1, 128), copy(kept), 1e-6f);
            }
        }
    }

    private static float[] copy(Tensor t) {
        float[] f = new float[(int) t.elements()];
        t.device().copyTo(f);
        return f;
    }

    @Test
    void noDeviceMemoryLeaksOverAThousandPlanExecutions() {
        CudaContext c = CudaContext.get();
        Random r = new Random(3);
        float[] x = Gpu.random(r, 200 * 4 * 32);
        Runnable once = () -> {
            try (Arena a = Arena.ofConfined()) {
                Tensor xt = host(a, "x", x, 1, 200, 4, 32);
                Tensor ot = hostOut(a, "o", 1, 4, 4, 96);
                TaskGraph tg = new TaskGraph("leak").transferToDevice(DataTransferMode.FIRST_EXECUTION, xt)
                        .task("pool", SeerKernels.POOL_F32, Launch.linear(512, 128), xt, ot, 1, 200, 4, 32, 64, 7)
                        .transferToHost(DataTransferMode.EVERY_EXECUTION, ot);
                try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot())) {
                    plan.withCudaGraph();
                    for (int i = 0; i < 10; i++) {
                        plan.execute();
                    }
                }
            }
        };
        for (int i = 0; i < 5; i++) {
            once.run();
        }
        c.synchronize();
        long before = c.memoryInfo()[0];
        for (int i = 0; i < 100; i++) {   // 100 plans × 10 executions = 1,000 executions
            once.run();
        }
        c.synchronize();
        long after = c.memoryInfo()[0];
        System.out.printf("[seer-gpu] free device memory before %d, after 1,000 plan executions %d (diff %d)%n", before,
                after, before - after);
        assertTrue(before - after <= 2L << 20, "device memory leaked: " + (before - after) + " bytes");
    }
}
