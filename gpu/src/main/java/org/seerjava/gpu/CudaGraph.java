package org.seerjava.gpu;

import java.lang.foreign.MemorySegment;

/** A captured and instantiated CUDA graph ({@code cuGraphInstantiateWithFlags}); replayed by {@link #launch}. */
public final class CudaGraph implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment graph;
    private final MemorySegment exec;
    private boolean closed;

    CudaGraph(CudaContext context, MemorySegment graph) {
        this.context = context;
        this.graph = graph;
        MemorySegment e;
        try {
            e = context.driver().graphInstantiate(graph);
        } catch (RuntimeException ex) {
            context.driver().graphDestroy(graph);
            throw ex;
        }
        this.exec = e;
    }

    public void launch(Stream stream) {
        if (closed) {
            throw new IllegalStateException("CUDA graph is closed");
        }
        context.driver().graphLaunch(exec, stream.handle());
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.makeCurrent();
            context.driver().graphExecDestroy(exec);
            context.driver().graphDestroy(graph);
        }
    }
}
