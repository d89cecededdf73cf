package org.seerjava.model;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The model's thread pool: one {@link ForkJoinPool} sized to the cores, shared by every model. */
final class Parallel {
    /** Threads used by the forward pass ({@code -Dseer.threads}, default: available processors). */
    static final int THREADS = Integer.getInteger("seer.threads", Runtime.getRuntime().availableProcessors());

    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, THREADS),
            pool -> {
                var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                t.setName("seer-model-" + t.getPoolIndex());
                t.setDaemon(true);
                return t;
            }, null, false);

    private Parallel() {
    }

    /** Runs {@code body(i)} for i in [0, n) on the pool, dynamically scheduled; returns when all are done. */
    static void forRange(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        if (n == 1 || THREADS <= 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL) {
            IntStream.range(0, n).parallel().forEach(body);
            return;
        }
        POOL.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }
}
