package org.seerjava.gpu.llm;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i64;
import static org.seerjava.gpu.graph.KernelSpec.Param.in;
import static org.seerjava.gpu.graph.KernelSpec.Param.inout;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;
import org.seerjava.reference.io.DType;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.reference.DistillationLoss;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Rope;

/**
 * The AttnGate's distillation loss and its gradients on the device, from captured pooled features and targets
 * ({@link LayerCapture}), in fp32 — what {@code GateMath.lossAndGradients} (module gate) computes in float64:
 * <pre>
 *   forward:   Q_g = Q_p·W_q[h] (or Q_p),  K_g = K_p[src]·W_k[kh],  block RoPE of both,
 *              logits[h, m, n] = scale · Q_g[m, h]·K_g[n, kh]  (n ≤ m; −FLT_MAX above the diagonal)
 *   loss:      KL 'mean' of softmax(logits) against the target over rows m ≥ nb/4  (kl_rows_f32)
 *   backward:  dQ_g = scale · dL·K_g,  dK_g = scale · dLᵀ·Q_g (summed over a key head's query heads),
 *              RoPE by the negative angle, dW_q[h] = Q_pᵀ·dQ_g,  dW_k[kh] = K_p[src]ᵀ·dK_g
 * </pre>
 * The products run on the fp32 strided GEMM of module gpu ({@code gemm_f32}), with the layouts of the gate's task
 * graph ({@code GateTasks}). Gradients of several windows are summed into per-layer accumulators with the trainer's
 * weights; the optimiser runs on the host.
 */
public final class GateTraining implements AutoCloseable {
    static final String GATE = "gate_train.cu";

    static final KernelSpec KL_ROWS = new KernelSpec(GATE, Map.of(), "kl_rows_f32", List.of(in("logits", DType.F32),
            in("target", DType.F32), out("dLogits", DType.F32), out("rowLoss", DType.F64), i64("rows"), i32("nb"),
            i32("r0"), f32("invNumel")));
    static final KernelSpec SUM_GROUPS = new KernelSpec(GATE, Map.of(), "sum_groups_f32", List.of(in("in", DType.F32),
            out("out", DType.F32), i32("nb"), i32("Hq"), i32("g"), i32("Dg")));
    static final KernelSpec AXPY = new KernelSpec(GATE, Map.of(), "axpy_f32", List.of(inout("y", DType.F32),
            in("x", DType.F32), f32("a"), i64("n")));

    /**
     * One layer's captured training sample on the device (batch 1), freed by {@link #close()}.
     *
     * @param qPooled {@code [nb, Hq, qdup·D]} fp32
     * @param kPooled {@code [nb, Hkv, kdup·D]} fp32
     * @param target  {@code [Hq, nb, nb]} fp32, the pooled attention of the dense pass
     * @param blocks  nb
     */
    public record LayerCapture(DeviceBuffer qPooled, DeviceBuffer kPooled, DeviceBuffer target, int blocks)
            implements AutoCloseable {
        @Override
        public void close() {
            qPooled.close();
            kPooled.close();
            target.close();
        }
    }

    private final GateConfig config;
    private final int layers;
    private final int hq;
    private final int hkv;
    private final int keyHeads;
    private final int fq;
    private final int fk;
    private final int dg;
    private final boolean hasQ;
    private final Stream stream;
    private final List<DeviceBuffer> wq = new ArrayList<>();
    private final List<DeviceBuffer> wk = new ArrayList<>();
    private final List<DeviceBuffer> gq = new ArrayList<>();
    private final List<DeviceBuffer> gk = new ArrayList<>();
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private int capacityBlocks;
    private DeviceBuffer qGate;
    private DeviceBuffer kGate;
    private DeviceBuffer logits;
    private DeviceBuffer dLogits;
    private DeviceBuffer rowLoss;
    private DeviceBuffer dq;
    private DeviceBuffer dkHeads;
    private DeviceBuffer dk;
    private DeviceBuffer tmpWq;
    private DeviceBuffer tmpWk;
    private DeviceBuffer table;
    private DeviceBuffer tableBack;
    private boolean closed;

    /**
     * Device state for training the gates of a model: weights and gradient accumulators per layer.
     *
     * @param config the gate configuration (type, block size, Dg, the model's RoPE)
     */
    public GateTraining(GateConfig config, int layers, int qHeads, int kvHeads, int headDim) {
        this.config = config;
        this.layers = layers;
        this.hq = qHeads;
        this.hkv = kvHeads;
        this.hasQ = config.hasQLinear(headDim);
        this.keyHeads = hasQ ? kvHeads : qHeads;
        this.fq = config.type().qDup() * headDim;
        this.fk = config.type().kDup() * headDim;
        this.dg = config.hiddenSize();
        this.stream = new Stream();
        try {
            for (int l = 0; l < layers; l++) {
                wq.add(hasQ ? own((long) hq * fq * dg * 4) : null);
                gq.add(hasQ ? own((long) hq * fq * dg * 4) : null);
                wk.add(own((long) keyHeads * fk * dg * 4));
                gk.add(own((long) keyHeads * fk * dg * 4));
            }
            tmpWq = hasQ ? own((long) hq * fq * dg * 4) : null;
            tmpWk = own((long) keyHeads * fk * dg * 4);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private DeviceBuffer own(long bytes) {
        DeviceBuffer b = DeviceBuffer.allocate(bytes);
        owned.add(b);
        return b;
    }

    /** Elements of W_q (0 without a Q linear) and of W_k. */
    public int wqElements() {
        return hasQ ? hq * fq * dg : 0;
    }

    public int wkElements() {
        return keyHeads * fk * dg;
    }

    /** Uploads a layer's weights (float32 copies of the trainer's float64 parameters). */
    public void setWeights(int layer, float[] wqLayer, float[] wkLayer) {
        if (hasQ) {
            check("W_q", wqLayer, wqElements());
            wq.get(layer).copyFrom(wqLayer);
        }
        check("W_k", wkLayer, wkElements());
        wk.get(layer).copyFrom(wkLayer);
    }

    private static void check(String what, float[] x, int n) {
        if (x == null || x.length != n) {
            throw new IllegalArgumentException(what + " has " + (x == null ? "null" : x.length) + " elements, expected "
                    + n);
        }
    }

    /** Sets every gradient accumulator to 0. */
    public void zeroGradients() {
        for (int l = 0; l < layers; l++) {
            if (hasQ) {
                gq.get(l).fill((byte) 0, stream);
            }
            gk.get(l).fill((byte) 0, stream);
        }
    }

    private void ensureBlocks(int nb) {
        if (nb <= capacityBlocks) {
            return;
        }
        for (DeviceBuffer b : new DeviceBuffer[] {qGate, kGate, logits, dLogits, rowLoss, dq, dkHeads, dk, table,
                tableBack}) {
            if (b != null) {
                owned.remove(b);
                b.close();
            }
        }
        long n = nb;
        qGate = own(n * hq * dg * 4);
        kGate = own(n * keyHeads * dg * 4);
        logits = own(n * n * hq * 4);
        dLogits = own(n * n * hq * 4);
        rowLoss = own(n * hq * 8);
        dq = own(n * hq * dg * 4);
        dkHeads = own(n * hq * dg * 4);
        dk = own(n * keyHeads * dg * 4);
        double[] inv = Rope.inverseFrequencies(config.rope());
        int half = config.rope().rotaryDim() / 2;
        float[] fwd = new float[nb * half * 2];
        float[] back = new float[nb * half * 2];
        for (int blk = 0; blk < nb; blk++) {
            for (int k = 0; k < half; k++) {
                double angle = (double) blk * config.blockSize() * inv[k];
                int e = (blk * half + k) * 2;
                fwd[e] = (float) Math.cos(angle);
                fwd[e + 1] = (float) Math.sin(angle);
                back[e] = fwd[e];
                back[e + 1] = -fwd[e + 1];
            }
        }
        table = own((long) fwd.length * 4);
        tableBack = own((long) back.length * 4);
        table.copyFrom(fwd);
        tableBack.copyFrom(back);
        capacityBlocks = nb;
    }

    private void gemm(Object a, Object b, Object c, int m, int n, int k, int heads, int repA, int repB, float alpha,
                      boolean causal, long[] strides) {
        var l = SeerKernels.gemmLaunch(m, n, heads);
        SeerKernels.GEMM.kernel().launch(stream, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), a, b,
                c, m, n, k, heads, repA, repB, alpha, causal ? 1 : 0, strides);
    }

    private void rope(DeviceBuffer x, DeviceBuffer cs, int nb, int heads) {
        int half = config.rope().rotaryDim() / 2;
        SeerKernels.ROPE_TABLE.kernel().launch(stream, (int) Math.max(1, Math.min(Math.ceilDiv((long) nb * heads * half,
                256), 1L << 20)), 1, 1, 256, 1, 1, 0, x, cs, nb, nb, heads, dg, half);
    }

    /**
     * Adds {@code weight ×} the gradients of one layer's sample into the accumulators and returns its loss (KL mean,
     * not yet scaled).
     */
    public double accumulate(int layer, LayerCapture c, float weight) {
        int nb = c.blocks();
        ensureBlocks(nb);
        float scale = (float) config.scale();
        // forward
        if (hasQ) {
            gemm(c.qPooled(), wq.get(layer), qGate, nb, dg, fq, hq, 1, 1, 1f, false, SeerKernels.strides(
                    (long) nb * hq * fq, fq, (long) hq * fq, 1, 0, (long) fq * dg, dg, 1, (long) nb * hq * dg, dg,
                    (long) hq * dg, 1));
        } else {                                           // no Q linear: Dg = qdup·D, Q_g = Q_p
            org.seerjava.gpu.CudaContext.get().driver().memcpyDtoDAsync(qGate.pointer(), c.qPooled().pointer(),
                    (long) nb * hq * fq * 4, stream.handle());
        }
        gemm(c.kPooled(), wk.get(layer), kGate, nb, dg, fk, keyHeads, keyHeads / hkv, 1, 1f, false, SeerKernels.strides(
                (long) nb * hkv * fk, fk, (long) hkv * fk, 1, 0, (long) fk * dg, dg, 1, (long) nb * keyHeads * dg, dg,
                (long) keyHeads * dg, 1));
        rope(qGate, table, nb, hq);
        rope(kGate, table, nb, keyHeads);
        gemm(qGate, kGate, logits, nb, nb, dg, hq, 1, hq / keyHeads, scale, true, SeerKernels.strides(
                (long) nb * hq * dg, dg, (long) hq * dg, 1, (long) nb * keyHeads * dg, dg, 1, (long) keyHeads * dg,
                (long) hq * nb * nb, (long) nb * nb, nb, 1));
        // loss and dLogits
        int r0 = DistillationLoss.firstRow(nb);
        double numel = (double) hq * (nb - r0) * nb;
        long rows = (long) hq * nb;
        KL_ROWS.kernel().launch(stream, (int) Math.ceilDiv(rows, 8), 1, 1, 256, 1, 1, 0, logits, c.target(), dLogits,
                rowLoss, rows, nb, r0, (float) (1.0 / numel));
        // backward
        gemm(dLogits, kGate, dq, nb, dg, nb, hq, 1, hq / keyHeads, scale, false, SeerKernels.strides(
                (long) hq * nb * nb, (long) nb * nb, nb, 1, (long) nb * keyHeads * dg, dg, (long) keyHeads * dg, 1,
                (long) nb * hq * dg, dg, (long) hq * dg, 1));
        gemm(dLogits, qGate, keyHeads == hq ? dk : dkHeads, nb, dg, nb, hq, 1, 1, scale, false, SeerKernels.strides(
                (long) hq * nb * nb, (long) nb * nb, 1, nb, (long) nb * hq * dg, dg, (long) hq * dg, 1,
                (long) nb * hq * dg, dg, (long) hq * dg, 1));
        if (keyHeads != hq) {
            SUM_GROUPS.kernel().launch(stream, (int) Math.max(1, Math.min(Math.ceilDiv((long) nb * keyHeads * dg, 256),
                    1L << 20)), 1, 1, 256, 1, 1, 0, dkHeads, dk, nb, hq, hq / keyHeads, dg);
        }
        rope(dq, tableBack, nb, hq);
        rope(dk, tableBack, nb, keyHeads);
        gemm(c.kPooled(), dk, tmpWk, fk, dg, nb, keyHeads, keyHeads / hkv, 1, 1f, false, SeerKernels.strides(
                (long) nb * hkv * fk, fk, 1, (long) hkv * fk, (long) nb * keyHeads * dg, dg, (long) keyHeads * dg, 1,
                (long) keyHeads * fk * dg, (long) fk * dg, dg, 1));
        axpy(gk.get(layer), tmpWk, weight, (long) keyHeads * fk * dg);
        if (hasQ) {
            gemm(c.qPooled(), dq, tmpWq, fq, dg, nb, hq, 1, 1, 1f, false, SeerKernels.strides(
                    (long) nb * hq * fq, fq, 1, (long) hq * fq, (long) nb * hq * dg, dg, (long) hq * dg, 1,
                    (long) hq * fq * dg, (long) fq * dg, dg, 1));
            axpy(gq.get(layer), tmpWq, weight, (long) hq * fq * dg);
        }
        stream.synchronize();
        double sum = 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_DOUBLE, rows);
            org.seerjava.gpu.CudaContext.get().driver().memcpyDtoH(seg, rowLoss.pointer(), rows * 8);
            for (long i = 0; i < rows; i++) {
                sum += seg.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
            }
        }
        return sum / numel;
    }

    private void axpy(DeviceBuffer y, DeviceBuffer x, float a, long n) {
        AXPY.kernel().launch(stream, (int) Math.max(1, Math.min(Math.ceilDiv(n, 256), 1L << 20)), 1, 1, 256, 1, 1, 0, y,
                x, a, n);
    }

    /** The accumulated gradient of W_q of a layer (null without a Q linear). */
    public float[] gradientWq(int layer) {
        stream.synchronize();
        return hasQ ? gq.get(layer).toFloats() : null;
    }

    /** The accumulated gradient of W_k of a layer. */
    public float[] gradientWk(int layer) {
        stream.synchronize();
        return gk.get(layer).toFloats();
    }

    public boolean hasQLinear() {
        return hasQ;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stream.synchronize();
        } finally {
            for (DeviceBuffer b : owned) {
                b.close();
            }
            stream.close();
        }
    }
}
