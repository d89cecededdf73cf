package org.seerjava.gpu.graph;

import java.util.List;
import java.util.Map;

/**
 * A checked, frozen {@link TaskGraph} ({@link TaskGraph#snapshot()}), run by an {@link ExecutionPlan}.
 *
 * @param tensors every tensor the graph touches, mapped to whether it persists on the device after the plan
 */
public record ImmutableTaskGraph(String name, List<TaskGraph.Transfer> toDevice, List<TaskGraph.Transfer> toHost,
                                 List<TaskGraph.Task> tasks, Map<Tensor, Boolean> tensors) {
}
