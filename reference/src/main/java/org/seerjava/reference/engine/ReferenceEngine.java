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
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenPrefill;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.decode.DecodeGate;
import org.seerjava.reference.decode.DecodeSelection;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.decode.DecodeTarget;
import org.seerjava.reference.decode.KCompressionCache;
import org.seerjava.reference.decode.SparseDecodeAttention;

/**
 * The reference as an {@link Engine} and {@link DecodeOps}: float32 in and out, float64 inside. Slow, exact, always
 * available. Arguments are checked by {@link EngineArgs}, as in every engine.
 */
public final class ReferenceEngine implements Engine, DecodeOps {
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
    public BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
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

    // ---- varlen batches: the definitions of VarlenPrefill, each sequence in float64, rounded once --------------------

    @Override
    public void poolVarlen(float[] x, float[] out, VarlenBatch batch, int heads, int dim, int blockSize,
                           List<Pool> pools) {
        ARGS.poolVarlen(x, out, batch, heads, dim, blockSize, pools);
        double[] result = new double[out.length];
        VarlenPrefill.pool(Floats.toDouble(x), result, batch, heads, dim, blockSize, pools);
        Floats.copyInto(result, out);
    }

    @Override
    public void gateScoresVarlen(float[] q, float[] k, float[] wq, float[] wk, float[] out, VarlenShape shape,
                                 GateConfig config, boolean softmax) {
        ARGS.gateScoresVarlen(q, k, wq, wk, out, shape, config);
        double[] result = new double[out.length];
        VarlenPrefill.gateScores(Floats.toDouble(q), Floats.toDouble(k), wq == null ? null : Floats.toDouble(wq),
                Floats.toDouble(wk), result, shape, config, softmax);
        Floats.copyInto(result, out);
    }

    @Override
    public List<BlockMask> selectVarlen(float[] scores, VarlenBatch batch, int heads, int blockSize,
                                        SelectionRule rule) {
        ARGS.selectVarlen(scores, batch, heads, blockSize, rule);
        return VarlenPrefill.select(Floats.toDouble(scores), batch, heads, blockSize, rule);
    }

    @Override
    public void denseCausalVarlen(float[] q, float[] k, float[] v, float[] out, VarlenShape shape, double scale) {
        ARGS.denseCausalVarlen(q, k, v, out, shape, scale);
        double[] result = new double[out.length];
        VarlenPrefill.denseCausal(Floats.toDouble(q), Floats.toDouble(k), Floats.toDouble(v), result, shape, scale);
        Floats.copyInto(result, out);
    }

    @Override
    public void blockSparseVarlen(float[] q, float[] k, float[] v, List<BlockMask> masks, float[] out,
                                  VarlenShape shape, int blockSize, double scale) {
        ARGS.blockSparseVarlen(q, k, v, masks, out, shape, blockSize, scale);
        double[] result = new double[out.length];
        VarlenPrefill.blockSparse(Floats.toDouble(q), Floats.toDouble(k), Floats.toDouble(v), masks, result, shape,
                blockSize, scale);
        Floats.copyInto(result, out);
    }

    @Override
    public void attentionWithPooledTargetVarlen(float[] q, float[] k, float[] v, float[] out, float[] target,
                                                VarlenShape shape, int blockSize, double scale) {
        ARGS.attentionWithPooledTargetVarlen(q, k, v, out, target, shape, blockSize, scale);
        double[] q64 = Floats.toDouble(q);
        double[] k64 = Floats.toDouble(k);
        double[] result = new double[out.length];
        double[] map = new double[target.length];
        VarlenPrefill.denseCausal(q64, k64, Floats.toDouble(v), result, shape, scale);
        VarlenPrefill.pooledTarget(q64, k64, map, shape, blockSize, scale);
        Floats.copyInto(result, out);
        Floats.copyInto(map, target);
    }

    // ---- SeerAttention-R decoding -------------------------------------------------------------------------------

    @Override
    public void decodeGateQuery(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position) {
        ARGS.decodeGateQuery(gate, qNope, qGate, batch, position);
        Floats.copyInto(gate.toReference().query(Floats.toDouble(qNope), batch, position), qGate);
    }

    @Override
    public void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                               int[] blockPositions) {
        ARGS.compressedKeys(gate, kNope, out, batch, seqLen, blockPositions);
        Floats.copyInto(gate.toReference().compressedKeys(Floats.toDouble(kNope), batch, seqLen, blockPositions), out);
    }

    @Override
    public void decodeGateScores(DecodeGateWeights gate, float[] qGate, float[] kCompressed,
                                 boolean[] blockAttentionMask, float[] out, int batch, int blocks, boolean softmax) {
        ARGS.decodeGateScores(gate, qGate, kCompressed, blockAttentionMask, out, batch, blocks);
        DecodeGate g = gate.toReference();
        double[] qg = Floats.toDouble(qGate);
        double[] kc = Floats.toDouble(kCompressed);
        Floats.copyInto(softmax ? g.scores(qg, kc, batch, blocks, blockAttentionMask)
                : g.logits(qg, kc, batch, blocks, blockAttentionMask), out);
    }

    @Override
    public boolean[] decodeSelect(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                                  boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        ARGS.decodeSelect(scores, batch, kvHeads, blocks, blockSize, blockAttentionMask, rule);
        return DecodeSelection.select(Floats.toDouble(scores), batch, kvHeads, blocks, blockSize, blockAttentionMask,
                rule);
    }

    @Override
    public void sparseDecode(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask,
                             float[] out, AttentionShape shape, int blockSize, double scale) {
        ARGS.sparseDecode(q, kCache, vCache, cacheSeqLens, mask, out, shape, blockSize, scale);
        double[] result = new double[out.length];
        SparseDecodeAttention.forward(Floats.toDouble(q), Floats.toDouble(kCache), Floats.toDouble(vCache),
                cacheSeqLens, mask, result, shape, blockSize, scale);
        Floats.copyInto(result, out);
    }

    @Override
    public void sparseDecodeRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out,
                                 AttentionShape shape, int blockSize, double scale) {
        ARGS.sparseDecodeRows(q, k, v, mask, from, out, shape, blockSize, scale);
        double[] result = Floats.toDouble(out);
        SparseDecodeAttention.forwardRows(Floats.toDouble(q), Floats.toDouble(k), Floats.toDouble(v), mask, from,
                result, shape, blockSize, scale);
        Floats.copyInto(result, out);
    }

    @Override
    public void attentionWithDecodeTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        ARGS.attentionWithDecodeTarget(q, k, v, out, target, shape, blockSize, scale);
        double[] q64 = Floats.toDouble(q);
        double[] k64 = Floats.toDouble(k);
        double[] result = new double[out.length];
        double[] map = new double[target.length];
        DenseAttention.causal(q64, k64, Floats.toDouble(v), result, shape, scale);
        DecodeTarget.compute(q64, k64, map, shape, blockSize, scale);
        Floats.copyInto(result, out);
        Floats.copyInto(map, target);
    }

    @Override
    public CompressedKeyCache kCompressionCache(DecodeGateWeights gate, int batch, int capacity) {
        return new ReferenceKeyCache(gate, batch, capacity);
    }

    /** {@link KCompressionCache} (float64) behind the float32 {@link CompressedKeyCache} interface. */
    private static final class ReferenceKeyCache implements CompressedKeyCache {
        private final DecodeGateWeights weights;
        private final DecodeGate gate;
        private final int batch;
        private final int capacity;
        private KCompressionCache cache;

        ReferenceKeyCache(DecodeGateWeights weights, int batch, int capacity) {
            if (weights == null) {
                throw new IllegalArgumentException("decode gate weights must not be null");
            }
            org.seerjava.reference.Checks.positive("batch", batch);
            org.seerjava.reference.Checks.positive("capacity", capacity);
            this.weights = weights;
            this.gate = weights.toReference();
            this.batch = batch;
            this.capacity = capacity;
            this.cache = new KCompressionCache(gate, batch);
        }

        @Override
        public DecodeGateWeights gate() {
            return weights;
        }

        @Override
        public int batch() {
            return batch;
        }

        @Override
        public int capacity() {
            return capacity;
        }

        @Override
        public int length() {
            return cache.length();
        }

        @Override
        public int blocks() {
            return cache.blocks();
        }

        @Override
        public int remainderLength() {
            return cache.remainderLength();
        }

        @Override
        public void prefill(float[] kNope, int seqLen) {
            if (seqLen > capacity) {
                throw new IllegalArgumentException("a prefill of " + seqLen + " tokens exceeds the cache's capacity of "
                        + capacity);
            }
            cache.prefill(Floats.toDouble(kNope), seqLen);
        }

        @Override
        public void push(float[] kNope) {
            if (cache.length() >= capacity) {
                throw new IllegalStateException("the K-compression cache is full (" + capacity + " tokens)");
            }
            cache.push(Floats.toDouble(kNope));
        }

        @Override
        public float[] compressed() {
            return Floats.toFloat(cache.compressed());
        }

        @Override
        public void scores(float[] qGate, boolean[] blockAttentionMask, float[] out) {
            if (cache.blocks() == 0) {
                throw new IllegalStateException("the cache is empty: prefill or push a token first");
            }
            ARGS.decodeGateScores(weights, qGate, compressed(), blockAttentionMask, out, batch, cache.blocks());
            Floats.copyInto(cache.scores(Floats.toDouble(qGate), blockAttentionMask), out);
        }

        @Override
        public void reset() {
            cache = new KCompressionCache(gate, batch);
        }
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
