package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.BlockSparseAttention;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.PooledAttentionTarget;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The attention kernel ({@code kernels.BlockSparseAttention.forward}) run through the KernelContext emulator with the
 * engine's own tasks, against the float64 reference: block-sparse with random masks (empty rows included), dense
 * causal, and dense + pooled target; N not a multiple of the block, GQA 1–4, B = 2, D = 32, 64, 128, blocks 32–64.
 */
class AttentionKernelTest {
    static final double TOL = 1e-5;

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(2, 77, 4, 2, 64, 64),
                Arguments.of(1, 130, 3, 1, 128, 64),
                Arguments.of(2, 200, 4, 1, 64, 64),
                Arguments.of(1, 64, 2, 2, 128, 64),
                Arguments.of(1, 40, 4, 4, 64, 64),
                Arguments.of(1, 150, 4, 2, 64, 32),
                Arguments.of(2, 101, 2, 1, 32, 48));
    }

    @ParameterizedTest(name = "B={0} N={1} Hq={2} Hkv={3} D={4} block={5}")
    @MethodSource("shapes")
    void blockSparseMatchesReference(int b, int n, int hq, int hkv, int d, int block) {
        AttentionShape shape = new AttentionShape(b, n, hq, hkv, d);
        Random random = new Random(n * 31L + d);
        float[] q = TestData.gaussian(random, shape.qElements());
        float[] k = TestData.gaussian(random, shape.kvElements());
        float[] v = TestData.gaussian(random, shape.kvElements());
        int nb = shape.blocks(block);
        BlockMask mask = TestData.randomMask(random, b, hq, nb, 0.5);
        double scale = 1 / Math.sqrt(d);

        FloatArray out = TestData.poisoned(shape.qElements());
        KernelEmulator.run(SeerTasks.attention("attention", TestData.buffer(q), TestData.buffer(k),
                TestData.buffer(v), TestData.bytes(mask.toBytes()), out, shape, block, scale,
                org.seerjava.tornado.kernels.BlockSparseAttention.SPARSE));

        double[] ref = new double[shape.qElements()];
        BlockSparseAttention.forward(TestData.toDouble(q), TestData.toDouble(k), TestData.toDouble(v), mask, ref,
                shape, block, scale);
        assertThat(TestData.relativeError(out, ref)).isLessThan(TOL);
        float[] o = Buffers.toFloats(out);
        for (int i = 0; i < o.length; i++) {
            if (ref[i] == 0) {                        // rows with no kept block are exactly zero
                assertThat(o[i]).isZero();
            }
        }
    }

    @ParameterizedTest(name = "B={0} N={1} Hq={2} Hkv={3} D={4} block={5}")
    @MethodSource("shapes")
    void denseAndFusedTargetMatchReference(int b, int n, int hq, int hkv, int d, int block) {
        AttentionShape shape = new AttentionShape(b, n, hq, hkv, d);
        Random random = new Random(n * 17L + hq);
        float[] q = TestData.gaussian(random, shape.qElements());
        float[] k = TestData.gaussian(random, shape.kvElements());
        float[] v = TestData.gaussian(random, shape.kvElements());
        double scale = 1 / Math.sqrt(d);
        int nb = shape.blocks(block);
        double[] q64 = TestData.toDouble(q);
        double[] k64 = TestData.toDouble(k);
        double[] dense = new double[shape.qElements()];
        DenseAttention.causal(q64, k64, TestData.toDouble(v), dense, shape, scale);
        double[] target = new double[b * hq * nb * nb];
        PooledAttentionTarget.compute(q64, k64, target, shape, block, scale);

        FloatArray out = TestData.poisoned(shape.qElements());
        ByteArray noMask = new ByteArray(1);
        KernelEmulator.run(SeerTasks.attention("dense", TestData.buffer(q), TestData.buffer(k), TestData.buffer(v),
                noMask, out, shape, org.seerjava.tornado.kernels.BlockSparseAttention.TILE, scale,
                org.seerjava.tornado.kernels.BlockSparseAttention.DENSE));
        assertThat(TestData.relativeError(out, dense)).isLessThan(TOL);

        FloatArray fusedOut = TestData.poisoned(shape.qElements());
        FloatArray fusedTarget = TestData.poisoned(b * hq * nb * nb);
        KernelEmulator.run(SeerTasks.attentionWithTarget(TestData.buffer(q), TestData.buffer(k), TestData.buffer(v),
                fusedOut, fusedTarget, shape, block, scale));
        assertThat(TestData.relativeError(fusedOut, dense)).isLessThan(TOL);
        assertThat(TestData.relativeError(fusedTarget, target)).isLessThan(TOL);
    }
}
