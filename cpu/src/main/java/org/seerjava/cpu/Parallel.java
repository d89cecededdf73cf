package org.seerjava.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The engine's one {@link ForkJoinPool}, sized to the cores ({@code -Dseer.cpu.threads=N} overrides), and a
 * dynamic parallel loop: workers take the next task index from a shared counter, so callers order tasks heaviest
 * first and the cheap ones fill the gaps at the end.
 */
final class Parallel {
    /** The system property that sets the thread count. */
    static final String THREADS_PROPERTY = "seer.cpu.threads";

    static final int THREADS = threads();

    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("seer-cpu-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    private Parallel() {
    }

    private static int threads() {
        String value = System.getProperty(THREADS_PROPERTY);
        if (value == null || value.isBlank()) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new IllegalArgumentException("-D" + THREADS_PROPERTY + "=" + value + " must be a positive integer");
    }

    /** Runs {@code body} for every index in {@code [0, n)}, in index order of start, on the pool. */
    static void forEach(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        int workers = Math.min(THREADS, n);
        if (workers == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                body.accept(i);
            }
        };
        ForkJoinTask<?>[] running = new ForkJoinTask<?>[workers];
        for (int w = 0; w < workers; w++) {
            running[w] = POOL.submit(worker);
        }
        RuntimeException failure = null;
        for (ForkJoinTask<?> task : running) {
            try {
                task.join();                      // rethrows the body's RuntimeException or Error
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
