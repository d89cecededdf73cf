package org.seerjava.gate;

import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;

/**
 * The oracle: top-k of the true 2-D max-pooled attention map (the distillation target,
 * {@code engine.attentionWithPooledTarget}) per query-block row, k = max(1, int((1 − √(1 − density)) · nb)), plus
 * the diagonal block, causal lower triangle. An upper bound for what a gate can select at that density.
 */
public final class OracleSelection implements BlockSelector {
    private final Engine engine;
    private final int blockSize;
    private final SelectionRule rule;

    public OracleSelection(Engine engine, double density, int blockSize) {
        if (engine == null) {
            throw new IllegalArgumentException("engine must not be null");
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be > 0, got " + blockSize);
        }
        this.engine = engine;
        this.blockSize = blockSize;
        this.rule = new SelectionRule.TopK(density, false, true);
    }

    @Override
    public BlockMask select(int layer, LayerAttention in) {
        AttentionShape shape = in.shape();
        int nb = shape.blocks(blockSize);
        float[] dense = new float[shape.qElements()];
        float[] target = new float[HeapBudget.floatArray("the pooled attention [B, Hq, nb, nb] at N = "
                + shape.seqLen(), Checks.blockMap(shape.batch(), shape.qHeads(), nb))];
        engine.attentionWithPooledTarget(in.q(), in.k(), in.v(), dense, target, shape, blockSize, in.scale());
        return engine.select(target, shape.batch(), shape.qHeads(), nb, rule);
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public String name() {
        return "oracle";
    }
}
