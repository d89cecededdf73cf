package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.Pooling;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** {@code kernels.Pooling.pool} against {@link Pooling#pool}: every pool subset, partial blocks, N below a block. */
class PoolingKernelTest {
    @Test
    void everyPoolSubsetAndPartialBlocks() {
        Random random = new Random(3);
        int[][] shapes = {{2, 77, 3, 64, 64}, {1, 130, 2, 128, 64}, {2, 20, 2, 32, 64}, {1, 100, 4, 64, 32}};
        for (int[] s : shapes) {
            int batch = s[0], n = s[1], heads = s[2], dim = s[3], block = s[4];
            float[] x = TestData.gaussian(random, batch * n * heads * dim);
            int nb = Math.ceilDiv(n, block);
            for (GateType t : GateType.all().subList(0, 7)) {       // K pools: the 7 subsets of (max, min, avg)
                List<Pool> pools = t.kPools();
                FloatArray out = TestData.poisoned(batch * nb * heads * dim * pools.size());
                KernelEmulator.run(SeerTasks.pool("pool", TestData.buffer(x), out, batch, n, heads, dim, block,
                        pools));
                double[] ref = new double[out.getSize()];
                Pooling.pool(TestData.toDouble(x), ref, batch, n, heads, dim, block, pools);
                assertThat(TestData.relativeError(out, ref)).as("%s %s", pools, java.util.Arrays.toString(s))
                        .isLessThan(1e-6);
            }
        }
    }
}
