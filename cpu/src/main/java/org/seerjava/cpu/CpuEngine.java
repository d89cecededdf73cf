package org.seerjava.cpu;

import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineArgs;
import org.seerjava.reference.engine.EngineProvider;

/**
 * The Vector API engine: every SeerAttention operation, tiled and multi-threaded on the project's thread pool
 * ({@link Parallel}). Same semantics as the reference ({@link org.seerjava.reference.engine.ReferenceEngine}) and
 * the same argument checks ({@link EngineArgs}); float32 throughout.
 *
 * <p>Settings: {@code -Dseer.cpu.species=128|256|512|preferred} (vector width), {@code -Dseer.threads=N} (the
 * pool's size; default: the available processors). Needs {@code --add-modules jdk.incubator.vector}. Dense attention
 * runs faster with {@code -XX:ObjectAlignmentInBytes=64} (tiles on cache lines; see {@code Vec} and
 * docs/PERFORMANCE.md); results are the same bits either way.
 */
public final class CpuEngine implements Engine {
    private static final System.Logger LOG = System.getLogger("org.seerjava.cpu");
    /**
     * The shared argument checks, values scanned by {@link Vec#maxAbsFinite} (vectorised, parallel); q, k and v of the
     * attention operations are scanned by {@link FlashAttention} while it packs them, before any output is written.
     */
    private static final EngineArgs ARGS = new EngineArgs(Vec::maxAbsFinite, EngineArgs.SCANNED_BY_KERNEL);

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
