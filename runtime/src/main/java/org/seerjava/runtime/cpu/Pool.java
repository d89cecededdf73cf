package org.seerjava.runtime.cpu;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Where the CPU session's parallel loops run. Until the project's one thread pool is public (issue #15 moves it
 * to {@code org.seerjava.cpu.Parallel}), the loops run on the common fork-join pool; every loop body writes
 * disjoint outputs and sums in a fixed order, so results do not depend on the scheduling.
 */
final class Pool {
    private Pool() {
    }

    /** Runs {@code body(i)} for i in [0, n) in parallel; returns when all are done. */
    static void forEach(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        if (n == 1) {
            body.accept(0);
            return;
        }
        IntStream.range(0, n).parallel().forEach(body);
    }
}
