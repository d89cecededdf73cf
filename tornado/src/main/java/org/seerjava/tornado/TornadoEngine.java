package org.seerjava.tornado;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Pool;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.tornado.kernels.BlockSparseAttention;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The TornadoVM engine: every operation of {@link Engine} as a TornadoVM task graph of the Java kernels in
 * {@code org.seerjava.tornado.kernels}, run on the PTX device in float32. Each call copies its inputs into the graph's
 * host buffers, executes the graph (inputs to the device, kernels, outputs back) and copies the outputs out. A graph
 * is compiled once per operation and shape and kept (the last {@value #CACHED_GRAPHS} of them) with its buffers, so
 * a model calling the same shapes layer after layer compiles each kernel once. The KL distillation loss is a small
 * reduction over the gate maps and is computed on the host by the reference, as the CUDA engine does.
 *
 * <p>Limits (clear errors otherwise): attention head dims 32, 64, 96, 128 and block sizes up to 64; top-k rows of
 * up to 4096 blocks; every buffer below 2^31 elements.
 */
public final class TornadoEngine implements Engine {
    /** Compiled graphs kept for reuse. */
    static final int CACHED_GRAPHS = 12;

    private final ReferenceEngine host = new ReferenceEngine();
    private final Map<String, Cached> graphs = new LinkedHashMap<>(16, 0.75f, true);
    private final String description;
    private final GraphRunner.Factory runners;

    /** The engine on TornadoVM's default device; fails with the reason when TornadoVM cannot run here. */
    public TornadoEngine() {
        TornadoRuntimeStatus.require();
        this.description = TornadoRuntimeStatus.describeDevice() + ", fp32 Java kernels";
        this.runners = GraphRunner.DEVICE;
    }

    /** The engine with another way to run its graphs (the tests' KernelContext emulator). */
    TornadoEngine(GraphRunner.Factory runners, String description) {
        this.runners = runners;
        this.description = description;
    }

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public String description() {
        return description;
    }

    /** A compiled graph and the host buffers it reads and writes, by name. */
    private record Cached(GraphRunner plan, Map<String, Object> buffers) {
        FloatArray floats(String name) {
            return (FloatArray) buffers.get(name);
        }

        ByteArray bytes(String name) {
            return (ByteArray) buffers.get(name);
        }
    }

    private Cached graph(String key, Supplier<Cached> build) {
        Cached c = graphs.get(key);
        if (c == null) {
            c = build.get();
            graphs.put(key, c);
            if (graphs.size() > CACHED_GRAPHS) {
                var eldest = graphs.entrySet().iterator().next();
                eldest.getValue().plan().close();
                graphs.remove(eldest.getKey());
            }
        }
        return c;
    }

    /** Closes every cached graph, releasing its device memory. */
    public synchronized void clear() {
        for (Cached c : graphs.values()) {
            c.plan().close();
        }
        graphs.clear();
    }

    @Override
    public synchronized void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize,
                                  List<Pool> pools) {
        Checks.positive("batch", batch);
        Checks.positive("seqLen", seqLen);
        Checks.positive("heads", heads);
        Checks.positive("dim", dim);
        Checks.positive("blockSize", blockSize);
        if (pools == null || pools.isEmpty()) {
            throw new IllegalArgumentException("pools must name at least one pooling function");
        }
        Checks.allFinite("x", Checks.length("x", x, (long) batch * seqLen * heads * dim));
        int nb = Math.ceilDiv(seqLen, blockSize);
        Checks.length("out", out, (long) batch * nb * heads * dim * pools.size());
        String key = "pool " + batch + " " + seqLen + " " + heads + " " + dim + " " + blockSize + " " + pools;
        Cached c = graph(key, () -> {
            FloatArray xb = new FloatArray(x.length);
            FloatArray ob = new FloatArray(out.length);
            KernelTask task = SeerTasks.pool("pool", xb, ob, batch, seqLen, heads, dim, blockSize, pools);
            return new Cached(runners.build("pool", List.of(), List.of(xb), List.of(task), List.of(ob)),
                    Map.of("x", xb, "out", ob));
        });
        Buffers.copyIn(x, c.floats("x"), "x");
        c.plan().run();
        Buffers.copyOut(c.floats("out"), out, "out");
    }

    @Override
    public synchronized void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out,
                                        AttentionShape shape, GateConfig config, boolean softmax) {
        if (shape == null || config == null) {
            throw new IllegalArgumentException("shape and gate config must not be null");
        }
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        boolean qLinear = config.hasQLinear(shape.headDim());
        if (qLinear) {
            Checks.allFinite("W_q (mask_linear_q)", Checks.length("W_q (mask_linear_q) [Hq, qdup·D, Dg]", wq,
                    config.qWeightElements(shape)));
        } else if (wq != null && wq.length != 0) {
            throw new IllegalArgumentException("gate type " + config.type() + " with Dg = D = " + shape.headDim()
                    + " has no Q linear, but W_q (mask_linear_q) was given with " + wq.length + " elements");
        }
        Checks.allFinite("W_k (mask_linear_k)", Checks.length("W_k (mask_linear_k) [" + config.kLinearHeads(shape)
                + ", kdup·D, Dg]", wk, config.kWeightElements(shape)));
        int nb = shape.blocks(config.blockSize());
        Checks.length("out", out, (long) shape.batch() * shape.qHeads() * nb * nb);
        String key = "gate " + shape + " " + config + " " + softmax;
        Cached c = graph(key, () -> {
            FloatArray qb = new FloatArray(q.length);
            FloatArray kb = new FloatArray(k.length);
            SeerTasks.GateBuffers g = SeerTasks.gateBuffers(shape, config);
            List<Object> inputs = new ArrayList<>(List.of(qb, kb, g.wk()));
            Map<String, Object> named = new java.util.HashMap<>(Map.of("q", qb, "k", kb, "wk", g.wk(),
                    "logits", g.logits()));
            if (g.wq() != null) {
                inputs.add(g.wq());
                named.put("wq", g.wq());
            }
            return new Cached(runners.build("gate", List.of(g.ropeTable()), inputs,
                    SeerTasks.gate(qb, kb, g, shape, config, softmax), List.of(g.logits())), named);
        });
        Buffers.copyIn(q, c.floats("q"), "q");
        Buffers.copyIn(k, c.floats("k"), "k");
        Buffers.copyIn(wk, c.floats("wk"), "W_k (mask_linear_k)");
        if (qLinear) {
            Buffers.copyIn(wq, c.floats("wq"), "W_q (mask_linear_q)");
        }
        c.plan().run();
        Buffers.copyOut(c.floats("logits"), out, "out");
    }

    @Override
    public synchronized BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        long n = Checks.blockMap(batch, heads, blocks);
        if (rule == null) {
            throw new IllegalArgumentException("selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores", scores, n));
        String key = "select " + batch + " " + heads + " " + blocks + " " + rule;
        Cached c = graph(key, () -> {
            FloatArray sb = new FloatArray(scores.length);
            ByteArray mb = new ByteArray(scores.length);
            KernelTask task = SeerTasks.select("select", sb, mb, batch, heads, blocks, rule);
            return new Cached(runners.build("select", List.of(), List.of(sb), List.of(task), List.of(mb)),
                    Map.of("scores", sb, "mask", mb));
        });
        Buffers.copyIn(scores, c.floats("scores"), "scores");
        c.plan().run();
        return BlockMask.of(batch, heads, blocks, Buffers.toBytes(c.bytes("mask")));
    }

    @Override
    public synchronized void denseCausal(float[] q, float[] k, float[] v, float[] out, AttentionShape shape,
                                         double scale) {
        attention(BlockSparseAttention.DENSE, q, k, v, null, out, null, shape, BlockSparseAttention.TILE, scale);
    }

    @Override
    public synchronized void blockSparse(float[] q, float[] k, float[] v, BlockMask mask, float[] out,
                                         AttentionShape shape, int blockSize, double scale) {
        if (shape == null) {
            throw new IllegalArgumentException("attention shape must not be null");
        }
        if (mask == null) {
            throw new IllegalArgumentException("block mask must not be null");
        }
        mask.requireShape(shape.batch(), shape.qHeads(), shape.blocks(blockSize));
        attention(BlockSparseAttention.SPARSE, q, k, v, mask, out, null, shape, blockSize, scale);
    }

    @Override
    public synchronized void attentionWithPooledTarget(float[] q, float[] k, float[] v, float[] out, float[] target,
                                                       AttentionShape shape, int blockSize, double scale) {
        attention(BlockSparseAttention.TARGET, q, k, v, null, out, target, shape, blockSize, scale);
    }

    private void attention(int mode, float[] q, float[] k, float[] v, BlockMask mask, float[] out, float[] target,
                           AttentionShape shape, int blockSize, double scale) {
        if (shape == null) {
            throw new IllegalArgumentException("attention shape must not be null");
        }
        Checks.finite("scale", scale);
        if (scale <= 0) {
            throw new IllegalArgumentException("scale must be > 0, got " + scale);
        }
        Checks.allFinite("q", Checks.length("q", q, shape.qElements()));
        Checks.allFinite("k", Checks.length("k", k, shape.kvElements()));
        Checks.allFinite("v", Checks.length("v", v, shape.kvElements()));
        Checks.length("out", out, shape.qElements());
        SeerTasks.requireAttention(shape, blockSize);
        int nb = shape.blocks(blockSize);
        if (mode == BlockSparseAttention.TARGET) {
            Checks.length("target", target, (long) shape.batch() * shape.qHeads() * nb * nb);
        }
        String key = "attention " + mode + " " + shape + " " + blockSize + " " + scale;
        Cached c = graph(key, () -> {
            FloatArray qb = new FloatArray(q.length);
            FloatArray kb = new FloatArray(k.length);
            FloatArray vb = new FloatArray(v.length);
            FloatArray ob = new FloatArray(out.length);
            ByteArray mb = new ByteArray(mode == BlockSparseAttention.SPARSE
                    ? Checks.arraySize("mask", (long) shape.batch() * shape.qHeads() * nb * nb) : 1);
            boolean fused = mode == BlockSparseAttention.TARGET;
            FloatArray tb = new FloatArray(fused ? shape.batch() * shape.qHeads() * nb * nb : 1);
            List<KernelTask> tasks = fused ? SeerTasks.attentionWithTarget(qb, kb, vb, ob, tb, shape, blockSize, scale)
                    : List.of(SeerTasks.attention("attention", qb, kb, vb, mb, ob, shape, blockSize, scale, mode));
            List<Object> inputs = new ArrayList<>(List.of(qb, kb, vb));
            if (mode == BlockSparseAttention.SPARSE) {
                inputs.add(mb);
            }
            List<Object> outputs = fused ? List.of(ob, tb) : List.of(ob);
            return new Cached(runners.build("attention", List.of(), inputs, tasks, outputs),
                    Map.of("q", qb, "k", kb, "v", vb, "out", ob, "mask", mb, "target", tb));
        });
        Buffers.copyIn(q, c.floats("q"), "q");
        Buffers.copyIn(k, c.floats("k"), "k");
        Buffers.copyIn(v, c.floats("v"), "v");
        if (mask != null) {
            Buffers.copyIn(mask.toBytes(), c.bytes("mask"), "mask");
        }
        c.plan().run();
        Buffers.copyOut(c.floats("out"), out, "out");
        if (target != null) {
            Buffers.copyOut(c.floats("target"), target, "target");
        }
    }

    /** The KL loss on the host (reference, float64): a reduction over gate maps, not worth a device round trip. */
    @Override
    public double distillationLoss(float[] logits, float[] target, float[] dLogits, int batch, int heads,
                                   int blocks) {
        return host.distillationLoss(logits, target, dLogits, batch, heads, blocks);
    }

    /**
     * Registers the TornadoVM engine with {@link org.seerjava.reference.engine.Engines} at priority 5: above the
     * reference, below the CPU and CUDA engines, so that {@code auto} never picks it unasked.
     */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return "tornado";
        }

        @Override
        public int priority() {
            return 5;
        }

        @Override
        public String unavailableReason() {
            return TornadoRuntimeStatus.unavailableReason();
        }

        @Override
        public Engine create() {
            return new TornadoEngine();
        }
    }
}
