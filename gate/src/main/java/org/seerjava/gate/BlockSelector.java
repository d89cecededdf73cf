package org.seerjava.gate;

import org.seerjava.model.LayerAttention;
import org.seerjava.reference.BlockMask;

/** Chooses the key blocks each query block of each head attends to, per layer. */
public interface BlockSelector {
    /** The mask {@code [1, Hq, nb, nb]} for one layer's attention inputs. */
    BlockMask select(int layer, LayerAttention in);

    /** Block size B of the masks. */
    int blockSize();

    /** A short label for reports ({@code gate}, {@code oracle}, {@code sink-local}). */
    String name();

    /**
     * k = max(1, int((1 − √(1 − density)) · nb)), the blocks per query-block row that make the kept fraction of the
     * causal triangle ≈ density (docs/SPEC.md §3.2).
     */
    static int topK(double density, int blocks) {
        return org.seerjava.reference.BlockSelection.topKCount(density, blocks);
    }
}
