package org.seerjava.gpu.graph;

/** When a declared transfer happens, as in TornadoVM. */
public enum DataTransferMode {
    /** Only on the plan's first execution (read-only inputs, weights). */
    FIRST_EXECUTION,
    /** On every execution. */
    EVERY_EXECUTION,
    /** Only when asked: {@link ExecutionResult#transferToHost} / {@link ExecutionPlan#transferToDevice}. */
    UNDER_DEMAND
}
