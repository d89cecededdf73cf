package org.seerjava.runtime.cpu;

import org.seerjava.cpu.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A memory-bandwidth probe for the bound on CPU decode speed: every core sums its share of a native buffer much
 * larger than the caches, read once per pass, and the best pass gives bytes per second. Decoding one token reads
 * every weight once, so {@code weight bytes per token ÷ this bandwidth} is the least time a token can take.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private MemoryBandwidth() {
    }

    /**
     * Measures read bandwidth.
     *
     * @param bytes  buffer size (≥ 64 MiB recommended: several times the last-level cache)
     * @param passes passes; the fastest counts
     * @return bytes per second
     */
    public static double readBytesPerSecond(long bytes, int passes) {
        if (bytes < (1 << 20) || passes < 1) {
            throw new IllegalArgumentException("bandwidth probe needs ≥ 1 MiB and ≥ 1 pass, got " + bytes + ", " + passes);
        }
        int threads = Parallel.threads();
        long chunk = (bytes / threads) & ~((long) F.vectorByteSize() * 4 - 1);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(chunk * threads, 64);
            seg.fill((byte) 1);
            double best = 0;
            float[] sink = new float[threads];
            for (int p = 0; p < passes; p++) {
                long t0 = System.nanoTime();
                Parallel.forEach(threads, t -> sink[t] += sum(seg, t * chunk, chunk));
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, chunk * threads / s);
            }
            if (Float.isNaN(sink[0])) {
                throw new AssertionError();
            }
            return best;
        }
    }

    private static float sum(MemorySegment seg, long from, long length) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = a;
        FloatVector c = a;
        FloatVector d = a;
        int step = F.vectorByteSize();
        ByteOrder o = ByteOrder.nativeOrder();
        for (long i = from, end = from + length; i < end; i += 4L * step) {
            a = a.add(FloatVector.fromMemorySegment(F, seg, i, o));
            b = b.add(FloatVector.fromMemorySegment(F, seg, i + step, o));
            c = c.add(FloatVector.fromMemorySegment(F, seg, i + 2L * step, o));
            d = d.add(FloatVector.fromMemorySegment(F, seg, i + 3L * step, o));
        }
        return a.add(b).add(c).add(d).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
