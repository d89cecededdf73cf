package org.seerjava.gpu;

import java.lang.foreign.MemorySegment;

/** A CUDA event for timing ({@code cuEventCreate}); {@link #close()} destroys it. */
public final class Event implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment handle;
    private boolean closed;

    public Event() {
        this.context = CudaContext.get();
        this.handle = context.driver().eventCreate(CuDriver.CU_EVENT_DEFAULT);
    }

    public void record(Stream stream) {
        context.driver().eventRecord(handle(), stream.handle());
    }

    public void synchronize() {
        context.driver().eventSynchronize(handle());
    }

    /** Milliseconds from {@code start} to this event (both recorded; waits for this one). */
    public float elapsedSince(Event start) {
        synchronize();
        return context.driver().eventElapsedTime(start.handle(), handle());
    }

    MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("event is closed");
        }
        return handle;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            context.driver().eventDestroy(handle);
        }
    }
}
