package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.BlockSelection;
import org.seerjava.reference.BlockSparseAttention;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.DistillationLoss;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.PooledAttentionTarget;
import org.seerjava.reference.Pooling;

/**
 * The reference as an {@link Engine}: float32 in and out, float64 inside. Slow, exact, always available. Arguments
 * are checked by {@link EngineArgs}, as in every engine.
 */
public final class ReferenceEngine implements Engine {
    private static final EngineArgs ARGS = EngineArgs.SCALAR;

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public String description() {
        return "scalar float64 reference, 1 thread";
    }

    @Override
    public void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        ARGS.pool(x, out, batch, seqLen, heads, dim, blockSize, pools);
        double[] result = new double[out.length];
        Pooling.pool(Floats.toDouble(x), result, batch, seqLen, heads, dim, blockSize, pools);
        Floats.copyInto(result, out);
    }

    @Override
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config, boolean softmax) {
        ARGS.gateScores(q, k, wq, wk, out, shape, config);
        AttnGate gate = new AttnGate(shape, config, wq == null ? null : Floats.toDouble(wq), Floats.toDouble(wk));
        AttnGate.Forward f = gate.forward(Floats.toDouble(q), Floats.toDouble(k));
        double[] result = softmax ? AttnGate.softmaxRows(f.logits(), f.blocks()) : f.logits();
        Floats.copyInto(result, out);
    }

    @Override
    public BlockMask select(float[] scores, int batch, int heads, int blocks,
                            org.seerjava.reference.SelectionRule rule) {
        ARGS.select(scores, batch, heads, blocks, rule);
        return BlockSelection.select(Floats.toDouble(scores), batch, heads, blocks, rule);
    }

    @Override
    public void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        ARGS.denseCausal(q, k, v, out, shape, scale);
        double[] result = new double[out.length];
        DenseAttention.causal(Floats.toDouble(q), Floats.toDouble(k), Floats.toDouble(v), result, shape, scale);
        Floats.copyInto(result, out);
    }

    @Override
    public void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                            int blockSize, double scale) {
        ARGS.blockSparse(q, k, v, mask, out, shape, blockSize, scale);
        double[] result = new double[out.length];
        BlockSparseAttention.forward(Floats.toDouble(q), Floats.toDouble(k), Floats.toDouble(v), mask, result,
                shape, blockSize, scale);
        Floats.copyInto(result, out);
    }

    @Override
    public void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        ARGS.attentionWithPooledTarget(q, k, v, out, target, shape, blockSize, scale);
        double[] q64 = Floats.toDouble(q);
        double[] k64 = Floats.toDouble(k);
        double[] result = new double[out.length];
        double[] map = new double[target.length];
        DenseAttention.causal(q64, k64, Floats.toDouble(v), result, shape, scale);
        PooledAttentionTarget.compute(q64, k64, map, shape, blockSize, scale);
        Floats.copyInto(result, out);
        Floats.copyInto(map, target);
    }

    @Override
    public double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads,
                                   int blocks) {
        ARGS.distillationLoss(logits, target, dLogits, batch, heads, blocks);
        double[] grad = dLogits == null ? null : new double[dLogits.length];
        double loss = DistillationLoss.klMean(Floats.toDouble(logits), Floats.toDouble(target), batch, heads,
                blocks, grad);
        if (grad != null) {
            Floats.copyInto(grad, dLogits);
        }
        return loss;
    }

    /** Registers the reference with {@link Engines}. */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "reference";
        }

        @Override
        public int priority() {
            return 0;
        }

        @Override
        public String unavailableReason() {
            return null;
        }

        @Override
        public Engine create() {
            return new ReferenceEngine();
        }
    }
}
