package org.seerjava.gpu.graph;

import java.util.List;
import java.util.Map;
import org.seerjava.gpu.Kernel;
import org.seerjava.gpu.KernelCompiler;
import org.seerjava.reference.io.DType;

/**
 * A kernel of a {@code .cu} resource with its compile-time defines and its parameter list, so that a task graph
 * can check the arguments of a task before anything runs on the GPU.
 *
 * @param resource file under {@code org/seerjava/gpu/kernels/}, or a class-path resource path starting with {@code /}
 * @param defines  {@code -D} constants
 * @param function the {@code extern "C"} entry point
 * @param params   the parameters in order
 */
public record KernelSpec(String resource, Map<String, Object> defines, String function, List<Param> params) {

    public KernelSpec {
        defines = Map.copyOf(defines);
        params = List.copyOf(params);
    }

    /** The compiled, loaded kernel (compiles on first use; needs a GPU). */
    public Kernel kernel() {
        return KernelCompiler.module(resource, defines).kernel(function);
    }

    /** How a parameter is passed. */
    public enum Kind { IN, OUT, INOUT, INT, LONG, FLOAT, DOUBLE, STRUCT }

    /**
     * One parameter: a tensor read ({@code IN}), written ({@code OUT}) or both, with its element type; or a scalar.
     */
    public record Param(String name, Kind kind, DType dtype) {
        public static Param in(String name, DType t) {
            return new Param(name, Kind.IN, t);
        }

        public static Param out(String name, DType t) {
            return new Param(name, Kind.OUT, t);
        }

        public static Param inout(String name, DType t) {
            return new Param(name, Kind.INOUT, t);
        }

        public static Param i32(String name) {
            return new Param(name, Kind.INT, null);
        }

        public static Param i64(String name) {
            return new Param(name, Kind.LONG, null);
        }

        public static Param f32(String name) {
            return new Param(name, Kind.FLOAT, null);
        }

        public static Param f64(String name) {
            return new Param(name, Kind.DOUBLE, null);
        }

        public static Param struct(String name) {
            return new Param(name, Kind.STRUCT, null);
        }

        boolean isTensor() {
            return kind == Kind.IN || kind == Kind.OUT || kind == Kind.INOUT;
        }
    }

    /** Grid and block dimensions and dynamic shared memory of a launch. */
    public record Launch(int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes) {
        public Launch {
            if (gx <= 0 || gy <= 0 || gz <= 0 || bx <= 0 || by <= 0 || bz <= 0 || sharedBytes < 0) {
                throw new IllegalArgumentException("bad launch configuration grid " + gx + "x" + gy + "x" + gz
                        + ", block " + bx + "x" + by + "x" + bz + ", shared " + sharedBytes);
            }
        }

        public static Launch linear(long threads, int block) {
            long blocks = Math.max(1, Math.min((threads + block - 1) / block, 1L << 20));
            return new Launch((int) blocks, 1, 1, block, 1, 1, 0);
        }
    }
}
