package org.seerjava.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.seerjava.cpu.CpuEngine;

/**
 * Dense causal attention on the CPU engine: fp32, B = 1, H = 8 (MHA), D = 128. GFLOP/s = 2·N²·D·H / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx8g",
        "-XX:ObjectAlignmentInBytes=64"})   // 64-byte aligned tiles, as ./seer runs (cpu Vec#TILE_OFFSET)
public class DenseAttentionBench {
    @Param({"1024", "2048", "4096", "8192", "16384"})
    public int n;

    private final CpuEngine engine = new CpuEngine();
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
