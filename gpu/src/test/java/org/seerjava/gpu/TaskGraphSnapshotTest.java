package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.seerjava.gpu.graph.DataTransferMode;
import org.seerjava.gpu.graph.ImmutableTaskGraph;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.io.DType;

/** Task graph checks at snapshot time; no GPU needed. */
class TaskGraphSnapshotTest {

    private static String fail(TaskGraph tg) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, tg::snapshot);
        System.out.println("[seer-gpu] snapshot error: " + e.getMessage());
        return e.getMessage();
    }

    private static Tensor host(Arena a, String name, DType t, long... shape) {
        Tensor x = Tensor.of(name, t, shape);
        return x.withHost(a.allocate(x.bytes()));
    }

    @Test
    void validGraphSnapshots() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = host(a, "x", DType.F32, 1, 128, 2, 16);
            Tensor out = host(a, "pooled", DType.F32, 1, 2, 2, 16);
            TaskGraph tg = new TaskGraph("ok").transferToDevice(DataTransferMode.FIRST_EXECUTION, x)
                    .task("pool", SeerKernels.POOL_F32, Launch.linear(64, 64), x, out, 1, 128, 2, 16, 64, 4)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
            ImmutableTaskGraph g = tg.snapshot();
            assertEquals("ok", g.name());
            assertEquals(List.of("pool"), g.tasks().stream().map(TaskGraph.Task::name).toList());
            assertEquals(List.of(x), g.toDevice().stream().map(TaskGraph.Transfer::tensor).toList());
            assertEquals(DataTransferMode.FIRST_EXECUTION, g.toDevice().get(0).mode());
            assertEquals(List.of(out), g.toHost().stream().map(TaskGraph.Transfer::tensor).toList());
            assertEquals(DataTransferMode.EVERY_EXECUTION, g.toHost().get(0).mode());
            assertEquals(Map.of(x, false, out, false), g.tensors());   // both touched, neither persists
        }
    }

    @Test
    void undeclaredInputIsReported() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = host(a, "x", DType.F32, 1, 128, 2, 16);
            Tensor out = Tensor.of("pooled", DType.F32, 1, 2, 2, 16);
            String m = fail(new TaskGraph("g").task("pool", SeerKernels.POOL_F32, Launch.linear(64, 64), x, out, 1, 128,
                    2, 16, 64, 4));
            assertTrue(m.contains("task 'pool' parameter 0 'x' reads tensor x f32[1, 128, 2, 16], which is not declared"),
                    m);
        }
    }

    @Test
    void wrongDtypeWrongArityAndWrongScalarAreReported() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = host(a, "x", DType.BF16, 1, 128, 2, 16);
            Tensor out = Tensor.of("pooled", DType.F32, 1, 2, 2, 16);
            String m = fail(new TaskGraph("g").transferToDevice(DataTransferMode.EVERY_EXECUTION, x)
                    .task("pool", SeerKernels.POOL_F32, Launch.linear(64, 64), x, out, 1, 128, 2, 16, 64, 4)
                    .task("short", SeerKernels.POOL_F32, Launch.linear(64, 64), x, out)
                    .task("scalar", SeerKernels.POOL_BF16, Launch.linear(64, 64), x, out, 1, 128L, 2, 16, 64, 4.0f));
            assertTrue(m.contains("expects dtype F32, tensor x bf16[1, 128, 2, 16] has BF16"), m);
            assertTrue(m.contains("task 'short' (pool_f32) has 2 arguments, the kernel takes 8"), m);
            assertTrue(m.contains("parameter 3 'N' expects a int scalar, got Long 128"), m);
            assertTrue(m.contains("parameter 7 'pools' expects a int scalar, got Float 4.0"), m);
        }
    }

    @Test
    void transfersNeedHostMemoryAndDeclaredTensors() {
        Tensor x = Tensor.of("x", DType.F32, 4);
        Tensor y = Tensor.of("y", DType.F32, 4);
        String m = fail(new TaskGraph("g").transferToDevice(DataTransferMode.FIRST_EXECUTION, x)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, y));
        assertTrue(m.contains("tensor x f32[4] is transferred to the device but has no host memory bound"), m);
        assertTrue(m.contains("tensor y f32[4] is transferred to the host but nothing declares or writes it"), m);
    }

    @Test
    void prefillWithWrongShapesFailsAtSnapshot() {
        AttentionShape shape = new AttentionShape(2, 200, 8, 2, 64);
        GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 64, 10000);
        float[] wk = new float[gate.kWeightElements(shape)];
        try (Arena a = Arena.ofConfined()) {
            Tensor q = Tensor.of("q", DType.BF16, 2, 200, 8, 64);
            Tensor k = Tensor.of("k", DType.BF16, 2, 200, 8, 64);      // should have 2 KV heads
            Tensor v = Tensor.of("v", DType.F32, 2, 200, 2, 64);       // should be bf16
            Tensor out = Tensor.of("out", DType.BF16, 2, 201, 8, 64);   // wrong N
            var g = Prefill.graph("prefill", a, q, k, q, k, v, out, null, wk, shape, gate,
                    new SelectionRule.Threshold(0.01, true, false), 0.125);
            String m = fail(g.taskGraph());
            assertTrue(m.contains("gate k [B, N, Hkv, D]: expected k bf16[2, 200, 2, 64], got k bf16[2, 200, 8, 64]"), m);
            assertTrue(m.contains("attention v [B, N, Hkv, D]: expected v bf16[2, 200, 2, 64], got v f32[2, 200, 2, 64]"),
                    m);
            assertTrue(m.contains("attention out [B, N, Hq, D]: expected out bf16[2, 200, 8, 64], got out bf16[2, 201, 8, 64]"),
                    m);
            assertTrue(m.contains("parameter 2 'v' expects dtype BF16"), m);
        }
    }

    @Test
    void prefillWithRightShapesSnapshots() {
        AttentionShape shape = new AttentionShape(2, 200, 8, 2, 64);
        GateConfig gate = GateConfig.of(GateType.DEFAULT, 64, 64, 10000);
        float[] wk = new float[gate.kWeightElements(shape)];
        try (Arena a = Arena.ofConfined()) {
            Tensor q = Tensor.of("q", DType.BF16, 2, 200, 8, 64);
            Tensor k = Tensor.of("k", DType.BF16, 2, 200, 2, 64);
            Tensor v = Tensor.of("v", DType.BF16, 2, 200, 2, 64);
            Tensor out = Tensor.of("out", DType.BF16, 2, 200, 8, 64);
            var g = Prefill.graph("prefill", a, q, k, q, k, v, out, null, wk, shape, gate,
                    new SelectionRule.TopK(0.3, true, false), 0.125);
            ImmutableTaskGraph snap = g.taskGraph().snapshot();
            List<String> names = snap.tasks().stream().map(TaskGraph.Task::name).toList();
            assertEquals("attention", names.get(names.size() - 1), names.toString());
            assertEquals("select", names.get(names.size() - 2), names.toString());
            assertEquals("u8[2, 8, 4, 4]", describeShape(g.mask()), "the block mask [B, Hq, nb, nb]");
            TaskGraph.Task select = snap.tasks().get(names.size() - 2);
            assertEquals(List.of(g.logits(), g.mask()), select.args().subList(0, 2), "select reads logits, writes the mask");
            // the attention task reads q, k, v and the selection's mask and writes out; the scale in log2 units
            TaskGraph.Task last = snap.tasks().get(snap.tasks().size() - 1);
            assertEquals(List.of(q, k, v, g.mask(), out, 200, 8, 2, 4, (float) (0.125 * SeerKernels.LOG2E)),
                    last.args(), "attention arguments");
        }
    }

    private static String describeShape(Tensor t) {
        return t.dtype().name().toLowerCase(java.util.Locale.ROOT) + java.util.Arrays.toString(t.shape());
    }
}
