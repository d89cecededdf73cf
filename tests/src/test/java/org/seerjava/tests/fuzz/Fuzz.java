package org.seerjava.tests.fuzz;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The fuzz harness: runs a number of seeded cases of one target and fails on the first undocumented outcome, naming
 * the seed and the case so that it can be replayed ({@code -Dseer.fuzz.seed=S -Dseer.fuzz.cases=N}). An undocumented
 * outcome is any exception the target's contract does not name, an exception without a message, an
 * {@link OutOfMemoryError} (a size was not checked before allocating), the whole run exceeding its time budget (a
 * hang), or a file left behind in the case's directory. The input of a failing case is kept under
 * {@code target/fuzz-failures/}.
 */
final class Fuzz {
    /** The seed of every run unless {@code -Dseer.fuzz.seed} gives another (CI is reproducible). */
    static final long SEED = Long.getLong("seer.fuzz.seed", 20261204L);

    /** One case: the random source and the case index; returns normally for a documented outcome. */
    @FunctionalInterface
    interface Case {
        /**
         * Runs one case.
         *
         * @param random the case's own random source (split from the run's seed)
         * @param index  the case number
         * @throws Throwable an undocumented outcome (an {@link AssertionError} or anything unexpected)
         */
        void run(SplittableRandom random, int index) throws Throwable;
    }

    private Fuzz() {
    }

    /** Cases to run: {@code cases}, or {@code -Dseer.fuzz.cases} when set. */
    static int cases(int cases) {
        return Integer.getInteger("seer.fuzz.cases", cases);
    }

    /**
     * Runs the cases within a time budget.
     *
     * @param name   the target, for messages and failure files
     * @param cases  how many cases
     * @param budget the whole run's time limit (a hang fails the run)
     * @param dir    the directory the cases work in: it must hold the same files after the run as before
     * @param c      the case
     */
    static void run(String name, int cases, Duration budget, Path dir, Case c) {
        Set<String> before = listing(dir);
        SplittableRandom root = new SplittableRandom(SEED ^ name.hashCode());
        int[] current = {-1};
        int n = cases(cases);
        assertTimeoutPreemptively(budget, () -> {
            for (int i = 0; i < n; i++) {
                current[0] = i;
                SplittableRandom random = root.split();
                try {
                    c.run(random, i);
                } catch (OutOfMemoryError e) {
                    fail(name + ": case " + i + " (seed " + SEED + ") ran out of memory: a size was not checked", e);
                } catch (AssertionError e) {
                    throw new AssertionError(name + ": case " + i + " (seed " + SEED + "): " + e.getMessage(), e);
                } catch (Throwable e) {
                    fail(name + ": case " + i + " (seed " + SEED + ") threw an undocumented " + e, e);
                }
            }
        }, () -> name + ": stuck in case " + current[0] + " (seed " + SEED + ")");
        Set<String> after = listing(dir);
        if (!after.equals(before)) {
            after.removeAll(before);
            fail(name + ": files left behind in " + dir + ": " + after);
        }
    }

    /**
     * Requires a documented exception: one of the types, with a message containing {@code mustName}.
     *
     * @param e        the exception thrown
     * @param mustName text the message must contain (a file name, a source), or null
     * @param types    the documented types
     */
    @SafeVarargs
    static void documented(Throwable e, String mustName, Class<? extends Throwable>... types) {
        boolean ok = false;
        for (Class<? extends Throwable> t : types) {
            ok |= t.isInstance(e);
        }
        if (!ok) {
            throw new AssertionError("undocumented " + e.getClass().getName() + ": " + e.getMessage(), e);
        }
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            throw new AssertionError(e.getClass().getName() + " without a message", e);
        }
        if (mustName != null && !e.getMessage().contains(mustName)) {
            throw new AssertionError("the message does not name " + mustName + ": " + e.getMessage(), e);
        }
    }

    /** Keeps a failing input for replay. */
    static void keep(String name, int index, byte[] input) {
        try {
            Path d = Files.createDirectories(Path.of("target/fuzz-failures"));
            Files.write(d.resolve(name + "-" + SEED + "-" + index + ".bin"), input);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Set<String> listing(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            Set<String> names = new TreeSet<>();
            s.forEach(p -> names.add(dir.relativize(p).toString()));
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
