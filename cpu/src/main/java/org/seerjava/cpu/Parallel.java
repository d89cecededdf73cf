package org.seerjava.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The project's one thread pool: a {@link ForkJoinPool} of daemon workers sized to the cores
 * ({@code -Dseer.threads=N} overrides), shared by the CPU engine's kernels, the model's forward pass and the gate
 * trainer, and a dynamic parallel loop over it: workers take the next task index from a shared counter, so callers
 * order tasks heaviest first and the cheap ones fill the gaps at the end.
 *
 * <p>A loop started from one of the pool's own workers is safe: the joining worker runs the loop's tasks itself
 * while it waits.
 */
public final class Parallel {
    /** The system property that sets the thread count. */
    public static final String THREADS_PROPERTY = "seer.threads";

    static final int THREADS = threads(System.getProperty(THREADS_PROPERTY),
            Runtime.getRuntime().availableProcessors());

    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("seer-worker-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    private Parallel() {
    }

    /**
     * The thread count for a value of {@code -Dseer.threads}: the processors when it is unset or blank.
     *
     * @throws IllegalArgumentException naming the property when the value is not a positive integer
     */
    static int threads(String value, int processors) {
        if (value == null || value.isBlank()) {
            return processors;
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

    /** The worker count. */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} for every index in {@code [0, n)} on the pool, indices started in increasing order, and
     * returns when all are done. The first exception thrown by a body is rethrown (after every task has ended).
     */
    public static void forEach(int n, IntConsumer body) {
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
