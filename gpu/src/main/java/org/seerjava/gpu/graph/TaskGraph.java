package org.seerjava.gpu.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.seerjava.reference.io.DType;

/**
 * A graph of GPU tasks in the style of TornadoVM's {@code TaskGraph}: declared transfers to the device, kernel
 * tasks in order, declared transfers back. Mutable while it is built; {@link #snapshot()} checks it and returns
 * the immutable graph that an {@link ExecutionPlan} runs.
 *
 * <pre>{@code
 * TaskGraph tg = new TaskGraph("prefill")
 *     .transferToDevice(DataTransferMode.FIRST_EXECUTION, q, k, v)
 *     .task("pool", poolSpec, launch, q, qPooled, ...)
 *     .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
 * try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot())) {
 *     plan.execute();
 * }
 * }</pre>
 */
public final class TaskGraph {
    private final String name;
    private final List<Transfer> toDevice = new ArrayList<>();
    private final List<Transfer> toHost = new ArrayList<>();
    private final Set<Tensor> consumed = new LinkedHashSet<>();
    private final Set<Tensor> persisted = new LinkedHashSet<>();
    private final Set<Tensor> scratch = new LinkedHashSet<>();
    private final List<Task> tasks = new ArrayList<>();
    private final List<Expectation> expectations = new ArrayList<>();

    /** A declared copy of a tensor in one direction. */
    public record Transfer(DataTransferMode mode, Tensor tensor) {
    }

    /** A kernel launch with its arguments (tensors and boxed scalars, in the kernel's parameter order). */
    public record Task(String name, KernelSpec spec, KernelSpec.Launch launch, List<Object> args) {
    }

    /** A shape and dtype a tensor must have, checked at snapshot time. */
    public record Expectation(Tensor tensor, DType dtype, long[] shape, String why) {
    }

    public TaskGraph(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("task graph name must not be blank");
        }
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** Copies these host-bound tensors to the device at the given times. */
    public TaskGraph transferToDevice(DataTransferMode mode, Tensor... tensors) {
        for (Tensor t : tensors) {
            toDevice.add(new Transfer(mode, t));
        }
        return this;
    }

    /** Copies these tensors back to their host memory at the given times. */
    public TaskGraph transferToHost(DataTransferMode mode, Tensor... tensors) {
        for (Tensor t : tensors) {
            toHost.add(new Transfer(mode, t));
        }
        return this;
    }

    /** These tensors are already on the device (bound buffers, e.g. persisted by an earlier graph's plan). */
    public TaskGraph consumeFromDevice(Tensor... tensors) {
        consumed.addAll(Arrays.asList(tensors));
        return this;
    }

    /** The plan keeps these tensors' device buffers after it closes (bound to the tensors; close them to free). */
    public TaskGraph persistOnDevice(Tensor... tensors) {
        persisted.addAll(Arrays.asList(tensors));
        return this;
    }

    /** Device-only tensors whose content before the first task does not matter (intermediates). */
    public TaskGraph allocate(Tensor... tensors) {
        scratch.addAll(Arrays.asList(tensors));
        return this;
    }

    /** Adds a kernel task; {@code args} follow the kernel's parameters: tensors, Integer, Long, Float, Double, long[]. */
    public TaskGraph task(String taskName, KernelSpec spec, KernelSpec.Launch launch, Object... args) {
        tasks.add(new Task(taskName, spec, launch, Arrays.asList(args.clone())));
        return this;
    }

    /** Requires {@code tensor} to have this dtype and shape (checked by {@link #snapshot()}). */
    public TaskGraph require(Tensor tensor, DType dtype, String why, long... shape) {
        expectations.add(new Expectation(tensor, dtype, shape.clone(), why));
        return this;
    }

    /**
     * Checks the graph and freezes it: every tensor argument must be declared (transferred in, consumed from the
     * device, allocated, or written by an earlier task) before a task reads it; argument counts, scalar kinds and
     * tensor dtypes must match each kernel's parameters; every expectation must hold.
     *
     * @throws IllegalArgumentException naming the graph, task, parameter and tensor at fault
     */
    public ImmutableTaskGraph snapshot() {
        List<String> errors = new ArrayList<>();
        Set<Tensor> available = new LinkedHashSet<>();
        Set<Tensor> known = new LinkedHashSet<>();
        for (Transfer t : toDevice) {
            if (t.tensor().host() == null && t.mode() != DataTransferMode.UNDER_DEMAND) {
                errors.add("tensor " + t.tensor().describe() + " is transferred to the device but has no host memory"
                        + " bound (Tensor.withHost)");
            }
            available.add(t.tensor());
        }
        for (Tensor t : consumed) {
            available.add(t);   // its device buffer is checked when a plan runs (an earlier plan may persist it)
        }
        available.addAll(scratch);
        known.addAll(available);
        for (Task task : tasks) {
            List<KernelSpec.Param> params = task.spec().params();
            if (task.args().size() != params.size()) {
                errors.add("task '" + task.name() + "' (" + task.spec().function() + ") has " + task.args().size()
                        + " arguments, the kernel takes " + params.size());
                continue;
            }
            for (int i = 0; i < params.size(); i++) {
                KernelSpec.Param p = params.get(i);
                Object a = task.args().get(i);
                String where = "task '" + task.name() + "' parameter " + i + " '" + p.name() + "'";
                if (p.isTensor()) {
                    if (!(a instanceof Tensor t)) {
                        errors.add(where + " expects a " + p.dtype() + " tensor, got " + describe(a));
                        continue;
                    }
                    if (t.dtype() != p.dtype()) {
                        errors.add(where + " expects dtype " + p.dtype() + ", tensor " + t.describe() + " has " + t.dtype());
                    }
                    if (p.kind() != KernelSpec.Kind.OUT && !available.contains(t)) {
                        errors.add(where + " reads tensor " + t.describe() + ", which is not declared: transfer it to"
                                + " the device, consume it from the device, allocate it, or write it in an earlier task");
                    }
                    available.add(t);
                    known.add(t);
                } else {
                    boolean ok = switch (p.kind()) {
                        case INT -> a instanceof Integer;
                        case LONG -> a instanceof Long;
                        case FLOAT -> a instanceof Float;
                        case DOUBLE -> a instanceof Double;
                        case STRUCT -> a instanceof long[];
                        default -> false;
                    };
                    if (!ok) {
                        errors.add(where + " expects a " + p.kind().name().toLowerCase(java.util.Locale.ROOT)
                                + " scalar, got " + describe(a));
                    }
                }
            }
        }
        for (Transfer t : toHost) {
            if (!known.contains(t.tensor())) {
                errors.add("tensor " + t.tensor().describe() + " is transferred to the host but nothing declares or"
                        + " writes it");
            }
            if (t.tensor().host() == null) {
                errors.add("tensor " + t.tensor().describe() + " is transferred to the host but has no host memory"
                        + " bound (Tensor.withHost)");
            }
        }
        for (Tensor t : persisted) {
            if (!known.contains(t)) {
                errors.add("tensor " + t.describe() + " is persisted but not used by the graph");
            }
        }
        for (Expectation e : expectations) {
            Tensor t = e.tensor();
            if (t.dtype() != e.dtype() || !Arrays.equals(t.shape(), e.shape())) {
                errors.add(e.why() + ": expected " + t.name() + " " + e.dtype().name().toLowerCase(java.util.Locale.ROOT)
                        + Arrays.toString(e.shape()) + ", got " + t.describe());
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("task graph '" + name + "' is invalid:\n  - "
                    + String.join("\n  - ", errors));
        }
        Map<Tensor, Boolean> all = new LinkedHashMap<>();
        for (Tensor t : consumed) {
            known.add(t);
        }
        for (Tensor t : known) {
            all.put(t, persisted.contains(t));
        }
        return new ImmutableTaskGraph(name, List.copyOf(toDevice), List.copyOf(toHost), List.copyOf(tasks), all);
    }

    private static String describe(Object a) {
        return a == null ? "null" : a instanceof Tensor t ? "tensor " + t.describe() : a.getClass().getSimpleName()
                + " " + a;
    }
}
