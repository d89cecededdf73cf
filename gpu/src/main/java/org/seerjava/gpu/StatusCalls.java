package org.seerjava.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;

/**
 * The checked call of a C function that returns a status code (the driver's {@code CUresult}, cuBLAS's
 * {@code cublasStatus_t}) and hands its result back through a pointer argument: the bindings ({@link CuDriver},
 * {@link Cublas}) give the call as a lambda around the bound handle's {@code invokeExact} and the name of the
 * operation; a non-zero status becomes their {@link #check}'s {@link CudaException}, and any other failure of the
 * native call goes through {@link CudaException#rethrow}.
 */
abstract class StatusCalls {
    /** A native call returning its status. */
    @FunctionalInterface
    interface Call {
        int invoke() throws Throwable;
    }

    /** A native call writing its result to {@code out} and returning its status. */
    @FunctionalInterface
    interface OutCall {
        int invoke(MemorySegment out) throws Throwable;
    }

    /** Throws a {@link CudaException} naming {@code operation} when {@code status} is not 0. */
    abstract void check(int status, String operation);

    final void call(String operation, Call call) {
        try {
            check(call.invoke(), operation);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    final MemorySegment callForAddress(String operation, OutCall call) {
        return callWithResult(ADDRESS, operation, call, p -> p.get(ADDRESS, 0));
    }

    final int callForInt(String operation, OutCall call) {
        return callWithResult(JAVA_INT, operation, call, p -> p.get(JAVA_INT, 0));
    }

    final long callForLong(String operation, OutCall call) {
        return callWithResult(JAVA_LONG, operation, call, p -> p.get(JAVA_LONG, 0));
    }

    final float callForFloat(String operation, OutCall call) {
        return callWithResult(JAVA_FLOAT, operation, call, p -> p.get(JAVA_FLOAT, 0));
    }

    /** The call with an out-parameter of {@code layout} in a confined arena, its value read by {@code read}. */
    private <T> T callWithResult(MemoryLayout layout, String operation, OutCall call, Function<MemorySegment, T> read) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(layout);
            check(call.invoke(p), operation);
            return read.apply(p);
        } catch (Throwable t) {
            throw CudaException.rethrow(t);
        }
    }

    /** Why {@code open} fails (the {@link CudaException}'s message), or null when it succeeds. */
    static String unavailableReason(Runnable open) {
        try {
            open.run();
            return null;
        } catch (CudaException e) {
            return e.getMessage();
        }
    }
}
