package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The one thread pool: every index once, failures rethrown, loops nested inside loops, the thread-count property. */
class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnce() {
        for (int n : new int[] {0, 1, 2, 3, 1000}) {
            AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, n));
            Parallel.forEach(n, i -> seen.incrementAndGet(i));
            for (int i = 0; i < n; i++) {
                assertThat(seen.get(i)).as("index %d of %d", i, n).isEqualTo(1);
            }
        }
    }

    @Test
    void aFailingBodyIsRethrownAfterTheOthersEnd() {
        AtomicIntegerArray seen = new AtomicIntegerArray(64);
        assertThatThrownBy(() -> Parallel.forEach(64, i -> {
            seen.incrementAndGet(i);
            if (i == 17) {
                throw new IllegalStateException("task 17 failed");
            }
        })).isInstanceOf(IllegalStateException.class).hasMessageContaining("task 17");
        assertThat(seen.get(17)).isEqualTo(1);
    }

    @Test
    void aLoopInsideALoopCompletes() {
        AtomicIntegerArray seen = new AtomicIntegerArray(8 * 50);
        Parallel.forEach(8, outer -> Parallel.forEach(50, inner -> seen.incrementAndGet(outer * 50 + inner)));
        for (int i = 0; i < seen.length(); i++) {
            assertThat(seen.get(i)).isEqualTo(1);
        }
    }

    @Test
    void threadCountComesFromTheProperty() {
        assertThat(Parallel.threads(null, 6)).isEqualTo(6);
        assertThat(Parallel.threads(" ", 6)).isEqualTo(6);
        assertThat(Parallel.threads(" 3 ", 6)).isEqualTo(3);
        for (String bad : new String[] {"0", "-2", "two"}) {
            assertThatThrownBy(() -> Parallel.threads(bad, 6)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("-Dseer.threads=" + bad).hasMessageContaining("positive integer");
        }
        assertThat(Parallel.threads()).isPositive();
    }
}
