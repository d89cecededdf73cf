package org.seerjava.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.seerjava.cpu.CpuEngine;

/**
 * What the JMH benchmarks of the CPU engine share (JMH reads these annotations from the superclass): average time
 * in milliseconds, 2 × 2 s of warm-up and 3 × 3 s of measurement in one forked JVM with the Vector API module and
 * 64-byte object alignment (aligned tiles, as {@code ./seer} runs: cpu {@code Vec#TILE_OFFSET}), and the engine.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx8g", "-XX:ObjectAlignmentInBytes=64"})
public abstract class CpuBenchmark {
    /** The engine under test. */
    protected final CpuEngine engine = new CpuEngine();
}
