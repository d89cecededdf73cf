package org.seerjava.gpu;

/**
 * A failed CUDA driver or NVRTC call, or a GPU that cannot be used. The message names the operation and, for a
 * driver error, {@code cuGetErrorName}/{@code cuGetErrorString}; for an NVRTC compile failure it carries the
 * program log.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final int code;
    private final String errorName;
    private final String log;

    public CudaException(String operation, int code, String errorName, String message, String log) {
        super(format(operation, code, errorName, message, log));
        this.operation = operation;
        this.code = code;
        this.errorName = errorName;
        this.log = log;
    }

    public CudaException(String message) {
        this(message, (Throwable) null);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.operation = null;
        this.code = 0;
        this.errorName = null;
        this.log = null;
    }

    /**
     * What a failed native call (a method handle's {@code invokeExact}) throws: a RuntimeException as it is, an Error
     * rethrown, anything else wrapped in a CudaException.
     */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new CudaException("native call failed: " + t, t);
    }

    private static String format(String operation, int code, String errorName, String message, String log) {
        StringBuilder sb = new StringBuilder();
        sb.append(operation).append(" failed: ").append(errorName == null ? "error" : errorName)
                .append(" (").append(code).append(")");
        if (message != null && !message.isEmpty()) {
            sb.append(": ").append(message);
        }
        if (log != null && !log.isBlank()) {
            sb.append("\n--- NVRTC program log ---\n").append(log.strip());
        }
        return sb.toString();
    }

    /** The call that failed, e.g. {@code cuMemAlloc_v2(17179869184 bytes)}; null for availability errors. */
    public String operation() {
        return operation;
    }

    /** The CUresult or nvrtcResult code (0 when not applicable). */
    public int code() {
        return code;
    }

    /** {@code cuGetErrorName} of the code, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String errorName() {
        return errorName;
    }

    /** The NVRTC program log of a failed compilation, else null. */
    public String programLog() {
        return log;
    }
}
