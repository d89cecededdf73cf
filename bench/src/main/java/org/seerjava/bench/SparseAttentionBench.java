package org.seerjava.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.seerjava.reference.BlockMask;

/**
 * Block-sparse attention on the CPU engine: fp32, B = 1, H = 8 (MHA), D = 128, block 64, random causal block masks
 * with the diagonal kept ({@link Inputs#randomCausalMask}, fixed seed); density 1.0 is the block-sparse kernel with
 * every causal block, to compare with {@link DenseAttentionBench}.
 */
@State(Scope.Benchmark)
public class SparseAttentionBench extends CpuBenchmark {
    @Param({"1024", "2048", "4096", "8192", "16384"})
    public int n;

    @Param({"1.0", "0.5", "0.3", "0.1"})
    public double density;

    private Inputs.Attention in;
    private BlockMask mask;

    @Setup(Level.Trial)
    public void setUp() {
        in = Inputs.Attention.of(n);
        mask = Inputs.randomCausalMask(1, 8, in.shape().blocks(64), density, Inputs.SEED);
        System.out.printf("%n[SparseAttentionBench] %s, N = %d, mask %s, engine %s%n", in.shape(), n, mask,
                engine.description());
    }

    /** Block-sparse attention over the random mask of the given density. */
    @Benchmark
    public float[] sparse() {
        engine.blockSparse(in.q(), in.k(), in.v(), mask, in.out(), in.shape(), 64, in.shape().defaultScale());
        return in.out();
    }
}
