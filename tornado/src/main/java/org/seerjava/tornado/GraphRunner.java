package org.seerjava.tornado;

import java.util.List;

/**
 * A task graph built once and run many times: on the device ({@link GraphPlan}), or in the tests by an emulator that
 * runs the same tasks on the host buffers.
 */
public interface GraphRunner extends AutoCloseable {
    /** Runs the graph once: inputs copied to the device, kernels, outputs copied back. */
    void run();

    @Override
    void close();

    /** Builds runners. */
    @FunctionalInterface
    interface Factory {
        /**
         * A runner for graph {@code name}: {@code weights} copied on the first run, {@code inputs} on every run, the
         * {@code tasks} in order, {@code outputs} copied back after every run.
         */
        GraphRunner build(String name, List<?> weights, List<?> inputs, List<KernelTask> tasks, List<?> outputs);
    }

    /** TornadoVM execution plans on the default device. */
    Factory DEVICE = (name, weights, inputs, tasks, outputs) -> new GraphPlan(name, weights, inputs, tasks, outputs,
            List.of(), false);
}
