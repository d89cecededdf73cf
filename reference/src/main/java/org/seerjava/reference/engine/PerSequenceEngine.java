package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;

/**
 * Another engine's single-sequence operations with the interfaces' default varlen methods: each sequence of a varlen
 * batch is copied out, run alone by that engine and copied back (docs/SPEC.md §11.2), which is what an engine without
 * varlen kernels does. Tests and benchmarks hold an engine's own varlen operations against it.
 */
public final class PerSequenceEngine implements Engine {
    private final Engine engine;

    /** The single-sequence operations of {@code engine}. */
    public PerSequenceEngine(Engine engine) {
        if (engine == null) {
            throw new IllegalArgumentException("engine must not be null");
        }
        this.engine = engine;
    }

    @Override
    public String name() {
        return engine.name() + " (one sequence at a time)";
    }

    @Override
    public String description() {
        return engine.description() + "; varlen batches one sequence at a time";
    }

    @Override
    public void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        engine.pool(x, out, batch, seqLen, heads, dim, blockSize, pools);
    }

    @Override
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config, boolean softmax) {
        engine.gateScores(q, k, wq, wk, out, shape, config, softmax);
    }

    @Override
    public BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        return engine.select(scores, batch, heads, blocks, rule);
    }

    @Override
    public void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        engine.denseCausal(q, k, v, out, shape, scale);
    }

    @Override
    public void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                            int blockSize, double scale) {
        engine.blockSparse(q, k, v, mask, out, shape, blockSize, scale);
    }

    @Override
    public void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        engine.attentionWithPooledTarget(q, k, v, out, target, shape, blockSize, scale);
    }

    @Override
    public double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads,
                                   int blocks) {
        return engine.distillationLoss(logits, target, dLogits, batch, heads, blocks);
    }
}
