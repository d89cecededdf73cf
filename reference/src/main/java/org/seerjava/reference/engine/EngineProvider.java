package org.seerjava.reference.engine;

/**
 * Makes an {@link Engine} available to {@link Engines} through {@link java.util.ServiceLoader}; engines register
 * their provider in {@code META-INF/services/org.seerjava.reference.engine.EngineProvider}.
 */
public interface EngineProvider {
    /** The engine's name ({@code reference}, {@code cpu}, {@code cuda}). */
    String name();

    /** Higher is faster; {@link Engines#fastest()} picks the available engine with the highest priority. */
    int priority();

    /** Why the engine cannot run here (e.g. "no CUDA driver"), or null when it can. */
    String unavailableReason();

    /** Creates the engine; only called when {@link #unavailableReason()} is null. */
    Engine create();
}
