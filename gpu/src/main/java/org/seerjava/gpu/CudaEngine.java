package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.seerjava.gpu.graph.DataTransferMode;
import org.seerjava.gpu.graph.ExecutionPlan;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
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
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.io.DType;

/**
 * The CUDA engine: every operation of {@link Engine} and the SeerAttention-R decode operations ({@link DecodeOps})
 * on float32 arrays, run by the fp32 kernels (copied to the GPU, computed, copied back) so that it matches the
 * reference to float32 rounding. The KL loss is small and computed on the host by the reference. The bf16
 * tensor-core path is used through {@link Prefill} and task graphs, and the model runtime's bf16 sparse decoding
 * through {@link DecodeKernels}. Arguments are checked on the host by {@link EngineArgs}, as in every engine, before
 * anything is copied to the GPU.
 *
 * <p>Varlen batches (docs/SPEC.md §11): pooling and the three attention operations run the packed batch in one launch
 * of their fp32 varlen kernel ({@link CudaVarlen}), every sequence's query blocks in one grid; the gate and selection
 * run each sequence in turn (the interfaces' default methods). A left-padded batch runs as its varlen form
 * ({@link org.seerjava.reference.LeftPadding}: unpad, the varlen operation, pad).
 */
public final class CudaEngine implements Engine, DecodeOps {
    private static final EngineArgs ARGS = EngineArgs.SCALAR;
    private final CudaContext context;
    private final ReferenceEngine host = new ReferenceEngine();

    public CudaEngine() {
        this.context = CudaContext.get();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return context.toString() + ", kernels for " + context.architecture();
    }

    static void copyBack(Tensor t, float[] out) {
        java.lang.foreign.MemorySegment.copy(t.host(), ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
    }

    static Tensor input(Arena a, String name, float[] x, long... shape) {
        return Tensor.of(name, DType.F32, shape).withHost(a.allocateFrom(ValueLayout.JAVA_FLOAT, x));
    }

    static Tensor output(Arena a, String name, long... shape) {
        Tensor t = Tensor.of(name, DType.F32, shape);
        return t.withHost(a.allocate(t.bytes(), 8));
    }

    static void run(TaskGraph tg) {
        try (ExecutionPlan plan = new ExecutionPlan(tg.snapshot())) {
            plan.execute();
        }
    }

    @Override
    public void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                     List<Pool> pools) {
        ARGS.pool(x, out, batch, seqLen, heads, dim, blockSize, pools);
        int nb = Math.ceilDiv(seqLen, blockSize);
        try (Arena a = Arena.ofConfined()) {
            Tensor xt = input(a, "x", x, batch, seqLen, heads, dim);
            Tensor ot = output(a, "out", batch, nb, heads, (long) dim * pools.size());
            TaskGraph tg = new TaskGraph("pool")
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, xt)
                    .task("pool", SeerKernels.POOL_F32, Launch.linear((long) batch * nb * heads * dim, 256), xt, ot,
                            batch, seqLen, heads, dim, blockSize, SeerKernels.poolBits(pools))
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, ot);
            run(tg);
            copyBack(ot, out);
        }
    }

    @Override
    public void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                           GateConfig config, boolean softmax) {
        ARGS.gateScores(q, k, wq, wk, out, shape, config);
        int nb = shape.blocks(config.blockSize());
        try (Arena a = Arena.ofConfined()) {
            Tensor qt = input(a, "q", q, shape.batch(), shape.seqLen(), shape.qHeads(), shape.headDim());
            Tensor kt = input(a, "k", k, shape.batch(), shape.seqLen(), shape.kvHeads(), shape.headDim());
            TaskGraph tg = new TaskGraph("gate").transferToDevice(DataTransferMode.EVERY_EXECUTION, qt, kt);
            GateTasks.Gate g = GateTasks.add(tg, a, qt, kt, wq, wk, shape, config);
            long rows = (long) shape.batch() * shape.qHeads() * nb;
            if (softmax) {
                tg.task("softmax", SeerKernels.SOFTMAX, SeerKernels.warpPerRow(rows), g.logits(), rows, nb);
            }
            g.logits().withHost(a.allocate(g.logits().bytes(), 8));
            tg.transferToHost(DataTransferMode.EVERY_EXECUTION, g.logits());
            run(tg);
            copyBack(g.logits(), out);
        }
    }

    @Override
    public BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        ARGS.select(scores, batch, heads, blocks, rule);
        long rows = (long) batch * heads * blocks;
        try (Arena a = Arena.ofConfined()) {
            Tensor st = input(a, "scores", scores, batch, heads, blocks, blocks);
            Tensor mt = Tensor.of("mask", DType.U8, batch, heads, blocks, blocks);
            mt.withHost(a.allocate(mt.bytes()));
            TaskGraph tg = new TaskGraph("select").transferToDevice(DataTransferMode.EVERY_EXECUTION, st);
            switch (rule) {
                case SelectionRule.Threshold t -> tg.task("threshold", SeerKernels.SELECT_THRESHOLD,
                        SeerKernels.warpPerRow(rows), st, mt, rows, blocks, t.threshold(), 0,
                        t.lastBlockDense() ? 1 : 0, t.keepDiagonal() ? 1 : 0);
                case SelectionRule.TopK t -> tg.task("topk", SeerKernels.topK(blocks),
                        SeerKernels.topKLaunch(rows, blocks), SeerKernels.topKArgs(st, mt, rows, blocks, t.k(blocks),
                                t.lastBlockDense(), t.keepDiagonal(), false));
            }
            tg.transferToHost(DataTransferMode.EVERY_EXECUTION, mt);
            run(tg);
            return BlockMask.of(batch, heads, blocks, mt.host().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Override
    public void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape, double scale) {
        ARGS.denseCausal(q, k, v, out, shape, scale);
        attention(AttentionKernel.DENSE_F32, q, k, v, null, out, null, shape, 64, scale);
    }

    @Override
    public void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out, AttentionShape shape,
                            int blockSize, double scale) {
        ARGS.blockSparse(q, k, v, mask, out, shape, blockSize, scale);
        attention(AttentionKernel.SPARSE_F32, q, k, v, mask, out, null, shape, blockSize, scale);
    }

    @Override
    public void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        ARGS.attentionWithPooledTarget(q, k, v, out, target, shape, blockSize, scale);
        attention(AttentionKernel.TARGET_F32, q, k, v, null, out, target, shape, blockSize, scale);
    }

    private void attention(AttentionKernel kernel, float[] q, float[] k, float[] v, BlockMask mask, float[] out, float[] target,
                           AttentionShape shape, int block, double scale) {
        int B = shape.batch();
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int nb = shape.blocks(block);
        try (Arena a = Arena.ofConfined()) {
            Tensor qt = input(a, "q", q, B, N, Hq, D);
            Tensor kt = input(a, "k", k, B, N, Hkv, D);
            Tensor vt = input(a, "v", v, B, N, Hkv, D);
            Tensor ot = output(a, "out", B, N, Hq, D);
            TaskGraph tg = new TaskGraph("attention." + kernel)
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, qt, kt, vt);
            var spec = kernel.spec(D, block, 0);
            var launch = kernel.launch(nb, Hq, B, D, block, 0);
            float sc = (float) scale;
            Tensor tt = null;
            switch (kernel.op()) {
                case SPARSE -> {
                    Tensor mt = Tensor.of("mask", DType.U8, B, Hq, nb, nb)
                            .withHost(a.allocateFrom(ValueLayout.JAVA_BYTE, mask.toBytes()));
                    tg.transferToDevice(DataTransferMode.EVERY_EXECUTION, mt)
                            .task("attention", spec, launch, qt, kt, vt, mt, ot, N, Hq, Hkv, nb, sc);
                }
                case DENSE -> tg.task("attention", spec, launch, qt, kt, vt, ot, N, Hq, Hkv, nb, sc);
                case DENSE_TARGET -> {
                    Tensor rowmax = Tensor.of("rowmax", DType.F32, (long) B * Hq * nb * block, nb);
                    tt = output(a, "target", B, Hq, nb, nb);
                    tg.task("attention", spec, launch, qt, kt, vt, ot, rowmax, tt, N, Hq, Hkv, nb, sc)
                            .transferToHost(DataTransferMode.EVERY_EXECUTION, tt);
                }
            }
            tg.transferToHost(DataTransferMode.EVERY_EXECUTION, ot);
            run(tg);
            copyBack(ot, out);
            if (tt != null) {
                copyBack(tt, target);
            }
        }
    }

    // ---- varlen batches (docs/SPEC.md §11): one launch over the packed batch, the offsets on the device ------------

    @Override
    public void poolVarlen(float[] x, float[] out, VarlenBatch batch, int heads, int dim, int blockSize,
                           List<Pool> pools) {
        ARGS.poolVarlen(x, out, batch, heads, dim, blockSize, pools);
        CudaVarlen.pool(x, out, batch, heads, dim, blockSize, pools);
    }

    @Override
    public void denseCausalVarlen(float[] q, float[] k, float[] v, float[] out, VarlenShape shape, double scale) {
        ARGS.denseCausalVarlen(q, k, v, out, shape, scale);
        CudaVarlen.attention(AttentionKernel.Op.DENSE, q, k, v, null, out, null, shape, 64, scale);
    }

    @Override
    public void blockSparseVarlen(float[] q, float[] k, float[] v, List<BlockMask> masks, float[] out,
                                  VarlenShape shape, int blockSize, double scale) {
        ARGS.blockSparseVarlen(q, k, v, masks, out, shape, blockSize, scale);
        CudaVarlen.attention(AttentionKernel.Op.SPARSE, q, k, v, masks, out, null, shape, blockSize, scale);
    }

    @Override
    public void attentionWithPooledTargetVarlen(float[] q, float[] k, float[] v, float[] out, float[] target,
                                                VarlenShape shape, int blockSize, double scale) {
        ARGS.attentionWithPooledTargetVarlen(q, k, v, out, target, shape, blockSize, scale);
        CudaVarlen.attention(AttentionKernel.Op.DENSE_TARGET, q, k, v, null, out, target, shape, blockSize, scale);
    }

    @Override
    public double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads, int blocks) {
        ARGS.distillationLoss(logits, target, dLogits, batch, heads, blocks);
        return host.distillationLoss(logits, target, dLogits, batch, heads, blocks);
    }

    // ---- SeerAttention-R decoding (decode_gate.cu, decode_fp32.cu) ---------------------------------------------

    @Override
    public void decodeGateQuery(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position) {
        ARGS.decodeGateQuery(gate, qNope, qGate, batch, position);
        CudaDecodeOps.gateQuery(gate, qNope, qGate, batch, position);
    }

    @Override
    public void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                               int[] blockPositions) {
        ARGS.compressedKeys(gate, kNope, out, batch, seqLen, blockPositions);
        CudaDecodeOps.compressedKeys(gate, kNope, out, batch, seqLen, blockPositions);
    }

    @Override
    public void decodeGateScores(DecodeGateWeights gate, float[] qGate, float[] kCompressed,
                                 boolean[] blockAttentionMask, float[] out, int batch, int blocks, boolean softmax) {
        ARGS.decodeGateScores(gate, qGate, kCompressed, blockAttentionMask, out, batch, blocks);
        CudaDecodeOps.scores(gate, qGate, kCompressed, blockAttentionMask, out, batch, blocks, softmax);
    }

    @Override
    public boolean[] decodeSelect(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                                  boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        ARGS.decodeSelect(scores, batch, kvHeads, blocks, blockSize, blockAttentionMask, rule);
        return CudaDecodeOps.select(scores, batch, kvHeads, blocks, blockSize, blockAttentionMask, rule);
    }

    @Override
    public void sparseDecode(float[] q, float[] kCache, float[] vCache, int[] cacheSeqLens, boolean[] mask,
                             float[] out, AttentionShape shape, int blockSize, double scale) {
        ARGS.sparseDecode(q, kCache, vCache, cacheSeqLens, mask, out, shape, blockSize, scale);
        CudaDecodeOps.sparseDecode(q, kCache, vCache, cacheSeqLens, mask, out, shape, blockSize, scale);
    }

    @Override
    public void sparseDecodeRows(float[] q, float[] k, float[] v, boolean[] mask, int from, float[] out,
                                 AttentionShape shape, int blockSize, double scale) {
        ARGS.sparseDecodeRows(q, k, v, mask, from, out, shape, blockSize, scale);
        CudaDecodeOps.sparseDecodeRows(q, k, v, mask, from, out, shape, blockSize, scale);
    }

    /** Dense causal attention by the fp32 kernel, then the target by {@code decode_target_f32}. */
    @Override
    public void attentionWithDecodeTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                          AttentionShape shape, int blockSize, double scale) {
        ARGS.attentionWithDecodeTarget(q, k, v, out, target, shape, blockSize, scale);
        attention(AttentionKernel.DENSE_F32, q, k, v, null, out, null, shape, 64, scale);
        CudaDecodeOps.decodeTarget(q, k, target, shape, blockSize, scale);
    }

    /**
     * A K-compression cache on the device. Besides the interface, it is {@link AutoCloseable}: closing it frees its
     * device memory at once (else that happens when it becomes unreachable).
     */
    @Override
    public CompressedKeyCache kCompressionCache(DecodeGateWeights gate, int batch, int capacity) {
        return new CudaKCompressionCache(gate, batch, capacity);
    }

    /** Registers the CUDA engine (priority 20) with {@link org.seerjava.reference.engine.Engines}. */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "cuda";
        }

        @Override
        public int priority() {
            return 20;
        }

        @Override
        public String unavailableReason() {
            String reason = CuDriver.unavailableReason();
            if (reason != null) {
                return reason;
            }
            try {
                Nvrtc.get();
                return null;
            } catch (CudaException e) {
                return e.getMessage();
            }
        }

        @Override
        public Engine create() {
            return new CudaEngine();
        }
    }
}
