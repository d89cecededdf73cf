package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Every kernel source compiled ahead of time by {@code nvcc} (no GPU needed), so that a machine with the CUDA toolkit
 * but no GPU catches what NVRTC would refuse only at run time on the GPU machine: syntax and type errors, and the
 * limits ptxas enforces (static shared memory, registers under {@code __launch_bounds__}). Each source is compiled
 * as NVRTC receives it ({@link KernelCompiler#resource}: local headers pasted in), with the options of
 * {@link KernelCompiler#options} that nvcc shares ({@code -std=c++17}, {@code -D} constants) for the architectures
 * the engine targets, {@code sm_80} (mma.sync) and {@code sm_90a} (Hopper; the wgmma kernels only there), and the
 * define sets the engine and the runtime pass. Skipped, with the reason printed, when {@code nvcc} is not on the
 * PATH ({@code -Dseer.nvcc=/path/to/nvcc} names one). Prints ptxas' register and shared-memory use of the decode
 * kernels.
 */
class KernelNvccTest {
    /** A compilation: the source, the defines, the architectures. */
    record Unit(String file, Map<String, Object> defines, List<String> archs) {
    }

    static final List<String> BOTH = List.of("sm_80", "sm_90a");

    static List<Unit> units() {
        List<Unit> u = new ArrayList<>();
        u.add(new Unit("decode_gate.cu", Map.of(), BOTH));
        for (int d : new int[] {16, 20, 32, 64, 72, 128, 256}) {
            u.add(new Unit("decode_fp32.cu", Map.of("HEAD_DIM", d, "MAX_G", 8), BOTH));
        }
        for (int d : new int[] {32, 64, 128, 256}) {
            u.add(new Unit("attention_decode.cu", Map.of("HEAD_DIM", d, "MAX_G", 8), BOTH));
        }
        for (int g : new int[] {1, 2, 4}) {                   // the sparse decode kernel's group bound
            u.add(new Unit("attention_decode.cu", Map.of("HEAD_DIM", 128, "MAX_G", g), BOTH));
        }
        for (int d : new int[] {64, 128}) {
            u.add(new Unit("ops_fp32.cu", Map.of("HEAD_DIM", d, "ATTN_BLOCK", 64), BOTH));
            u.add(new Unit("attention_bf16.cu", Map.of("HEAD_DIM", d), BOTH));
            u.add(new Unit("attention_wgmma.cu", Map.of("HEAD_DIM", d, "STAGES", SeerKernels.WG_STAGES),
                    List.of("sm_90a")));
            u.add(new Unit("attention_sparse_wgmma.cu", Map.of("HEAD_DIM", d, "STAGES", SeerKernels.WG_STAGES),
                    List.of("sm_90a")));
        }
        u.add(new Unit("ops_fp32.cu", Map.of("HEAD_DIM", 72, "ATTN_BLOCK", 16), BOTH));   // blocks < 64 (tests use 16)
        u.add(new Unit("model_bf16.cu", Map.of(), BOTH));
        u.add(new Unit("gate_train.cu", Map.of(), BOTH));
        return u;
    }

    static Path nvcc() {
        String explicit = System.getProperty("seer.nvcc");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path p = Path.of(dir, "nvcc");
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    @Test
    void everyKernelCompilesWithNvccForSm80AndSm90a() throws Exception {
        Path nvcc = nvcc();
        if (nvcc == null) {
            System.out.println("[seer-gpu] nvcc compile check skipped: no nvcc on the PATH (-Dseer.nvcc=… names one)");
        }
        Assumptions.assumeTrue(nvcc != null, "no nvcc on the PATH");
        Path dir = Files.createTempDirectory("seer-nvcc");
        List<Unit> units = units();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(4,
                Runtime.getRuntime().availableProcessors())));
        try {
            List<Future<String>> results = new ArrayList<>();
            int n = 0;
            for (Unit unit : units) {
                Path src = dir.resolve((n++) + "-" + unit.file());
                Files.writeString(src, KernelCompiler.resource(unit.file()), StandardCharsets.UTF_8);
                for (String arch : unit.archs()) {
                    results.add(pool.submit(() -> compile(nvcc, src, unit, arch)));
                }
            }
            List<String> failures = new ArrayList<>();
            for (Future<String> f : results) {
                String r = f.get(10, TimeUnit.MINUTES);
                if (r.startsWith("FAIL")) {
                    failures.add(r);
                } else if (!r.isEmpty()) {
                    System.out.print(r);
                }
            }
            assertTrue(failures.isEmpty(), "nvcc refused:\n" + String.join("\n", failures));
        } finally {
            pool.shutdownNow();
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * "" or the ptxas summary of the decode kernels on success; "FAIL …" with nvcc's output otherwise. A success is
     * remembered under {@code ~/.cache/seer/nvcc-check} by the SHA-256 of nvcc's path, the source, the defines and
     * the architecture, so an unchanged kernel is not compiled again.
     */
    static String compile(Path nvcc, Path src, Unit unit, String arch) throws IOException, InterruptedException {
        Path done = CACHE.resolve(KernelCompiler.key(arch, Files.readString(src), List.of(nvcc.toString(),
                new TreeMap<>(unit.defines()).toString())) + ".ok");
        if (Files.isRegularFile(done)) {
            return Files.readString(done);
        }
        String result = compileNow(nvcc, src, unit, arch);
        if (!result.startsWith("FAIL")) {
            Files.createDirectories(CACHE);
            Files.writeString(done, result);
        }
        return result;
    }

    static final Path CACHE = Path.of(System.getProperty("user.home"), ".cache", "seer", "nvcc-check");

    static String compileNow(Path nvcc, Path src, Unit unit, String arch) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(nvcc.toString(), "-cubin", "-arch=" + arch, "-std=c++17",
                "--ptxas-options=-v", "-o", src.toString().replace(".cu", "-" + arch + ".cubin")));
        for (Map.Entry<String, Object> e : new TreeMap<>(unit.defines()).entrySet()) {
            cmd.add("-D" + e.getKey() + "=" + e.getValue());
        }
        cmd.add(src.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            return "FAIL " + unit.file() + " " + unit.defines() + " " + arch + ":\n" + out;
        }
        if (!unit.file().startsWith("decode_") && !unit.file().equals("attention_decode.cu")) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        String function = null;
        for (String line : out.split("\n")) {
            if (line.contains("Compiling entry function")) {
                function = line.replaceAll(".*function '([^']*)'.*", "$1");
            } else if (line.contains("Used") && function != null) {
                sb.append(String.format("[seer-gpu] nvcc %-6s %-24s %-28s %s%n", arch, unit.file() + " "
                        + unit.defines().getOrDefault("HEAD_DIM", ""), function, line.replaceAll(".*Used", "Used")));
                function = null;
            }
        }
        return sb.toString();
    }
}
