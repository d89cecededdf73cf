package org.seerjava.gate;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Minimal {@code key=value} argument parsing for the module's own mains (the real CLI lives in {@code cli}). */
final class Args {
    private final Map<String, String> values;

    private Args(Map<String, String> values) {
        this.values = values;
    }

    static Args parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String a : args) {
            String s = a.startsWith("--") ? a.substring(2) : a;
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got '" + a + "'");
            }
            m.put(s.substring(0, eq), s.substring(eq + 1));
        }
        return new Args(m);
    }

    String string(String key, String dflt) {
        return values.getOrDefault(key, dflt);
    }

    Path path(String key, String dflt) {
        String v = values.getOrDefault(key, dflt);
        return v == null || v.isEmpty() ? null : Path.of(v);
    }

    int integer(String key, int dflt) {
        return values.containsKey(key) ? Integer.parseInt(values.get(key)) : dflt;
    }

    double dbl(String key, double dflt) {
        return values.containsKey(key) ? Double.parseDouble(values.get(key)) : dflt;
    }

    boolean flag(String key, boolean dflt) {
        return values.containsKey(key) ? Boolean.parseBoolean(values.get(key)) : dflt;
    }
}
