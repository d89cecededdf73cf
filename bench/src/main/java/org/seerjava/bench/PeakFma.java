package org.seerjava.bench;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The host's fused multiply-add rate right now: {@code threads} threads each run a pure register-resident FMA loop
 * (16 independent accumulator vectors of the preferred species, enough to hide the FMA latency on two ports). On a
 * shared host the rate a core delivers moves from minute to minute (another guest on the sibling hyperthread, clock
 * changes); timing this probe in the same rounds as the kernels turns their times into fractions of what the cores
 * gave at that moment (what it reads on this project's machine: docs/PERFORMANCE.md).
 *
 * <p>Each thread also times its own loop ({@link #threadRates()}): on a shared host two cores can run at very
 * different speeds in the same second, and then the call's rate, set by the slower thread, says
 * less about what a dynamically balanced job such as the attention kernels can get than the sum of the threads'
 * rates, {@link #capacity()}.
 */
public final class PeakFma implements AutoCloseable {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int ACCUMULATORS = 16;

    private final int threads;
    private final long iterations;
    private final ExecutorService pool;
    private final double[] rates;

    /** A probe of about {@code flops} floating-point operations per call, split over {@code threads} threads. */
    public PeakFma(int threads, double flops) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be ≥ 1, got " + threads);
        }
        this.threads = threads;
        this.iterations = Math.max(1, (long) (flops / threads / (2.0 * ACCUMULATORS * F.length())));
        this.rates = new double[threads];
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "peak-fma");
            t.setDaemon(true);
            return t;
        });
    }

    /** The floating-point operations of one {@link #run()}. */
    public double flops() {
        return 2.0 * ACCUMULATORS * F.length() * iterations * threads;
    }

    /**
     * Runs the loop on every thread and returns a value that depends on every accumulator (so none is dropped); each
     * thread's own rate is kept for {@link #threadRates()}.
     */
    public float run() {
        try {
            @SuppressWarnings("unchecked")
            Future<float[]>[] parts = new Future[threads];
            for (int t = 0; t < threads; t++) {
                float seed = 1e-3f * (t + 1);
                parts[t] = pool.submit(() -> {
                    long t0 = System.nanoTime();
                    float value = loop(iterations, seed);
                    return new float[] {value, (System.nanoTime() - t0) / 1e9f};
                });
            }
            float sum = 0f;
            double perThread = flops() / threads;
            for (int t = 0; t < threads; t++) {
                float[] part = parts[t].get();
                sum += part[0];
                rates[t] = perThread / Math.max(part[1], 1e-9) / 1e9;
            }
            return sum;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * a_i ← m·c + a_i for 16 accumulators: each chain runs through the FMA's addend, as in the attention kernels'
     * register tiles. The form a_i ← a_i·m + c (the chain through a multiplicand), which this probe used before,
     * read less than this one on the same core at times (docs/PERFORMANCE.md).
     */
    private static float loop(long iterations, float seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector c = FloatVector.broadcast(F, seed);
        FloatVector a0 = c, a1 = c, a2 = c, a3 = c, a4 = c, a5 = c, a6 = c, a7 = c;
        FloatVector a8 = c, a9 = c, a10 = c, a11 = c, a12 = c, a13 = c, a14 = c, a15 = c;
        for (long i = 0; i < iterations; i++) {
            a0 = m.fma(c, a0);
            a1 = m.fma(c, a1);
            a2 = m.fma(c, a2);
            a3 = m.fma(c, a3);
            a4 = m.fma(c, a4);
            a5 = m.fma(c, a5);
            a6 = m.fma(c, a6);
            a7 = m.fma(c, a7);
            a8 = m.fma(c, a8);
            a9 = m.fma(c, a9);
            a10 = m.fma(c, a10);
            a11 = m.fma(c, a11);
            a12 = m.fma(c, a12);
            a13 = m.fma(c, a13);
            a14 = m.fma(c, a14);
            a15 = m.fma(c, a15);
        }
        FloatVector s = a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7)))
                .add(a8.add(a9).add(a10.add(a11)).add(a12.add(a13).add(a14.add(a15))));
        return s.lane(0);
    }

    /** GFLOP/s of each thread's own loop in the last {@link #run()} (zeros before the first). */
    public double[] threadRates() {
        return rates.clone();
    }

    /** The sum of {@link #threadRates()}: what the cores gave together in the last run, each at its own speed. */
    public double capacity() {
        double sum = 0;
        for (double rate : rates) {
            sum += rate;
        }
        return sum;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    /** {@code java … org.seerjava.bench.PeakFma [threads] [rounds]}: prints the rate of each round. */
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        try (PeakFma probe = new PeakFma(threads, 10e9)) {
            for (int w = 0; w < 3; w++) {
                probe.run();
            }
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                probe.run();
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf(java.util.Locale.ROOT, "%d threads: %.1f GFLOP/s (threads on their own: %s)%n",
                        threads, probe.flops() / s / 1e9, java.util.Arrays.stream(probe.threadRates())
                                .mapToObj(x -> String.format(java.util.Locale.ROOT, "%.1f", x))
                                .collect(java.util.stream.Collectors.joining(" + ")));
            }
        }
    }
}
