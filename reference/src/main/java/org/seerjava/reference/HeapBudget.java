package org.seerjava.reference;

import java.util.Locale;

/**
 * Checks that an allocation fits the Java heap before it is made, so that a large input fails with the bytes needed
 * and available ({@link InsufficientMemoryException}) instead of an {@link OutOfMemoryError} after minutes of work.
 *
 * <p>Available = {@code Runtime.maxMemory() − (totalMemory() − freeMemory())}: the heap limit ({@code -Xmx}) less
 * what is in use. In-use memory includes garbage not yet collected, so when the first estimate is too small the check
 * asks for a collection once and measures again before refusing. Sizes are computed in {@code long} with exact
 * arithmetic by the callers ({@link #floatArray}, {@link #bytesOf}).
 */
public final class HeapBudget {
    private HeapBudget() {
    }

    /**
     * Bytes of the Java heap free for new objects now.
     *
     * @return max heap less the heap in use
     */
    public static long available() {
        Runtime r = Runtime.getRuntime();
        return r.maxMemory() - (r.totalMemory() - r.freeMemory());
    }

    /**
     * Requires {@code bytes} more to fit the heap.
     *
     * @param bytes bytes about to be allocated (≥ 0)
     * @param what  what they are for, e.g. "the float32 weights of models/x"
     * @throws InsufficientMemoryException naming what, the bytes needed and available, and {@code -Xmx}
     */
    public static void require(long bytes, String what) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes + " for " + what);
        }
        long free = available();
        if (bytes <= free) {
            return;
        }
        if (bytes <= Runtime.getRuntime().maxMemory()) {
            System.gc();                                  // in-use counted garbage; measure again before refusing
            free = available();
            if (bytes <= free) {
                return;
            }
        }
        throw new InsufficientMemoryException(String.format(Locale.ROOT,
                "not enough Java heap for %s: needs %,d bytes, %,d available (max heap %,d bytes; raise it with -Xmx)",
                what, bytes, free, Runtime.getRuntime().maxMemory()), bytes, free);
    }

    /**
     * Requires a float array of {@code count} elements to be possible and to fit the heap.
     *
     * @param what  what the array is for, for messages
     * @param count elements
     * @return count as an array length
     * @throws IllegalArgumentException    when count is negative or more than a Java array holds
     * @throws InsufficientMemoryException when it does not fit the heap
     */
    public static int floatArray(String what, long count) {
        int n = Checks.arraySize(what, count);
        require(bytesOf(count, Float.BYTES), what);
        return n;
    }

    /**
     * {@code count · elementBytes}, exactly.
     *
     * @param count        elements (≥ 0)
     * @param elementBytes bytes per element
     * @return the product
     * @throws ArithmeticException when it overflows a long
     */
    public static long bytesOf(long count, int elementBytes) {
        return Math.multiplyExact(count, (long) elementBytes);
    }
}
