package org.seerjava.gpu;

import java.lang.foreign.MemorySegment;

/** A CUDA stream ({@code cuStreamCreate}, non-blocking); {@link #close()} destroys it. */
public final class Stream implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment handle;
    private boolean closed;

    public Stream() {
        this.context = CudaContext.get();
        this.handle = context.driver().streamCreate(CuDriver.CU_STREAM_NON_BLOCKING);
    }

    public MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("stream is closed");
        }
        return handle;
    }

    public void synchronize() {
        context.makeCurrent();
        context.driver().streamSynchronize(handle());
    }

    /** Starts recording this stream's work into a CUDA graph. */
    public void beginCapture() {
        context.driver().streamBeginCapture(handle(), CuDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    }

    /** Ends recording and instantiates the graph. */
    public CudaGraph endCapture() {
        MemorySegment graph = context.driver().streamEndCapture(handle());
        return new CudaGraph(context, graph);
    }

    /**
     * Records what {@code body} enqueues on this stream into a CUDA graph (nothing runs yet). When {@code body}
     * throws, the capture is ended and its graph discarded, so that the stream is usable again, and the exception
     * passes on.
     */
    public CudaGraph capture(Runnable body) {
        beginCapture();
        try {
            body.run();
        } catch (RuntimeException e) {
            try {
                endCapture().close();
            } catch (RuntimeException ignored) {
                // the capture is invalid anyway
            }
            throw e;
        }
        return endCapture();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            context.driver().streamDestroy(handle);
        }
    }
}
