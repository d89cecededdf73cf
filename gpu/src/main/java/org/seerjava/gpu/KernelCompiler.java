package org.seerjava.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compiles CUDA C++ at run time with NVRTC for the current GPU ({@code --gpu-architecture=sm_90a} on compute
 * capability 9.0, else {@code sm_XY}), with {@code -I<cuda>/include} and constants as {@code -D} options. Compiled
 * images are cached in memory and on disk per (architecture, source hash, options), under
 * {@code -Dseer.cuda.cache} (default {@code ~/.cache/seer/cuda}; "off" disables the disk cache).
 */
public final class KernelCompiler {
    /** System property: the on-disk cache folder, or "off". */
    public static final String CACHE_PROPERTY = "seer.cuda.cache";

    private static final Map<String, byte[]> MEMORY = new ConcurrentHashMap<>();
    private static final Map<String, CudaModule> MODULES = new ConcurrentHashMap<>();

    private KernelCompiler() {
    }

    /**
     * Reads a {@code .cu} resource: a file name in this module's {@code org/seerjava/gpu/kernels/} folder, or a
     * class-path resource path starting with {@code /} (kernels of other modules, e.g. the benchmark's). Every
     * {@code #include "name"} of a resource of this module's folder (such as {@code common.cuh}) is replaced by its text, once per source (the
     * headers use {@code #pragma once}), between {@code #line} directives so NVRTC's messages name the right file
     * and line. Includes in angle brackets are left to NVRTC ({@code -I<cuda>/include}).
     */
    public static String resource(String file) {
        return expand(file, read(file), new HashSet<>());
    }

    private static final Pattern LOCAL_INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([^\"]+)\"\\s*$");

    private static String expand(String file, String source, Set<String> included) {
        StringBuilder sb = new StringBuilder(source.length());
        String[] lines = source.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Matcher m = LOCAL_INCLUDE.matcher(lines[i]);
            if (!m.matches()) {
                sb.append(lines[i]);
                if (i < lines.length - 1) {
                    sb.append('\n');
                }
                continue;
            }
            String header = m.group(1);
            if (included.add(header)) {
                sb.append("#line 1 \"").append(header).append("\"\n");
                sb.append(expand(header, read(header), included)).append('\n');
            }
            sb.append("#line ").append(i + 2).append(" \"").append(file).append("\"\n");
        }
        return sb.toString();
    }

    private static String read(String file) {
        String path = file.startsWith("/") ? file : "/org/seerjava/gpu/kernels/" + file;
        try (InputStream in = KernelCompiler.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("no kernel source resource " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + path, e);
        }
    }

    /** NVRTC options for the current device plus {@code -DNAME=value} for each define. */
    public static List<String> options(CudaContext context, Map<String, ?> defines) {
        List<String> opts = new ArrayList<>();
        opts.add("--gpu-architecture=" + context.architecture());
        opts.add("-I" + CudaLibraries.cudaHome().resolve("include"));
        opts.add("--std=c++17");
        opts.add("-default-device");
        for (Map.Entry<String, ?> e : new TreeMap<>(defines).entrySet()) {
            opts.add("-D" + e.getKey() + "=" + e.getValue());
        }
        return opts;
    }

    /** The cache key: architecture, SHA-256 of the source, options. */
    static String key(String arch, String source, List<String> options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(arch.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(source.getBytes(StandardCharsets.UTF_8));
            for (String o : options) {
                md.update((byte) 0);
                md.update(o.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path cacheDir() {
        String p = System.getProperty(CACHE_PROPERTY);
        if ("off".equalsIgnoreCase(p)) {
            return null;
        }
        return p == null || p.isBlank() ? Path.of(System.getProperty("user.home"), ".cache", "seer", "cuda") : Path.of(p);
    }

    /** Counts NVRTC compilations done by this process (cache misses), for tests. */
    static final java.util.concurrent.atomic.AtomicInteger COMPILATIONS = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * The CUBIN of {@code source} compiled for the current device with the defines; from the memory or disk cache
     * when present.
     *
     * @throws CudaException with the NVRTC program log when compilation fails
     */
    public static byte[] compile(String name, String source, Map<String, ?> defines) {
        CudaContext c = CudaContext.get();
        List<String> opts = options(c, defines);
        String key = key(c.architecture(), source, opts);
        byte[] image = MEMORY.get(key);
        if (image != null) {
            return image;
        }
        Path dir = cacheDir();
        Path file = dir == null ? null : dir.resolve(c.architecture()).resolve(key + ".cubin");
        if (file != null && Files.isRegularFile(file)) {
            try {
                image = Files.readAllBytes(file);
            } catch (IOException e) {
                image = null;
            }
        }
        if (image == null) {
            COMPILATIONS.incrementAndGet();
            boolean verbose = Boolean.getBoolean("seer.cuda.ptxasVerbose");   // registers / spills per kernel
            List<String> o = opts;
            if (verbose) {
                o = new java.util.ArrayList<>(opts);
                o.add("--ptxas-options=-v");
            }
            var compiled = Nvrtc.get().compile(source, name, o, true);
            if (verbose) {
                System.out.println("[ptxas] " + name + " " + defines + "\n" + compiled.log());
            }
            image = compiled.image();
            if (file != null) {
                try {
                    Files.createDirectories(file.getParent());
                    Path tmp = Files.createTempFile(file.getParent(), key, ".tmp");
                    Files.write(tmp, image);
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    // the disk cache is an optimisation only
                }
            }
        }
        MEMORY.put(key, image);
        return image;
    }

    /** A loaded module of a kernel resource with the defines, shared for the process lifetime. */
    public static CudaModule module(String resourceFile, Map<String, ?> defines) {
        CudaContext.get();
        String k = resourceFile + new TreeMap<>(defines);
        return MODULES.computeIfAbsent(k, x -> {
            byte[] cubin = compile(resourceFile, resource(resourceFile), defines);
            return new CudaModule(resourceFile + new TreeMap<>(defines), cubin, false);
        });
    }
}
