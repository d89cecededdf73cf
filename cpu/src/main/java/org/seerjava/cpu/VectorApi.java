package org.seerjava.cpu;

/**
 * Whether this JVM can run the module's Vector API code. Deliberately free of Vector API types, so that asking
 * does not itself load them (and fail) when the {@code jdk.incubator.vector} module is missing.
 */
public final class VectorApi {
    private VectorApi() {
    }

    /**
     * Why the Vector API code cannot run in this JVM, or null when it can: the {@code jdk.incubator.vector} module
     * must be loaded ({@code --add-modules jdk.incubator.vector}).
     */
    public static String unavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "the Vector API module is not loaded; run java with --add-modules jdk.incubator.vector";
        }
        return null;
    }
}
