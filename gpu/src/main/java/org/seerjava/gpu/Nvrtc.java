package org.seerjava.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * FFM bindings of NVRTC ({@code libnvrtc.so.13}): create, compile, log, CUBIN/PTX. A failed compilation throws
 * {@link CudaException} carrying the program log.
 */
public final class Nvrtc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final Once<Nvrtc> INSTANCE = new Once<>(() -> new Nvrtc(CudaLibraries.openNvrtc()));

    private final MethodHandle version, createProgram, compileProgram, getProgramLogSize, getProgramLog, getCubinSize,
            getCubin, getPtxSize, getPtx, destroyProgram, getErrorString;

    /** Binds NVRTC found in {@code lookup}. */
    public Nvrtc(SymbolLookup lookup) {
        version = bind(lookup, "nvrtcVersion", ADDRESS, ADDRESS);
        createProgram = bind(lookup, "nvrtcCreateProgram", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        compileProgram = bind(lookup, "nvrtcCompileProgram", ADDRESS, JAVA_INT, ADDRESS);
        getProgramLogSize = bind(lookup, "nvrtcGetProgramLogSize", ADDRESS, ADDRESS);
        getProgramLog = bind(lookup, "nvrtcGetProgramLog", ADDRESS, ADDRESS);
        getCubinSize = bind(lookup, "nvrtcGetCUBINSize", ADDRESS, ADDRESS);
        getCubin = bind(lookup, "nvrtcGetCUBIN", ADDRESS, ADDRESS);
        getPtxSize = bind(lookup, "nvrtcGetPTXSize", ADDRESS, ADDRESS);
        getPtx = bind(lookup, "nvrtcGetPTX", ADDRESS, ADDRESS);
        destroyProgram = bind(lookup, "nvrtcDestroyProgram", ADDRESS);
        MemorySegment es = lookup.find("nvrtcGetErrorString").orElseThrow(
                () -> new CudaUnavailableException("NVRTC has no symbol nvrtcGetErrorString"));
        getErrorString = LINKER.downcallHandle(es, FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private static MethodHandle bind(SymbolLookup lookup, String name, MemoryLayout... args) {
        return CudaLibraries.bindStatusCall(lookup, name, n -> "NVRTC has no symbol '" + n + "'", args);
    }

    /** The process-wide NVRTC, found by {@link CudaLibraries#openNvrtc()}. */
    public static Nvrtc get() {
        return INSTANCE.get();
    }


    private String errorString(int rc) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(rc);
            return s.equals(MemorySegment.NULL) ? "nvrtcResult " + rc : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "nvrtcResult " + rc;
        }
    }

    private void check(int rc, String op) {
        if (rc != 0) {
            throw new CudaException(op, rc, errorString(rc), null, null);
        }
    }

    /** "major.minor" of NVRTC. */
    public String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ma = a.allocate(JAVA_INT);
            MemorySegment mi = a.allocate(JAVA_INT);
            check((int) version.invokeExact(ma, mi), "nvrtcVersion");
            return ma.get(JAVA_INT, 0) + "." + mi.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    /** A compiled program: the CUBIN (when the target is a real sm_XY) or PTX, and the log. */
    public record Compiled(byte[] image, boolean cubin, String log) {
    }

    /**
     * Compiles CUDA C++ {@code source} (named {@code name} in messages) with the given options.
     *
     * @param cubin true to return the CUBIN (needs {@code --gpu-architecture=sm_XY}), false for PTX
     * @throws CudaException carrying the program log when compilation fails
     */
    public Compiled compile(String source, String name, List<String> options, boolean cubin) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progPtr = a.allocate(ADDRESS);
            check((int) createProgram.invokeExact(progPtr, a.allocateFrom(source), a.allocateFrom(name), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram(" + name + ")");
            MemorySegment prog = progPtr.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                }
                int rc = (int) compileProgram.invokeExact(prog, options.size(), opts);
                String log = log(a, prog);
                if (rc != 0) {
                    throw new CudaException("nvrtcCompileProgram(" + name + ", " + String.join(" ", options) + ")",
                            rc, errorString(rc), null, log);
                }
                MemorySegment size = a.allocate(JAVA_LONG);
                check((int) (cubin ? getCubinSize : getPtxSize).invokeExact(prog, size),
                        cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize");
                long n = size.get(JAVA_LONG, 0);
                MemorySegment buf = a.allocate(n);
                check((int) (cubin ? getCubin : getPtx).invokeExact(prog, buf), cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX");
                return new Compiled(buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), cubin, log);
            } finally {
                int ignored = (int) destroyProgram.invokeExact(progPtr);
            }
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    private String log(Arena a, MemorySegment prog) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        if ((int) getProgramLogSize.invokeExact(prog, size) != 0) {
            return "";
        }
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1) {
            return "";
        }
        MemorySegment buf = a.allocate(n);
        if ((int) getProgramLog.invokeExact(prog, buf) != 0) {
            return "";
        }
        return buf.getString(0);
    }
}
