package org.seerjava.reference.engine;

/**
 * One implementation of every SeerAttention operation on float32 arrays: the reference (float64 inside), the
 * Vector API engine ({@code cpu}) or the CUDA engine ({@code cuda}). All engines follow the reference semantics
 * and are tested against it.
 */
public interface Engine extends PoolingOps, GateOps, SelectionOps, AttentionOps, DistillationOps {
    /** Short name used by {@code -Dseer.backend}: {@code reference}, {@code cpu} or {@code cuda}. */
    String name();

    /** What it runs on, e.g. the vector species and thread count, or the GPU name and compute capability. */
    String description();
}
