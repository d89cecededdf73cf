package org.seerjava.tornado;

import java.util.ArrayList;
import java.util.List;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.tornado.kernels.BlockSparseAttention;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The SeerAttention prefill as one TornadoVM task graph: pool → gate (linears, block RoPE, logits) → select →
 * block-sparse attention, built once for a shape and gate and executed for any number of calls. The gate weights and
 * the RoPE table go to the device on the first execution only; the activations (pre-RoPE {@code q, k} for the gate,
 * post-RoPE {@code qRope, kRope} and {@code v} for the attention) on every execution, or only on the first one when
 * built with {@code streamInputs = false} (the device then keeps them, as a benchmark wants). The gate maps and the
 * mask stay on the device; the mask comes back on request ({@link #mask()}). Closing releases the device memory.
 *
 * <p>Selection: a {@link SelectionRule.TopK} ranks the raw gate logits (as the official code does for
 * {@code nz_ratio}), a {@link SelectionRule.Threshold} compares their row softmax.
 */
public final class TornadoPrefill implements AutoCloseable {
    private final AttentionShape shape;
    private final FloatArray q;
    private final FloatArray k;
    private final FloatArray qRope;
    private final FloatArray kRope;
    private final FloatArray v;
    private final FloatArray out;
    private final ByteArray mask;
    private final List<KernelTask> tasks;
    private final List<Object> weights;
    private final List<Object> inputs;
    private final boolean streamInputs;
    private final boolean profile;
    private final int nb;
    private GraphPlan plan;

    /**
     * Prepares the graph (compiled on the first {@link #run}).
     *
     * @param wq           {@code W_q [Hq, qdup·D, Dg]}, or null when the gate has no Q linear
     * @param wk           {@code W_k [heads, kdup·D, Dg]}
     * @param scale        the attention scale (D^-0.5 in the model)
     * @param streamInputs whether the activations are copied on every execution (false: on the first only)
     * @param profile      whether TornadoVM's profiler records kernel and transfer times
     */
    public TornadoPrefill(AttentionShape shape, GateConfig gate, float[] wq, float[] wk, SelectionRule rule,
                          double scale, boolean streamInputs, boolean profile) {
        if (shape == null || gate == null || rule == null) {
            throw new IllegalArgumentException("shape, gate config and selection rule must not be null");
        }
        Checks.finite("scale", scale);
        if (scale <= 0) {
            throw new IllegalArgumentException("scale must be > 0, got " + scale);
        }
        SeerTasks.requireAttention(shape, gate.blockSize());
        this.shape = shape;
        this.streamInputs = streamInputs;
        this.profile = profile;
        this.nb = shape.blocks(gate.blockSize());
        SeerTasks.GateBuffers g = SeerTasks.gateBuffers(shape, gate);
        if (g.wq() != null) {
            Buffers.copyIn(Checks.allFinite("W_q (mask_linear_q)", Checks.length("W_q (mask_linear_q)", wq,
                    g.wq().getSize())), g.wq(), "W_q (mask_linear_q)");
        } else if (wq != null && wq.length != 0) {
            throw new IllegalArgumentException("gate type " + gate.type() + " with Dg = D has no Q linear, but W_q "
                    + "(mask_linear_q) was given with " + wq.length + " elements");
        }
        Buffers.copyIn(Checks.allFinite("W_k (mask_linear_k)", Checks.length("W_k (mask_linear_k)", wk,
                g.wk().getSize())), g.wk(), "W_k (mask_linear_k)");
        this.q = new FloatArray(shape.qElements());
        this.k = new FloatArray(shape.kvElements());
        this.qRope = new FloatArray(shape.qElements());
        this.kRope = new FloatArray(shape.kvElements());
        this.v = new FloatArray(shape.kvElements());
        this.out = new FloatArray(shape.qElements());
        this.mask = new ByteArray(Checks.arraySize("mask [B, Hq, nb, nb]",
                (long) shape.batch() * shape.qHeads() * nb * nb));
        boolean softmax = rule instanceof SelectionRule.Threshold;
        List<KernelTask> list = new ArrayList<>(SeerTasks.gate(q, k, g, shape, gate, softmax));
        list.add(SeerTasks.select("select", g.logits(), mask, shape.batch(), shape.qHeads(), nb, rule, !softmax));
        list.add(SeerTasks.attention("attention", qRope, kRope, v, mask, out, shape, gate.blockSize(), scale,
                BlockSparseAttention.SPARSE));
        this.tasks = List.copyOf(list);
        this.weights = new ArrayList<>(List.of(g.wk(), g.ropeTable()));
        if (g.wq() != null) {
            weights.add(g.wq());
        }
        this.inputs = List.of(q, k, qRope, kRope, v);
    }

    /** Copies the activations into the graph's host buffers (without running it). */
    public void load(float[] qIn, float[] kIn, float[] qRopeIn, float[] kRopeIn, float[] vIn) {
        Buffers.copyIn(Checks.allFinite("q", Checks.length("q", qIn, shape.qElements())), q, "q");
        Buffers.copyIn(Checks.allFinite("k", Checks.length("k", kIn, shape.kvElements())), k, "k");
        Buffers.copyIn(Checks.allFinite("qRope", Checks.length("qRope", qRopeIn, shape.qElements())), qRope, "qRope");
        Buffers.copyIn(Checks.allFinite("kRope", Checks.length("kRope", kRopeIn, shape.kvElements())), kRope, "kRope");
        Buffers.copyIn(Checks.allFinite("v", Checks.length("v", vIn, shape.kvElements())), v, "v");
    }

    /** {@link #load}s the activations, executes the graph and writes the attention output into {@code result}. */
    public void run(float[] qIn, float[] kIn, float[] qRopeIn, float[] kRopeIn, float[] vIn, float[] result) {
        Checks.length("result", result, shape.qElements());
        load(qIn, kIn, qRopeIn, kRopeIn, vIn);
        execute();
        Buffers.copyOut(out, result, "result");
    }

    /** Executes the graph on whatever the buffers hold (compiling it the first time). */
    public void execute() {
        if (plan == null) {
            plan = new GraphPlan("prefill", streamInputs ? weights : concat(weights, inputs),
                    streamInputs ? inputs : List.of(), tasks, List.of(out), List.of(mask), profile);
        }
        plan.execute();
    }

    private static List<Object> concat(List<Object> a, List<Object> b) {
        List<Object> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The block mask the gate selected in the last execution (copied back on request). */
    public BlockMask mask() {
        if (plan == null) {
            throw new IllegalStateException("the prefill graph has not run yet");
        }
        plan.fetch(mask);
        return BlockMask.of(shape.batch(), shape.qHeads(), nb, Buffers.toBytes(mask));
    }

    /** The mask as the host buffer holds it (after {@link #mask()}, or when the tasks ran on the host). */
    BlockMask hostMask() {
        return BlockMask.of(shape.batch(), shape.qHeads(), nb, Buffers.toBytes(mask));
    }

    /** The output buffer {@code [B, N, Hq, D]} of the last execution. */
    public float[] output() {
        return Buffers.toFloats(out);
    }

    /** The graph's tasks, in order (the tests run them through the KernelContext emulator). */
    public List<KernelTask> tasks() {
        return tasks;
    }

    /** The compiled graph, once {@link #execute} ran (profiler figures, device memory). */
    public GraphPlan plan() {
        return plan;
    }

    @Override
    public void close() {
        if (plan != null) {
            plan.close();
            plan = null;
        }
    }
}
