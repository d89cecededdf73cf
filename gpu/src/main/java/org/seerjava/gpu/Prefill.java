package org.seerjava.gpu;

import java.lang.foreign.Arena;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.io.DType;

/**
 * The SeerAttention prefill as one task graph: pool → gate → select → block-sparse attention, on bf16
 * {@code [B, N, H, D]} tensors already on the device. The gate reads pre-RoPE {@code q, k}; the attention reads
 * post-RoPE {@code qRope, kRope} and {@code v} (the same tensors may be passed for both).
 */
public final class Prefill {
    private Prefill() {
    }

    /** The graph and its intermediate tensors (the block mask and the gate logits stay on the device). */
    public record Graph(TaskGraph taskGraph, Tensor logits, Tensor mask) {
    }

    /**
     * Builds the prefill graph.
     *
     * @param out   bf16 {@code [B, N, Hq, D]}: bound to a caller buffer, or allocated by the plan
     * @param scale the attention scale (D^-0.5 in the model)
     */
    public static Graph graph(String name, Arena arena, Tensor q, Tensor k, Tensor qRope, Tensor kRope, Tensor v,
                              Tensor out, float[] wq, float[] wk, AttentionShape shape, GateConfig gate,
                              SelectionRule rule, double scale) {
        if (gate.blockSize() != SeerKernels.TC_BLOCK) {
            throw new IllegalArgumentException("the GPU prefill needs gate block size " + SeerKernels.TC_BLOCK
                    + " (the attention tile), got " + gate.blockSize());
        }
        int B = shape.batch();
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int nb = shape.blocks(gate.blockSize());
        TaskGraph tg = new TaskGraph(name);
        tg.consumeFromDevice(q, k, qRope, kRope, v);
        tg.require(qRope, DType.BF16, "attention q [B, N, Hq, D]", B, N, Hq, D);
        tg.require(kRope, DType.BF16, "attention k [B, N, Hkv, D]", B, N, Hkv, D);
        tg.require(v, DType.BF16, "attention v [B, N, Hkv, D]", B, N, Hkv, D);
        tg.require(out, DType.BF16, "attention out [B, N, Hq, D]", B, N, Hq, D);
        GateTasks.Gate g = GateTasks.add(tg, arena, q, k, wq, wk, shape, gate);
        Tensor mask = Tensor.of(name + ".mask", DType.U8, B, Hq, nb, nb);
        long rows = (long) B * Hq * nb;
        switch (rule) {
            case SelectionRule.Threshold t -> tg.task("select", SeerKernels.SELECT_THRESHOLD,
                    SeerKernels.warpPerRow(rows), g.logits(), mask, rows, nb, t.threshold(), 1,
                    t.lastBlockDense() ? 1 : 0, t.keepDiagonal() ? 1 : 0);
            case SelectionRule.TopK t -> tg.task("select", SeerKernels.topK(nb), SeerKernels.topKLaunch(rows, nb),
                    SeerKernels.topKArgs(g.logits(), mask, rows, nb, t.k(nb), t.lastBlockDense(), t.keepDiagonal(),
                            true));
        }
        if (rule instanceof SelectionRule.TopK && rows > 65535L * 65535L) {
            throw new IllegalArgumentException("too many rows for top-k selection");
        }
        AttentionKernel sparse = AttentionKernel.forDevice(AttentionKernel.Op.SPARSE, D);
        tg.task("attention", sparse.spec(D), sparse.launch(nb, Hq, B, D),
                qRope, kRope, v, mask, out, N, Hq, Hkv, nb, (float) (scale * SeerKernels.LOG2E));
        tg.allocate(mask);
        return new Graph(tg, g.logits(), mask);
    }
}
