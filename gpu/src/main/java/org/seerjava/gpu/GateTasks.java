package org.seerjava.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.seerjava.gpu.graph.DataTransferMode;
import org.seerjava.gpu.graph.KernelSpec.Launch;
import org.seerjava.gpu.graph.TaskGraph;
import org.seerjava.gpu.graph.Tensor;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Rope;
import org.seerjava.reference.io.DType;

/**
 * The AttnGate forward pass as task-graph tasks (docs/SPEC.md §2.4): pool Q and K per block, the multi-head linears,
 * block RoPE, block-causal logits × Dg^-0.5 (float32 min above the diagonal). Inputs may be fp32 or bf16; everything
 * after pooling is fp32.
 */
public final class GateTasks {
    private GateTasks() {
    }

    /** The gate's tensors: weights and RoPE frequencies (inputs) and the logits (output). */
    public record Gate(Tensor wq, Tensor wk, Tensor ropeTable, Tensor logits) {
    }

    /**
     * Declares the weight and RoPE-table tensors (fp32 weights {@code W_q [Hq, qdup·D, Dg]} when the gate has a Q
     * linear, {@code W_k [heads, kdup·D, Dg]}; the (cos, sin) table of the block positions) bound to host memory of {@code arena},
     * transferred on the first execution, and adds the gate tasks reading {@code q, k} and writing {@code logits}.
     */
    public static Gate add(TaskGraph tg, Arena arena, Tensor q, Tensor k, float[] wq, float[] wk,
                           AttentionShape shape, GateConfig cfg) {
        int B = shape.batch();
        int N = shape.seqLen();
        int Hq = shape.qHeads();
        int Hkv = shape.kvHeads();
        int D = shape.headDim();
        int Dg = cfg.hiddenSize();
        int bs = cfg.blockSize();
        int nb = shape.blocks(bs);
        boolean qLinear = cfg.hasQLinear(D);
        int keyHeads = cfg.kLinearHeads(shape);
        int fq = cfg.type().qDup() * D;
        int fk = cfg.type().kDup() * D;
        if (!qLinear && Dg != D) {
            throw new IllegalArgumentException("a gate without Q linear needs Dg == D");
        }
        if (wk == null || wk.length != cfg.kWeightElements(shape)) {
            throw new IllegalArgumentException("W_k (mask_linear_k) must have " + cfg.kWeightElements(shape)
                    + " elements [" + keyHeads + ", " + fk + ", " + Dg + "], got " + (wk == null ? "null" : wk.length));
        }
        if (qLinear && (wq == null || wq.length != cfg.qWeightElements(shape))) {
            throw new IllegalArgumentException("W_q (mask_linear_q) must have " + cfg.qWeightElements(shape)
                    + " elements [" + Hq + ", " + fq + ", " + Dg + "], got " + (wq == null ? "null" : wq.length));
        }
        DType in = q.dtype();
        tg.require(q, in, "gate q [B, N, Hq, D]", B, N, Hq, D);
        tg.require(k, in, "gate k [B, N, Hkv, D]", B, N, Hkv, D);
        String p = tg.name() + ".";

        Tensor qPooled = Tensor.of(p + "qPooled", DType.F32, B, nb, Hq, fq);
        Tensor kPooled = Tensor.of(p + "kPooled", DType.F32, B, nb, Hkv, fk);
        Tensor kGate = Tensor.of(p + "kGate", DType.F32, B, nb, keyHeads, Dg);
        Tensor qGate = qLinear ? Tensor.of(p + "qGate", DType.F32, B, nb, Hq, Dg) : qPooled;
        Tensor logits = Tensor.of(p + "logits", DType.F32, B, Hq, nb, nb);
        Tensor wkT = Tensor.of(p + "W_k", DType.F32, keyHeads, fk, Dg)
                .withHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, wk));
        Tensor wqT = qLinear ? Tensor.of(p + "W_q", DType.F32, Hq, fq, Dg)
                .withHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, wq)) : null;
        double[] inv = Rope.inverseFrequencies(cfg.rope());
        int half = cfg.rope().rotaryDim() / 2;
        float[] table = new float[nb * half * 2];        // (cos, sin) of position block·B, computed in fp64
        for (int blk = 0; blk < nb; blk++) {
            for (int kk = 0; kk < half; kk++) {
                double angle = (double) blk * bs * inv[kk];
                table[(blk * half + kk) * 2] = (float) Math.cos(angle);
                table[(blk * half + kk) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        Tensor invT = Tensor.of(p + "ropeTable", DType.F32, nb, half, 2)
                .withHost(arena.allocateFrom(ValueLayout.JAVA_FLOAT, table));
        tg.transferToDevice(DataTransferMode.FIRST_EXECUTION, wkT, invT);
        if (qLinear) {
            tg.transferToDevice(DataTransferMode.FIRST_EXECUTION, wqT);
        }

        boolean v8 = in == DType.BF16 && D % 8 == 0;
        var pool = v8 ? SeerKernels.POOL_BF16_V8 : in == DType.BF16 ? SeerKernels.POOL_BF16 : SeerKernels.POOL_F32;
        int per = v8 ? 8 : 1;
        tg.task("poolQ", pool, Launch.linear((long) B * nb * Hq * D / per, 256), q, qPooled, B, N, Hq, D, bs,
                SeerKernels.poolBits(cfg.type().qPools()));
        tg.task("poolK", pool, Launch.linear((long) B * nb * Hkv * D / per, 256), k, kPooled, B, N, Hkv, D, bs,
                SeerKernels.poolBits(cfg.type().kPools()));
        if (qLinear) {
            tg.task("linearQ", SeerKernels.GEMM, SeerKernels.gemmLaunch(nb, Dg, B * Hq), qPooled, wqT, qGate,
                    nb, Dg, fq, Hq, 1, 1, 1.0f, 0,
                    SeerKernels.strides((long) nb * Hq * fq, fq, (long) Hq * fq, 1, 0, (long) fq * Dg, Dg, 1,
                            (long) nb * Hq * Dg, Dg, (long) Hq * Dg, 1));
        }
        tg.task("linearK", SeerKernels.GEMM, SeerKernels.gemmLaunch(nb, Dg, B * keyHeads), kPooled, wkT, kGate,
                nb, Dg, fk, keyHeads, keyHeads / Hkv, 1, 1.0f, 0,
                SeerKernels.strides((long) nb * Hkv * fk, fk, (long) Hkv * fk, 1, 0, (long) fk * Dg, Dg, 1,
                        (long) nb * keyHeads * Dg, Dg, (long) keyHeads * Dg, 1));
        tg.task("ropeQ", SeerKernels.ROPE_TABLE, Launch.linear((long) B * nb * Hq * half, 256), qGate, invT,
                B * nb, nb, Hq, Dg, half);
        tg.task("ropeK", SeerKernels.ROPE_TABLE, Launch.linear((long) B * nb * keyHeads * half, 256), kGate, invT,
                B * nb, nb, keyHeads, Dg, half);
        tg.task("logits", SeerKernels.GEMM, SeerKernels.gemmLaunch(nb, nb, B * Hq), qGate, kGate, logits,
                nb, nb, Dg, Hq, 1, Hq / keyHeads, (float) cfg.scale(), 1,
                SeerKernels.strides((long) nb * Hq * Dg, Dg, (long) Hq * Dg, 1,
                        (long) nb * keyHeads * Dg, Dg, 1, (long) keyHeads * Dg,
                        (long) Hq * nb * nb, (long) nb * nb, nb, 1));
        tg.allocate(qPooled, kPooled, kGate, logits);
        if (qLinear) {
            tg.allocate(qGate);
        }
        return new Gate(wqT, wkT, invT, logits);
    }
}
