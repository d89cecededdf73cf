package org.seerjava.gpu.graph;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.CudaGraph;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Event;
import org.seerjava.gpu.Kernel;
import org.seerjava.gpu.Stream;

/**
 * Runs immutable task graphs on one stream, like TornadoVM's {@code TornadoExecutionPlan}. Device memory for
 * every tensor that has no bound buffer is allocated when the plan is created and freed by {@link #close()},
 * except for tensors marked {@link TaskGraph#persistOnDevice}, whose buffers are handed to the tensor. With
 * {@link #withCudaGraph()} the kernels (and poisoning) are captured into a CUDA graph on the first execution and
 * replayed afterwards; transfers stay outside the graph.
 */
public final class ExecutionPlan implements AutoCloseable {
    private final List<ImmutableTaskGraph> graphs;
    private final CudaContext context;
    private final Stream stream;
    private final Event start;
    private final Event end;
    private final Map<Tensor, DeviceBuffer> owned = new IdentityHashMap<>();
    private final Map<TaskGraph.Task, Kernel> kernels = new IdentityHashMap<>();
    private final Set<Tensor> poisoned = new LinkedHashSet<>();
    private boolean useCudaGraph;
    private CudaGraph cudaGraph;
    private boolean executed;
    private boolean closed;

    public ExecutionPlan(ImmutableTaskGraph... graphs) {
        if (graphs.length == 0) {
            throw new IllegalArgumentException("an execution plan needs at least one task graph");
        }
        this.graphs = List.of(graphs);
        this.context = CudaContext.get();
        Stream s = null;
        Event e1 = null;
        Event e2 = null;
        try {
            s = new Stream();
            e1 = new Event();
            e2 = new Event();
            for (ImmutableTaskGraph g : this.graphs) {
                for (Map.Entry<Tensor, Boolean> e : g.tensors().entrySet()) {
                    Tensor t = e.getKey();
                    if (t.device() != null || owned.containsKey(t)) {
                        continue;
                    }
                    DeviceBuffer b = DeviceBuffer.allocate(t.bytes());
                    if (e.getValue()) {
                        t.bindPersisted(b);
                    } else {
                        owned.put(t, b);
                    }
                }
                for (TaskGraph.Task task : g.tasks()) {
                    kernels.put(task, task.spec().kernel());
                }
            }
        } catch (RuntimeException ex) {
            for (DeviceBuffer b : owned.values()) {
                b.close();
            }
            if (e2 != null) {
                e2.close();
            }
            if (e1 != null) {
                e1.close();
            }
            if (s != null) {
                s.close();
            }
            throw ex;
        }
        this.stream = s;
        this.start = e1;
        this.end = e2;
    }

    /** Captures the kernels into a CUDA graph on the first execution and replays it afterwards. */
    public ExecutionPlan withCudaGraph() {
        if (executed) {
            throw new IllegalStateException("withCudaGraph() must be set before the first execution");
        }
        useCudaGraph = true;
        return this;
    }

    /** Fills these tensors with 0xFF bytes (NaN for fp32 and bf16) before every execution's tasks. */
    public ExecutionPlan withPoison(Tensor... tensors) {
        if (executed) {
            throw new IllegalStateException("withPoison() must be set before the first execution");
        }
        poisoned.addAll(List.of(tensors));
        return this;
    }

    /** The device buffer of a tensor of this plan. */
    public DeviceBuffer buffer(Tensor t) {
        DeviceBuffer b = owned.get(t);
        if (b == null) {
            b = t.device();
        }
        if (b == null) {
            throw new IllegalStateException("tensor " + t.describe() + " has no device buffer in this plan; was it"
                    + " consumed from the device before an earlier plan persisted it?");
        }
        return b;
    }

    /**
     * Runs the graphs once: due transfers to the device, the tasks, due transfers back; waits for completion.
     */
    public ExecutionResult execute() {
        ensureOpen();
        context.makeCurrent();
        enqueueInputs();
        start.record(stream);
        if (useCudaGraph) {
            if (cudaGraph == null) {
                cudaGraph = stream.capture(this::enqueueBody);
            }
            cudaGraph.launch(stream);
        } else {
            enqueueBody();
        }
        end.record(stream);
        for (ImmutableTaskGraph g : graphs) {
            for (TaskGraph.Transfer t : g.toHost()) {
                if (due(t.mode())) {
                    buffer(t.tensor()).copyTo(t.tensor().host(), stream);
                }
            }
        }
        stream.synchronize();
        executed = true;
        return new ExecutionResult(this, end.elapsedSince(start));
    }

    private boolean due(DataTransferMode mode) {
        return mode == DataTransferMode.EVERY_EXECUTION || (mode == DataTransferMode.FIRST_EXECUTION && !executed);
    }

    /** Enqueues the host-to-device copies due in this execution. */
    private void enqueueInputs() {
        for (ImmutableTaskGraph g : graphs) {
            for (TaskGraph.Transfer t : g.toDevice()) {
                if (due(t.mode())) {
                    buffer(t.tensor()).copyFrom(t.tensor().host(), stream);
                }
            }
        }
    }

    private void enqueueBody() {
        for (Tensor t : poisoned) {
            buffer(t).fill((byte) 0xFF, stream);
        }
        for (ImmutableTaskGraph g : graphs) {
            for (TaskGraph.Task task : g.tasks()) {
                enqueue(task);
            }
        }
    }

    /** Enqueues one task's kernel, its tensors bound to their device buffers. */
    private void enqueue(TaskGraph.Task task) {
        Object[] args = new Object[task.args().size()];
        for (int i = 0; i < args.length; i++) {
            Object a = task.args().get(i);
            args[i] = a instanceof Tensor t ? buffer(t) : a;
        }
        KernelSpec.Launch l = task.launch();
        kernels.get(task).launch(stream, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), args);
    }

    /**
     * Runs the graphs' tasks once without a CUDA graph, timing each task with events: "graph.task" → milliseconds,
     * in order. Transfers are done as by {@link #execute()} but not timed.
     */
    public Map<String, Float> profile() {
        ensureOpen();
        context.makeCurrent();
        enqueueInputs();
        executed = true;
        Map<String, Float> times = new java.util.LinkedHashMap<>();
        List<Event> events = new ArrayList<>();
        try {
            Event first = new Event();
            events.add(first);
            first.record(stream);
            List<String> names = new ArrayList<>();
            for (ImmutableTaskGraph g : graphs) {
                for (TaskGraph.Task task : g.tasks()) {
                    enqueue(task);
                    Event e = new Event();
                    events.add(e);
                    e.record(stream);
                    names.add(g.name() + "." + task.name());
                }
            }
            stream.synchronize();
            for (int i = 0; i < names.size(); i++) {
                times.put(names.get(i), events.get(i + 1).elapsedSince(events.get(i)));
            }
        } finally {
            for (Event e : events) {
                e.close();
            }
        }
        return times;
    }

    /** Copies host-bound tensors to the device now (for {@link DataTransferMode#UNDER_DEMAND} inputs). */
    public ExecutionPlan transferToDevice(Tensor... tensors) {
        ensureOpen();
        context.makeCurrent();
        for (Tensor t : tensors) {
            buffer(t).copyFrom(host(t));
        }
        return this;
    }

    void copyToHost(Tensor... tensors) {
        ensureOpen();
        context.makeCurrent();
        for (Tensor t : tensors) {
            buffer(t).copyTo(host(t));
        }
    }

    private static java.lang.foreign.MemorySegment host(Tensor t) {
        if (t.host() == null) {
            throw new IllegalArgumentException("tensor " + t.describe() + " has no host memory bound");
        }
        return t.host();
    }

    /** The names of the graphs and their tasks, in execution order. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (ImmutableTaskGraph g : graphs) {
            for (TaskGraph.Task t : g.tasks()) {
                out.add(g.name() + "." + t.name() + " → " + t.spec().function());
            }
        }
        return out;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("execution plan is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.makeCurrent();
        RuntimeException first = null;
        try {
            stream.synchronize();
        } catch (RuntimeException e) {
            first = e;
        }
        if (cudaGraph != null) {
            cudaGraph.close();
        }
        for (DeviceBuffer b : owned.values()) {
            try {
                b.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        owned.clear();
        end.close();
        start.close();
        stream.close();
        if (first != null) {
            throw first;
        }
    }
}
