package org.seerjava.reference.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
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
                    + all.stream().map(EngineProvider::name).collect(Collectors.joining(", ")));
        });
    }

    /** The available engine with the highest priority (the reference is always available). */
    public static Engine fastest() {
        for (EngineProvider p : providers()) {
            if (p.unavailableReason() == null) {
                return byName(p.name());
            }
        }
        return byName("reference");
    }

    /** The engine named by {@code -Dseer.backend} (default auto). */
    public static Engine fromSystemProperty() {
        return byName(System.getProperty(PROPERTY, "auto"));
    }
}
