package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Where the CUDA libraries are. The driver {@code libcuda.so.1} comes from the dynamic loader's path (it is
 * installed with the driver, not with the toolkit); {@code -Dseer.cuda.driver=/path/libcuda.so.1} overrides it.
 * NVRTC ({@code libnvrtc.so.13}) is looked for under {@code <cuda>/lib64} and {@code <cuda>/targets/x86_64-linux/lib},
 * where {@code <cuda>} is {@code -Dseer.cuda.home}, else {@code $CUDA_HOME}, {@code $CUDA_PATH}, else
 * {@code /usr/local/cuda}; {@code -Dseer.nvrtc.path} names the library file directly. cuBLAS and cuBLASLt
 * ({@code libcublas.so.13}, {@code libcublasLt.so.13}) are looked for in the same two toolkit folders, then in the
 * folders where the NVIDIA pip wheels put them (a PyTorch virtual environment); {@code -Dseer.cublas.dir} names the
 * folder directly.
 */
public final class CudaLibraries {
    /** System property: the CUDA toolkit root (headers for NVRTC, and NVRTC itself). */
    public static final String CUDA_HOME = "seer.cuda.home";
    /** System property: the NVRTC library file. */
    public static final String NVRTC_PATH = "seer.nvrtc.path";
    /** System property: the driver library file or name (default {@code libcuda.so.1} from the loader path). */
    public static final String DRIVER_PATH = "seer.cuda.driver";

    /** System property: the folder holding {@code libcublas.so.13} and {@code libcublasLt.so.13}. */
    public static final String CUBLAS_DIR = "seer.cublas.dir";

    static final String DRIVER_NAME = "libcuda.so.1";
    static final String CUBLAS_NAME = "libcublas.so.13";
    static final String CUBLASLT_NAME = "libcublasLt.so.13";
    /** Where NVIDIA's pip wheels install cuBLAS for CUDA 13, relative to a Python {@code site-packages} folder. */
    private static final List<String> WHEEL_FOLDERS = List.of("nvidia/cu13/lib", "nvidia/cublas/lib");
    /** Python environments looked at for the wheels (the GPU machine's PyTorch environment first). */
    private static final List<String> SITE_PACKAGES = List.of("/opt/torch/.venv/lib/python3.12/site-packages",
            "/usr/local/lib/python3.12/dist-packages", "/usr/lib/python3/dist-packages");
    static final String NVRTC_NAME = "libnvrtc.so.13";

    private CudaLibraries() {
    }

    /** The CUDA toolkit root. */
    public static Path cudaHome() {
        String p = System.getProperty(CUDA_HOME);
        if (p == null || p.isBlank()) {
            p = System.getenv("CUDA_HOME");
        }
        if (p == null || p.isBlank()) {
            p = System.getenv("CUDA_PATH");
        }
        if (p == null || p.isBlank()) {
            p = "/usr/local/cuda";
        }
        return Path.of(p);
    }

    /** Opens the driver library named by {@code -Dseer.cuda.driver} or {@code libcuda.so.1}. */
    public static SymbolLookup openDriver() {
        String p = System.getProperty(DRIVER_PATH);
        return openDriver(p == null || p.isBlank() ? DRIVER_NAME : p);
    }

    /**
     * Opens the driver library by file path or loader name.
     *
     * @throws CudaUnavailableException with a message that says what was tried and what to do
     */
    public static SymbolLookup openDriver(String nameOrPath) {
        try {
            return SymbolLookup.libraryLookup(nameOrPath, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new CudaUnavailableException("no CUDA driver: could not load '" + nameOrPath
                    + "' (the NVIDIA driver library, looked up on the dynamic loader path"
                    + (nameOrPath.contains("/") ? "" : ", LD_LIBRARY_PATH and ldconfig cache")
                    + "). This machine has no NVIDIA driver or GPU; install the driver or set -D" + DRIVER_PATH
                    + "=/path/to/libcuda.so.1", e);
        }
    }

    /** Candidate NVRTC files in the order they are tried. */
    public static List<Path> nvrtcCandidates() {
        List<Path> list = new ArrayList<>();
        String p = System.getProperty(NVRTC_PATH);
        if (p != null && !p.isBlank()) {
            list.add(Path.of(p));
            return list;
        }
        Path home = cudaHome();
        list.add(home.resolve("lib64").resolve(NVRTC_NAME));
        list.add(home.resolve("targets/x86_64-linux/lib").resolve(NVRTC_NAME));
        return list;
    }

    /** Opens NVRTC from the candidates, or fails with every path tried. */
    public static SymbolLookup openNvrtc() {
        List<Path> tried = nvrtcCandidates();
        for (Path path : tried) {
            if (Files.isRegularFile(path)) {
                try {
                    return SymbolLookup.libraryLookup(path, Arena.global());
                } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                    throw new CudaUnavailableException("NVRTC at " + path + " could not be loaded: " + e.getMessage(), e);
                }
            }
        }
        throw new CudaUnavailableException("no NVRTC: " + NVRTC_NAME + " not found at " + tried
                + "; set -D" + CUDA_HOME + "=<CUDA 13 toolkit root> or -D" + NVRTC_PATH + "=/path/to/" + NVRTC_NAME);
    }

    /** Folders searched for cuBLAS, in order. */
    public static List<Path> cublasFolders() {
        List<Path> list = new ArrayList<>();
        String p = System.getProperty(CUBLAS_DIR);
        if (p != null && !p.isBlank()) {
            list.add(Path.of(p));
            return list;
        }
        Path home = cudaHome();
        list.add(home.resolve("lib64"));
        list.add(home.resolve("targets/x86_64-linux/lib"));
        String venv = System.getenv("VIRTUAL_ENV");
        List<String> sites = new ArrayList<>();
        if (venv != null && !venv.isBlank()) {
            sites.add(venv + "/lib/python3.12/site-packages");
        }
        sites.addAll(SITE_PACKAGES);
        for (String site : sites) {
            for (String w : WHEEL_FOLDERS) {
                list.add(Path.of(site, w));
            }
        }
        return list;
    }

    /**
     * The first folder of {@link #cublasFolders()} holding both {@code libcublasLt.so.13} and {@code libcublas.so.13}.
     *
     * @throws CudaUnavailableException naming every folder tried
     */
    public static Path findCublas() {
        List<Path> tried = cublasFolders();
        for (Path dir : tried) {
            if (Files.isRegularFile(dir.resolve(CUBLASLT_NAME)) && Files.isRegularFile(dir.resolve(CUBLAS_NAME))) {
                return dir;
            }
        }
        throw new CudaUnavailableException("no cuBLAS: " + CUBLAS_NAME + " and " + CUBLASLT_NAME + " not found in "
                + tried + "; install the CUDA 13 toolkit's cuBLAS, or set -D" + CUBLAS_DIR
                + "=<folder holding both> (the model runtime needs cuBLAS for its matrix products)");
    }

    /** Opens one library file; a file that exists but does not load is an error naming it. */
    static SymbolLookup open(Path file) {
        try {
            return SymbolLookup.libraryLookup(file, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new CudaUnavailableException(file + " could not be loaded: " + e.getMessage(), e);
        }
    }

    /**
     * A downcall handle for the C function {@code name} of {@code lookup} returning an int (a CUDA or NVRTC status)
     * and taking {@code args}.
     *
     * @throws CudaUnavailableException with {@code missing} applied to the name when the library has no such symbol
     */
    static MethodHandle bindStatusCall(SymbolLookup lookup, String name, Function<String, String> missing,
                                       MemoryLayout... args) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() -> new CudaUnavailableException(missing.apply(name)));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(ValueLayout.JAVA_INT, args));
    }
}
