package org.seerjava.cpu;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.DecodeOps;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineArgs;
import org.seerjava.reference.engine.EngineProvider;

/**
 * The Vector API engine: every SeerAttention operation and the SeerAttention-R decode operations ({@link DecodeOps}),
 * tiled and multi-threaded on the project's thread pool
 * ({@link Parallel}). Same semantics as the reference ({@link org.seerjava.reference.engine.ReferenceEngine}) and
 * the same argument checks ({@link EngineArgs}); float32 throughout.
 *
 * <p>Settings: {@code -Dseer.cpu.species=128|256|512|preferred} (vector width), {@code -Dseer.threads=N} (the
 * pool's size; default: the available processors). Needs {@code --add-modules jdk.incubator.vector}. Dense attention
 * runs faster with {@code -XX:ObjectAlignmentInBytes=64} (tiles on cache lines; see {@code Vec} and
 * docs/PERFORMANCE.md); results are the same bits either way.
 */
public final class CpuEngine implements Engine, DecodeOps {
    private static final System.Logger LOG = System.getLogger("org.seerjava.cpu");
    /**
     * The shared argument checks, values scanned by {@link Vec#maxAbsFinite} (vectorised, parallel); q, k and v of the
     * attention operations are scanned by {@link FlashAttention} while it packs them, before any output is written.
     */
    static final EngineArgs ARGS = new EngineArgs(Vec::maxAbsFinite, EngineArgs.SCANNED_BY_KERNEL);

    /** Creates the engine and logs its species and thread count. */
    public CpuEngine() {
        LOG.log(System.Logger.Level.DEBUG, () -> "cpu engine: " + description());
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "Vector API " + Vec.F + " (" + Vec.F.vectorBitSize() + "-bit, " + Vec.L + " floats), "
                + Parallel.threads() + " threads, " + (Vec.TILE_OFFSET > 0
                        ? "tiles aligned (offset " + Vec.TILE_OFFSET + " floats)"
                        : "tiles not aligned (-XX:ObjectAlignmentInBytes=" + Vec.F.vectorByteSize() + " aligns them)");
    }

    /** The vector width in bits. */
    public static int vectorBits() {
        return Vec.F.vectorBitSize();
    }

    /** The worker thread count. */
    public static int threads() {
        return Parallel.threads();
    }

    @Override
    public void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        ARGS.pool(x, out, batch, seqLen, heads, dim, blockSize, pools);
        CpuPooling.pool(x, out, batch, seqLen, heads, dim, blockSize, pools);
    }

    @Override
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config, boolean softmax) {
        ARGS.gateScores(q, k, wq, wk, out, shape, config);
        CpuGate.scores(q, k, wq, wk, out, shape, config, softmax);
    }

    @Override
    public BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        ARGS.select(scores, batch, heads, blocks, rule);
        return CpuSelection.select(scores, batch, heads, blocks, rule);
    }

    @Override
    public void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        ARGS.denseCausal(q, k, v, out, shape, scale);
        FlashAttention.run(q, k, v, out, null, shape, 64, scale, null);
    }

    @Override
    public void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                            int blockSize, double scale) {
        ARGS.blockSparse(q, k, v, mask, out, shape, blockSize, scale);
        FlashAttention.run(q, k, v, out, null, shape, blockSize, scale, mask);
    }

    @Override
    public void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        ARGS.attentionWithPooledTarget(q, k, v, out, target, shape, blockSize, scale);
        FlashAttention.run(q, k, v, out, target, shape, blockSize, scale, null);
    }

    @Override
    public double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads,
                                   int blocks) {
        ARGS.distillationLoss(logits, target, dLogits, batch, heads, blocks);
        return CpuDistillation.klMean(logits, target, dLogits, batch, heads, blocks);
    }

    // ---- varlen batches (docs/SPEC.md §11): the packed rows read in place, every sequence in one parallel loop ----

    @Override
    public void poolVarlen(float[] x, float[] out, VarlenBatch batch, int heads, int dim, int blockSize,
                           List<Pool> pools) {
        ARGS.poolVarlen(x, out, batch, heads, dim, blockSize, pools);
        CpuPooling.pool(x, out, Sequences.of(batch, blockSize), heads, dim, pools);
    }

    @Override
    public void gateScoresVarlen(float[] q, float[] k, float[] wq, float[] wk, float[] out, VarlenShape shape,
                                 GateConfig config, boolean softmax) {
        ARGS.gateScoresVarlen(q, k, wq, wk, out, shape, config);
        CpuGate.scoresVarlen(q, k, wq, wk, out, shape, config, softmax);
    }

    @Override
    public List<BlockMask> selectVarlen(float[] scores, VarlenBatch batch, int heads, int blockSize,
                                        SelectionRule rule) {
        ARGS.selectVarlen(scores, batch, heads, blockSize, rule);
        return CpuSelection.selectVarlen(scores, Sequences.of(batch, blockSize), heads, rule);
    }

    @Override
    public void denseCausalVarlen(float[] q, float[] k, float[] v, float[] out, VarlenShape shape, double scale) {
        ARGS.denseCausalVarlen(q, k, v, out, shape, scale);
        FlashAttention.runVarlen(q, k, v, out, null, shape, 64, scale, null);
    }

    @Override
    public void blockSparseVarlen(float[] q, float[] k, float[] v, List<BlockMask> masks, float[] out,
                                  VarlenShape shape, int blockSize, double scale) {
        ARGS.blockSparseVarlen(q, k, v, masks, out, shape, blockSize, scale);
        FlashAttention.runVarlen(q, k, v, out, null, shape, blockSize, scale, masks);
    }

    @Override
    public void attentionWithPooledTargetVarlen(float[] q, float[] k, float[] v, float[] out, float[] target,
                                                VarlenShape shape, int blockSize, double scale) {
        ARGS.attentionWithPooledTargetVarlen(q, k, v, out, target, shape, blockSize, scale);
        FlashAttention.runVarlen(q, k, v, out, target, shape, blockSize, scale, null);
    }

    @Override
    public void decodeGateQuery(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position) {
        ARGS.decodeGateQuery(gate, qNope, qGate, batch, position);
        CpuDecodeGate.query(gate, qNope, qGate, batch, position);
    }

    @Override
    public void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                               int[] blockPositions) {
        ARGS.compressedKeys(gate, kNope, out, batch, seqLen, blockPositions);
        CpuDecodeGate.compressedKeys(gate, kNope, out, batch, seqLen, blockPositions);
    }

    @Override
    public void decodeGateScores(DecodeGateWeights gate, float[] qGate, float[] kCompressed,
                                 boolean[] blockAttentionMask, float[] out, int batch, int blocks, boolean softmax) {
        ARGS.decodeGateScores(gate, qGate, kCompressed, blockAttentionMask, out, batch, blocks);
        CpuDecodeGate.scores(gate, qGate, kCompressed, blocks * gate.kvHeads() * gate.hiddenSize(),
                blockAttentionMask, out, batch, blocks, softmax);
    }

    @Override
    public boolean[] decodeSelect(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                                  boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        ARGS.decodeSelect(scores, batch, kvHeads, blocks, blockSize, blockAttentionMask, rule);
        return CpuDecodeSelection.select(scores, batch, kvHeads, blocks, blockSize, blockAttentionMask, rule);
    }

    @Override
    public void sparseDecode(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask,
                             float[] out, AttentionShape shape, int blockSize, double scale) {
        ARGS.sparseDecode(q, kCache, vCache, cacheSeqLens, mask, out, shape, blockSize, scale);
        float maxQ = Vec.maxAbsFinite("q", q);    // the attention scans are left to the engine (SCANNED_BY_KERNEL)
        float maxK = Vec.maxAbsFinite("kCache", kCache);
        float maxV = Vec.maxAbsFinite("vCache", vCache);
        EngineArgs.attentionRange(shape, scale, maxQ, maxK, maxV);
        CpuSparseDecodeAttention.forward(q, kCache, vCache, cacheSeqLens, mask, out, shape, blockSize, scale);
    }

    @Override
    public void sparseDecodeRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out,
                                 AttentionShape shape, int blockSize, double scale) {
        ARGS.sparseDecodeRows(q, k, v, mask, from, out, shape, blockSize, scale);
        float maxQ = Vec.maxAbsFinite("q", q);
        float maxK = Vec.maxAbsFinite("k", k);
        float maxV = Vec.maxAbsFinite("v", v);
        EngineArgs.attentionRange(shape, scale, maxQ, maxK, maxV);
        CpuSparseDecodeAttention.forwardRows(q, k, v, mask, from, out, shape, blockSize, scale);
    }

    @Override
    public void attentionWithDecodeTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        ARGS.attentionWithDecodeTarget(q, k, v, out, target, shape, blockSize, scale);
        CpuDecodeTarget.attentionWithTarget(q, k, v, out, target, shape, blockSize, scale);
    }

    @Override
    public CompressedKeyCache kCompressionCache(DecodeGateWeights gate, int batch, int capacity) {
        return new CpuKCompressionCache(gate, batch, capacity);
    }

    /** Registers the CPU engine with {@link org.seerjava.reference.engine.Engines} (priority 10). */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "cpu";
        }

        @Override
        public int priority() {
            return 10;
        }

        @Override
        public String unavailableReason() {
            return VectorApi.unavailableReason();      // without initialising CpuEngine, which needs the module
        }

        @Override
        public Engine create() {
            return new CpuEngine();
        }
    }
}
