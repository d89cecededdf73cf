package org.seerjava.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Dense causal attention on the CPU engine: fp32, B = 1, H = 8 (MHA), D = 128. GFLOP/s = 2·N²·D·H / time.
 */
@State(Scope.Benchmark)
public class DenseAttentionBench extends CpuBenchmark {
    @Param({"1024", "2048", "4096", "8192", "16384"})
    public int n;

    private Inputs.Attention in;

    @Setup(Level.Trial)
    public void setUp() {
        in = Inputs.Attention.of(n);
        System.out.printf("%n[DenseAttentionBench] %s, engine %s%n", in.shape(), engine.description());
    }

    /** Dense causal attention. */
    @Benchmark
    public float[] dense() {
        engine.denseCausal(in.q(), in.k(), in.v(), in.out(), in.shape(), in.shape().defaultScale());
        return in.out();
    }
}
