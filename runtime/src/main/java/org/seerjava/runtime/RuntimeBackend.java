package org.seerjava.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * A backend that opens {@link ModelRuntime}s, found with {@link ServiceLoader} (listed in
 * {@code META-INF/services/org.seerjava.runtime.RuntimeBackend}). Backends must be cheap to construct: probing the
 * hardware happens in {@link #unavailableReason()}.
 */
public interface RuntimeBackend {

    /**
     * The name users pick it by.
     *
     * @return e.g. {@code cpu}, {@code cuda}
     */
    String name();

    /**
     * Rank for {@code auto}: the available backend with the highest priority is chosen.
     *
     * @return the priority (cpu 10, cuda 100)
     */
    int priority();

    /**
     * Why this backend cannot run here, or null when it can.
     *
     * @return the reason (e.g. no CUDA driver), or null
     */
    String unavailableReason();

    /**
     * Opens a model.
     *
     * @param source  the checkpoint or random-weights shape
     * @param options the options
     * @return the open model
     */
    ModelRuntime open(ModelSource source, RuntimeOptions options);

    /**
     * Every backend on the class path, highest priority first.
     *
     * @return the backends
     */
    static List<RuntimeBackend> all() {
        List<RuntimeBackend> list = new ArrayList<>();
        ServiceLoader.load(RuntimeBackend.class, RuntimeBackend.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt(RuntimeBackend::priority).reversed());
        return list;
    }

    /**
     * The backend of a name; {@code auto} is the available one of highest priority.
     *
     * @param name a backend name or {@code auto}
     * @return the backend, available here
     * @throws IllegalArgumentException when no backend has that name (listing those that exist) or it cannot run
     *                                  here (with the reason)
     */
    static RuntimeBackend named(String name) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        List<RuntimeBackend> all = all();
        if (key.equals("auto")) {
            for (RuntimeBackend b : all) {
                if (b.unavailableReason() == null) {
                    return b;
                }
            }
            throw new IllegalArgumentException("no runtime backend is available here: " + all.stream()
                    .map(b -> b.name() + " (" + b.unavailableReason() + ")").collect(Collectors.joining(", ")));
        }
        for (RuntimeBackend b : all) {
            if (b.name().equals(key)) {
                String reason = b.unavailableReason();
                if (reason != null) {
                    throw new IllegalArgumentException("backend '" + key + "' is not available here: " + reason);
                }
                return b;
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "': expected auto or one of "
                + all.stream().map(RuntimeBackend::name).toList());
    }
}
