package org.seerjava.gate;

import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;

/**
 * SeerAttention's selection: per layer, the gate's softmax scores on the pre-RoPE projections
 * ({@code engine.gateScores}), then the selection rule ({@code engine.select}). The default rule for a density is
 * top-k per query-block row, k = max(1, int((1 − √(1 − density)) · nb)), plus the diagonal block, causal lower
 * triangle, no forced last rows: {@code SelectionRule.TopK(density, false, true)}. The last scores of each layer are
 * kept for inspection.
 */
public final class GateSelection implements BlockSelector {
    private final Engine engine;
    private final GateSet gates;
    private final SelectionRule rule;
    private final float[][] wq;
    private final float[][] wk;
    private final float[][] lastScores;

    /** A selector with a snapshot (float32) of the gates' current weights. */
    public GateSelection(Engine engine, GateSet gates, SelectionRule rule) {
        if (engine == null || gates == null || rule == null) {
            throw new IllegalArgumentException("engine, gates and rule must not be null");
        }
        this.engine = engine;
        this.gates = gates;
        this.rule = rule;
        int layers = gates.size();
        this.wq = new float[layers][];
        this.wk = new float[layers][];
        this.lastScores = new float[layers][];
        for (int i = 0; i < layers; i++) {
            wq[i] = gates.layer(i).wqFloats();
            wk[i] = gates.layer(i).wkFloats();
        }
    }

    /** Top-k at a density, with the diagonal block, causal, no forced last rows. */
    public static GateSelection topK(Engine engine, GateSet gates, double density) {
        return new GateSelection(engine, gates, new SelectionRule.TopK(density, false, true));
    }

    @Override
    public BlockMask select(int layer, LayerAttention in) {
        AttentionShape shape = in.shape();
        GateSpec spec = gates.spec();
        if (layer < 0 || layer >= gates.size()) {
            throw new IllegalArgumentException("layer " + layer + " has no gate: the gate set has " + gates.size()
                    + " layers");
        }
        if (shape.qHeads() != spec.qHeads() || shape.kvHeads() != spec.kvHeads()
                || shape.headDim() != spec.headDim()) {
            throw new IllegalArgumentException("gates were made for Hq = " + spec.qHeads() + ", Hkv = "
                    + spec.kvHeads() + ", D = " + spec.headDim() + ", but layer " + layer + " has " + shape);
        }
        int nb = shape.blocks(spec.blockSize());
        float[] scores = new float[HeapBudget.floatArray("gate scores [B, Hq, nb, nb] at N = " + shape.seqLen(),
                Checks.blockMap(shape.batch(), shape.qHeads(), nb))];
        engine.gateScores(in.qPre(), in.kPre(), wq[layer], wk[layer], scores, shape, spec.gate(), true);
        lastScores[layer] = scores;
        return engine.select(scores, shape.batch(), shape.qHeads(), nb, rule);
    }

    /** The softmax scores {@code [1, Hq, nb, nb]} of the last call for a layer (null before). */
    public float[] lastScores(int layer) {
        return lastScores[layer];
    }

    public SelectionRule rule() {
        return rule;
    }

    @Override
    public int blockSize() {
        return gates.spec().blockSize();
    }

    @Override
    public String name() {
        return "gate";
    }
}
