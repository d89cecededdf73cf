package org.seerjava.reference;

import java.io.Serial;

/**
 * Not enough memory for what was asked: thrown before allocating, with the bytes needed and available. The message
 * names what was to be allocated, both byte counts and the setting that raises the limit.
 */
public final class InsufficientMemoryException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final long needed;
    private final long available;

    /**
     * Creates the exception.
     *
     * @param message   the whole message (names what, the bytes needed and available)
     * @param needed    bytes needed
     * @param available bytes available
     */
    public InsufficientMemoryException(String message, long needed, long available) {
        super(message);
        this.needed = needed;
        this.available = available;
    }

    /**
     * Bytes needed.
     *
     * @return the bytes the allocation would take
     */
    public long needed() {
        return needed;
    }

    /**
     * Bytes available when it was checked.
     *
     * @return the bytes free for it
     */
    public long available() {
        return available;
    }
}
