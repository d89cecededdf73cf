package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/** The emulator itself: indices, local memory shared per work-group, barriers, and what it refuses. */
class KernelEmulatorTest {
    /** out[global] = Σ of the group's local ids, through local memory and a barrier; ids written per item. */
    public static void groupSum(KernelContext context, IntArray ids, FloatArray out) {
        float[] shared = context.allocateFloatLocalArray(32);
        int local = context.localIdx;
        shared[local] = local;
        context.localBarrier();
        float sum = 0;
        for (int i = 0; i < context.localGroupSizeX; i++) {
            sum += shared[i];
        }
        int global = context.globalIdy * context.globalGroupSizeX + context.globalIdx;
        out.set(global, sum);
        ids.set(global, context.groupIdx * 1000 + context.localIdx + context.groupIdy * 100_000);
    }

    /** Work-item 0 returns before the barrier the others wait at. */
    public static void divergent(KernelContext context, IntArray ids, FloatArray out) {
        if (context.localIdx == 0) {
            return;
        }
        context.localBarrier();
        out.set(context.globalIdx, 1);
    }

    /** Reads local memory nobody wrote. */
    public static void uninitialised(KernelContext context, IntArray ids, FloatArray out) {
        float[] shared = context.allocateFloatLocalArray(8);
        out.set(context.globalIdx, shared[context.localIdx]);
    }

    @Test
    void indicesLocalMemoryAndBarriers() {
        IntArray ids = new IntArray(64 * 2);
        FloatArray out = new FloatArray(64 * 2);
        KernelEmulator.run(KernelTask.kernel("sum", new Grid(64, 2, 1, 32, 1, 1), KernelEmulatorTest::groupSum,
                new KernelContext(), ids, out));
        for (int gy = 0; gy < 2; gy++) {
            for (int g = 0; g < 64; g++) {
                int global = gy * 64 + g;
                assertThat(out.get(global)).isEqualTo(31 * 32 / 2f);
            }
        }
        assertThat(ids.get(33)).isEqualTo(1000 + 1);
        assertThat(ids.get(64 + 5)).isEqualTo(100_000 + 5);
    }

    @Test
    void barrierDivergenceFails() {
        assertThatThrownBy(() -> KernelEmulator.run(KernelTask.kernel("divergent", new Grid(8, 1, 1, 8, 1, 1),
                KernelEmulatorTest::divergent, new KernelContext(), new IntArray(8), new FloatArray(8))))
                .isInstanceOf(AssertionError.class).hasMessageContaining("barrier divergence");
    }

    @Test
    void localMemoryStartsAsNaN() {
        FloatArray out = new FloatArray(8);
        KernelEmulator.run(KernelTask.kernel("uninitialised", new Grid(8, 1, 1, 8, 1, 1),
                KernelEmulatorTest::uninitialised, new KernelContext(), new IntArray(8), out));
        assertThat(out.get(3)).isNaN();
    }
}
