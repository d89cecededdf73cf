package org.seerjava.gpu.graph;

/** What one {@link ExecutionPlan#execute()} did: its event-timed device time, and on-demand copies back. */
public final class ExecutionResult {
    private final ExecutionPlan plan;
    private final float millis;

    ExecutionResult(ExecutionPlan plan, float millis) {
        this.plan = plan;
        this.millis = millis;
    }

    /** Device milliseconds from before the first task to after the last (events on the plan's stream). */
    public float elapsedMillis() {
        return millis;
    }

    /** Copies tensors back to their host memory now (for {@link DataTransferMode#UNDER_DEMAND} outputs). */
    public ExecutionResult transferToHost(Tensor... tensors) {
        plan.copyToHost(tensors);
        return this;
    }
}
