package org.seerjava.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.SelectionRule;

/**
 * The gate's cost next to dense attention, and the distillation pass (attention + pooled target) next to dense
 * attention, in one run: B = 1, Hq = Hkv = 8, D = Dg = 128, block 64, the default gate {@code Qavg_Kmaxminavg}
 * (case B: per-head K linear [8, 384, 128]).
 */
@State(Scope.Benchmark)
public class GateBench extends CpuBenchmark {
    @Param({"8192"})
    public int n;

    private AttentionShape shape;
    private GateConfig config;
    private float[] q;
    private float[] k;
    private float[] v;
    private float[] wk;
    private float[] scores;
    private float[] out;
    private float[] target;
    private final SelectionRule rule = new SelectionRule.Threshold(5e-4, true, true);

    @Setup(Level.Trial)
    public void setUp() {
        Inputs.Attention in = Inputs.Attention.of(n);
        shape = in.shape();
        config = Inputs.GATE;
        q = in.q();
        k = in.k();
        v = in.v();
        wk = in.gateKWeights();
        int nb = shape.blocks(64);
        scores = new float[8 * nb * nb];
        out = in.out();
        target = new float[8 * nb * nb];
    }

    /** Pooling + gate scores (K linear, RoPE, Q·K, mask, softmax) + threshold selection. */
    @Benchmark
    public BlockMask gate() {
        engine.gateScores(q, k, null, wk, scores, shape, config, true);
        return engine.select(scores, 1, 8, shape.blocks(64), rule);
    }

    /** Dense causal attention, the denominator of both ratios. */
    @Benchmark
    public float[] dense() {
        engine.denseCausal(q, k, v, out, shape, shape.defaultScale());
        return out;
    }

    /** The distillation pass: dense attention and the 2-D max-pooled target from one Q·K pass. */
    @Benchmark
    public float[] distill() {
        engine.attentionWithPooledTarget(q, k, v, out, target, shape, 64, shape.defaultScale());
        return target;
    }
}
