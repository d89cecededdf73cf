package org.seerjava.gate;

import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Engine;

/**
 * Block-sparse attention with a {@link BlockSelector} in every layer: the selector's mask, then
 * {@code engine.blockSparse} on the post-RoPE q, k and v. With a {@link GateSelection} this is SeerAttention's
 * prefill; {@link OracleSelection} and {@link SinkLocalSelection} are the comparison patterns. The realised density
 * (kept blocks over causal blocks) is accumulated per layer and head over every call.
 */
public final class SeerAttentionPolicy implements AttentionPolicy {
    private final Engine engine;
    private final BlockSelector selector;
    private final int layers;
    private final int heads;
    private final long[][] kept;
    private final long[][] causal;

    /**
     * @param layers layers of the model (for the density statistics)
     * @param heads  query heads of the model
     */
    public SeerAttentionPolicy(Engine engine, BlockSelector selector, int layers, int heads) {
        if (engine == null || selector == null) {
            throw new IllegalArgumentException("engine and selector must not be null");
        }
        this.engine = engine;
        this.selector = selector;
        this.layers = layers;
        this.heads = heads;
        this.kept = new long[layers][heads];
        this.causal = new long[layers][heads];
    }

    /** SeerAttention with the gates and a selection rule. */
    public static SeerAttentionPolicy gate(Engine engine, GateSet gates, SelectionRule rule) {
        return new SeerAttentionPolicy(engine, new GateSelection(engine, gates, rule), gates.spec().layers(),
                gates.spec().qHeads());
    }

    /** SeerAttention with top-k at a density, plus the diagonal block, causal (the evaluation rule). */
    public static SeerAttentionPolicy gate(Engine engine, GateSet gates, double density) {
        return gate(engine, gates, new SelectionRule.TopK(density, false, true));
    }

    /** The oracle selection at a density. */
    public static SeerAttentionPolicy oracle(Engine engine, double density, int blockSize, int layers, int heads) {
        return new SeerAttentionPolicy(engine, new OracleSelection(engine, density, blockSize), layers, heads);
    }

    /** The sink-plus-local pattern at a density. */
    public static SeerAttentionPolicy sinkLocal(Engine engine, double density, int blockSize, int layers,
                                                int heads) {
        return new SeerAttentionPolicy(engine, new SinkLocalSelection(density, blockSize), layers, heads);
    }

    public BlockSelector selector() {
        return selector;
    }

    /**
     * What one call did.
     *
     * @param mask           the blocks attended, {@code [batch, Hq, nb, nb]}
     * @param densityPerHead kept blocks / causal blocks per (sequence, query head), laid out {@code [batch · Hq]}
     * @param selectionNanos time of the selection (for a gate: pooling, gate scores and the selection rule)
     * @param attentionNanos time of the block-sparse attention
     */
    public record Step(BlockMask mask, double[] densityPerHead, long selectionNanos, long attentionNanos) {
    }

    @Override
    public void attend(int layer, LayerAttention in, float[] out) {
        attendLayer(layer, in, out);
    }

    /**
     * {@link #attend} that also reports the mask, the density of this call and the time of its two steps.
     *
     * @param layer the layer index (selects the gate)
     * @param in    the layer's projections; batch may be more than 1
     * @param out   receives the attention output {@code [batch, N, Hq, D]}
     * @return the step's mask, densities and timings
     */
    public Step attendLayer(int layer, LayerAttention in, float[] out) {
        AttentionShape shape = in.shape();
        long t0 = System.nanoTime();
        BlockMask mask = selector.select(layer, in);
        long t1 = System.nanoTime();
        int nb = shape.blocks(selector.blockSize());
        mask.requireShape(shape.batch(), shape.qHeads(), nb);
        long causalPerHead = (long) nb * (nb + 1) / 2;
        long[] keptPerHead = new long[shape.batch() * shape.qHeads()];
        for (int b = 0; b < shape.batch(); b++) {
            for (int h = 0; h < shape.qHeads(); h++) {
                long n = 0;
                for (int i = 0; i < nb; i++) {
                    for (int j = 0; j <= i; j++) {
                        n += mask.keep(b, h, i, j) ? 1 : 0;
                    }
                }
                keptPerHead[b * shape.qHeads() + h] = n;
            }
        }
        synchronized (this) {
            for (int h = 0; h < Math.min(heads, shape.qHeads()); h++) {
                for (int b = 0; b < shape.batch(); b++) {
                    kept[layer][h] += keptPerHead[b * shape.qHeads() + h];
                    causal[layer][h] += causalPerHead;
                }
            }
        }
        long t2 = System.nanoTime();
        engine.blockSparse(in.q(), in.k(), in.v(), mask, out, shape, selector.blockSize(), in.scale());
        long t3 = System.nanoTime();
        double[] density = new double[keptPerHead.length];
        for (int i = 0; i < density.length; i++) {
            density[i] = (double) keptPerHead[i] / causalPerHead;
        }
        return new Step(mask, density, t1 - t0, t3 - t2);
    }

    /** Realised density per layer and head, {@code [layers][heads]} (NaN where nothing was computed yet). */
    public synchronized double[][] densityPerHead() {
        double[][] d = new double[layers][heads];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                d[l][h] = causal[l][h] == 0 ? Double.NaN : (double) kept[l][h] / causal[l][h];
            }
        }
        return d;
    }

    /** Realised density per layer. */
    public synchronized double[] densityPerLayer() {
        double[] d = new double[layers];
        for (int l = 0; l < layers; l++) {
            long k = 0;
            long c = 0;
            for (int h = 0; h < heads; h++) {
                k += kept[l][h];
                c += causal[l][h];
            }
            d[l] = c == 0 ? Double.NaN : (double) k / c;
        }
        return d;
    }

    /** Realised density over all layers and heads. */
    public synchronized double density() {
        long k = 0;
        long c = 0;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                k += kept[l][h];
                c += causal[l][h];
            }
        }
        return c == 0 ? Double.NaN : (double) k / c;
    }

    @Override
    public String toString() {
        return "seer(" + selector.name() + ", " + engine.name() + ")";
    }
}
