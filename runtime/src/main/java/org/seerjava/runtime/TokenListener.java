package org.seerjava.runtime;

/** Receives generated tokens as they are chosen (e.g. to stream their text). */
@FunctionalInterface
public interface TokenListener {
    /**
     * Called once per generated token, in order, on the generating thread.
     *
     * @param token the token id (a stop token is reported too)
     * @return true to go on, false to stop generating
     */
    boolean onToken(int token);
}
