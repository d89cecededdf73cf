package org.seerjava.tornado;

import java.util.List;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;

/**
 * A TornadoVM task graph and its execution plan, built once and executed many times: buffers copied to the device on
 * the first execution ({@code weights}) or on every one ({@code inputs}), the tasks, and the outputs copied back on
 * every execution. Intermediate buffers stay on the device. Closing it releases the device memory.
 */
public final class GraphPlan implements GraphRunner {
    private final String name;
    private final TornadoExecutionPlan plan;
    private TornadoExecutionResult last;
    private boolean closed;

    /**
     * Builds the graph {@code name}.
     *
     * @param weights  host buffers copied on the first execution only
     * @param inputs   host buffers copied on every execution
     * @param tasks    the kernels, in order
     * @param outputs  host buffers copied back after every execution
     * @param onDemand host buffers copied back only by {@link #fetch}
     * @param profile  whether to enable TornadoVM's profiler (kernel and transfer times)
     */
    public GraphPlan(String name, List<?> weights, List<?> inputs, List<KernelTask> tasks, List<?> outputs,
                     List<?> onDemand, boolean profile) {
        this.name = name;
        TaskGraph graph = new TaskGraph(name);
        if (!weights.isEmpty()) {
            graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, weights.toArray());
        }
        if (!inputs.isEmpty()) {
            graph.transferToDevice(DataTransferMode.EVERY_EXECUTION, inputs.toArray());
        }
        GridScheduler scheduler = new GridScheduler();
        for (KernelTask task : tasks) {
            task.addTo(graph, scheduler);
        }
        if (!outputs.isEmpty()) {
            graph.transferToHost(DataTransferMode.EVERY_EXECUTION, outputs.toArray());
        }
        if (!onDemand.isEmpty()) {
            graph.transferToHost(DataTransferMode.UNDER_DEMAND, onDemand.toArray());
        }
        TornadoExecutionPlan p = new TornadoExecutionPlan(graph.snapshot());
        if (!scheduler.keySet().isEmpty()) {
            p.withGridScheduler(scheduler);
        }
        if (profile) {
            p.withProfiler(ProfilerMode.SILENT);
        }
        this.plan = p;
    }

    /** Runs the graph once; the outputs are on the host when it returns. */
    public TornadoExecutionResult execute() {
        if (closed) {
            throw new IllegalStateException("task graph " + name + " is closed");
        }
        last = plan.execute();
        return last;
    }

    @Override
    public void run() {
        execute();
    }

    /** Copies on-demand buffers of the last execution back to the host. */
    public void fetch(Object... buffers) {
        if (last == null) {
            throw new IllegalStateException("task graph " + name + " has not run yet");
        }
        last.transferToHost(buffers);
    }

    /** The profiler's figures of the last execution (needs {@code profile}). */
    public TornadoExecutionResult lastResult() {
        return last;
    }

    /** Device memory the plan holds, as TornadoVM counts it (bytes). */
    public long deviceMemory() {
        return plan.getCurrentDeviceMemoryUsage();
    }

    /** The TornadoVM plan (for profiler and device queries). */
    public TornadoExecutionPlan plan() {
        return plan;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            plan.freeDeviceMemory();
            plan.close();
        } catch (TornadoExecutionPlanException e) {
            throw new IllegalStateException("closing task graph " + name + ": " + e.getMessage(), e);
        }
    }
}
