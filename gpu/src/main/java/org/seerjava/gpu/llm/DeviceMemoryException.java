package org.seerjava.gpu.llm;

import java.util.Locale;
import org.seerjava.gpu.CudaException;

/** The GPU has less free memory than a model, its KV cache or its activations need; says both figures. */
public final class DeviceMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;

    private final long needed;
    private final long free;

    public DeviceMemoryException(String message, long needed, long free) {
        super(message);
        this.needed = needed;
        this.free = free;
    }

    /** Bytes asked for. */
    public long needed() {
        return needed;
    }

    /** Bytes the device reported free. */
    public long free() {
        return free;
    }

    static String human(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
