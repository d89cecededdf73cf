package org.seerjava.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The checks of a command's option values, in one place. Every command runs its checks first, before it reads a
 * model, creates a folder or prints anything; a failure is a {@link ParameterException} (exit code 2, "Run 'seer CMD
 * --help' for usage") whose message names the flag, the value given and the limit.
 */
final class OptionChecks {
    private final CommandLine commandLine;

    OptionChecks(CommandSpec spec) {
        this.commandLine = spec.commandLine();
    }

    /**
     * A bad-argument failure with this message.
     *
     * @param message names the flag, the value and what is accepted
     * @return the exception to throw
     */
    ParameterException bad(String message) {
        return new ParameterException(commandLine, message);
    }

    /** Requires {@code value ≥ min}. */
    long atLeast(String flag, long value, long min) {
        if (value < min) {
            throw bad(flag + " must be at least " + min + ", got " + value);
        }
        return value;
    }

    /** Requires {@code min ≤ value ≤ max}. */
    long inRange(String flag, long value, long min, long max) {
        if (value < min || value > max) {
            throw bad(flag + " must be in [" + min + ", " + max + "], got " + value);
        }
        return value;
    }

    /** Requires a finite number &gt; 0 (Infinity and NaN are refused). */
    double positive(String flag, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw bad(flag + " must be a finite number > 0, got " + value);
        }
        return value;
    }

    /** Requires a finite number ≥ 0. */
    double nonNegative(String flag, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw bad(flag + " must be a finite number >= 0, got " + value);
        }
        return value;
    }

    /** Requires a density in (0, 1]. */
    double density(String flag, double value) {
        if (!(value > 0 && value <= 1)) {
            throw bad(flag + " must be in (0, 1], got " + value);
        }
        return value;
    }

    /** Requires a non-empty list of densities in (0, 1]. */
    List<Double> densities(String flag, List<Double> values) {
        if (values == null || values.isEmpty()) {
            throw bad(flag + " must list at least one density");
        }
        for (double d : values) {
            density(flag, d);
        }
        return values;
    }

    /**
     * Requires a folder the command can write into: an existing directory, or a path whose nearest existing
     * ancestor is a directory (the command creates the rest when it writes). Nothing is created here.
     */
    Path outputDirectory(String flag, Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw bad(flag + " " + dir + " is a file, not a directory");
        }
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || !Files.isDirectory(existing)) {
            throw bad(flag + " " + dir + " cannot be created: " + existing + " is not a directory");
        }
        if (!Files.isWritable(existing)) {
            throw bad(flag + " " + dir + " cannot be written: " + existing + " is not writable");
        }
        return dir;
    }

    /** Requires a file the command can write: not a directory, its folder an output directory as above. */
    Path outputFile(String flag, Path file) {
        Path abs = file.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) {
            throw bad(flag + " " + file + " is a directory; give a file name");
        }
        if (Files.exists(abs) && !Files.isWritable(abs)) {
            throw bad(flag + " " + file + " exists and is not writable");
        }
        Path parent = abs.getParent();
        if (parent != null) {
            Path existing = parent;
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing == null || !Files.isDirectory(existing)) {
                throw bad(flag + " " + file + " cannot be created: " + existing + " is not a directory");
            }
            if (!Files.isWritable(existing)) {
                throw bad(flag + " " + file + " cannot be written: " + existing + " is not writable");
            }
        }
        return file;
    }

    /**
     * Requires an engine name: auto, one of the project's engines, or one on the class path. An engine that is not
     * built or cannot run here (tornado without TORNADOVM_HOME, cuda without a GPU) is a runtime error, with its reason.
     */
    String backend(String flag, String name) {
        java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of("auto", "reference", "cpu", "cuda",
                "tornado"));
        org.seerjava.reference.engine.Engines.providers().stream().map(p -> p.name()).filter(n -> !names.contains(n))
                .forEach(names::add);
        if (name == null || !names.contains(name.toLowerCase(Locale.ROOT).trim())) {
            throw bad(flag + " '" + name + "' is not an engine: expected one of " + String.join(", ", names));
        }
        return name;
    }

    /**
     * Requires {@code [offset, offset + length)} to lie inside a file of {@code size} bytes (no overflow for any
     * offset).
     */
    void slice(String offsetFlag, long offset, String lengthFlag, long length, Path file, long size) {
        if (offset > size - length) {
            throw bad(offsetFlag + " " + offset + " and " + lengthFlag + " " + length + " run past the end of " + file
                    + " (" + bytes(size) + "): " + offsetFlag + " + " + lengthFlag + " must be at most " + size);
        }
    }

    /** A byte count for messages, with thousands separators. */
    static String bytes(long n) {
        return String.format(Locale.ROOT, "%,d bytes", n);
    }
}
