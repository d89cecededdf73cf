package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/** A loaded CUBIN/PTX image ({@code cuModuleLoadData}); {@link #close()} unloads it and its kernels. */
public final class CudaModule implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment handle;
    private final String name;
    private final Map<String, Kernel> kernels = new HashMap<>();
    private boolean closed;

    /** Loads an image (CUBIN, or PTX text which the driver compiles). */
    public CudaModule(String name, byte[] image, boolean ptx) {
        this.context = CudaContext.get();
        this.name = name;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment img = a.allocate(image.length + (ptx ? 1 : 0), 16);
            MemorySegment.copy(image, 0, img, ValueLayout.JAVA_BYTE, 0, image.length);
            this.handle = context.driver().moduleLoadData(img);
        }
    }

    /** The kernel of that {@code extern "C"} name. */
    public synchronized Kernel kernel(String function) {
        if (closed) {
            throw new IllegalStateException("module " + name + " is closed");
        }
        return kernels.computeIfAbsent(function,
                f -> new Kernel(this, f, context.driver().moduleGetFunction(handle, f)));
    }

    CudaContext context() {
        return context;
    }

    public String name() {
        return name;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            context.driver().moduleUnload(handle);
        }
    }
}
