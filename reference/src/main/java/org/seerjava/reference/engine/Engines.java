package org.seerjava.reference.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Finds engines. {@link #fromSystemProperty()} honours {@code -Dseer.backend=reference|cpu|cuda|auto} (default
 * auto = the fastest available engine) and logs the choice once.
 */
public final class Engines {
    /** The system property that chooses the engine. */
    public static final String PROPERTY = "seer.backend";

    private static final System.Logger LOG = System.getLogger("org.seerjava.engine");
    private static final ConcurrentHashMap<String, Engine> CACHE = new ConcurrentHashMap<>();
    private static final AtomicBoolean WARNED_FALLBACK = new AtomicBoolean();

    private Engines() {
    }

    /** Every provider on the class path, the fastest first. */
    public static List<EngineProvider> providers() {
        List<EngineProvider> list = new ArrayList<>();
        ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt(EngineProvider::priority).reversed());
        return list;
    }

    /**
     * The engine of the given name, created once and then shared.
     *
     * @throws IllegalArgumentException when no engine has that name, or it cannot run here (with the reason)
     */
    public static Engine byName(String name) {
        String key = name.toLowerCase(Locale.ROOT).trim();
        if (key.equals("auto")) {
            return fastest();
        }
        return CACHE.computeIfAbsent(key, k -> {
            List<EngineProvider> all = providers();
            for (EngineProvider p : all) {
                if (p.name().equals(k)) {
                    String reason = p.unavailableReason();
                    if (reason != null) {
                        throw new IllegalArgumentException("backend '" + k + "' is not available here: " + reason);
                    }
                    Engine engine = p.create();
                    LOG.log(System.Logger.Level.INFO, "seer backend: " + engine.name() + " (" + engine.description() + ")");
                    return engine;
                }
            }
            throw new IllegalArgumentException("unknown backend '" + name + "': expected one of auto, "
                    + all.stream().map(EngineProvider::name).collect(Collectors.joining(", "))
                    + (k.equals("tornado") ? " (the TornadoVM engine is built only with TORNADOVM_HOME set: README, "
                    + "section TornadoVM)" : ""));
        });
    }

    /**
     * The available engine with the highest priority (the reference is always available). When that is the scalar
     * reference although a faster engine is installed, a WARNING (once per JVM) names each skipped engine and why it
     * cannot run, e.g. the CPU engine without {@code --add-modules jdk.incubator.vector}.
     */
    public static Engine fastest() {
        List<String> skipped = new ArrayList<>();
        for (EngineProvider p : providers()) {
            String reason = p.unavailableReason();
            if (reason == null) {
                if (p.name().equals("reference") && !skipped.isEmpty() && !WARNED_FALLBACK.getAndSet(true)) {
                    LOG.log(System.Logger.Level.WARNING, "seer backend auto: falling back to the scalar reference "
                            + "(single-threaded float64, far slower): " + String.join("; ", skipped));
                }
                return byName(p.name());
            }
            skipped.add(p.name() + " is not available: " + reason);
        }
        return byName("reference");
    }

    /** The engine named by {@code -Dseer.backend} (default auto). */
    public static Engine fromSystemProperty() {
        return byName(System.getProperty(PROPERTY, "auto"));
    }
}
