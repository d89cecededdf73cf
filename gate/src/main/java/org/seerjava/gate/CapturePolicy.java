package org.seerjava.gate;

import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Checks;
import org.seerjava.reference.GateType;
import org.seerjava.reference.HeapBudget;
import org.seerjava.reference.engine.Engine;

/**
 * The training-time attention of SeerAttention (docs/SPEC.md §2.7): every layer computes dense causal attention
 * and, in the same pass, the pooled target ({@code engine.attentionWithPooledTarget}); the dense output is the layer output, so
 * the model runs exactly as without gates. Alongside, the layer's pre-RoPE q and k are pooled as the gate type asks
 * ({@code engine.pool}) and kept with the target as a {@link GateSample}.
 */
public final class CapturePolicy implements AttentionPolicy {
    private final Engine engine;
    private final GateSpec spec;
    private final GateSample[] samples;

    public CapturePolicy(Engine engine, GateSpec spec) {
        this.engine = engine;
        this.spec = spec;
        this.samples = new GateSample[spec.layers()];
    }

    @Override
    public void attend(int layer, LayerAttention in, float[] out) {
        AttentionShape shape = in.shape();
        if (shape.batch() != 1) {
            throw new IllegalArgumentException("capture expects batch 1, got " + shape.batch());
        }
        int bs = spec.blockSize();
        int nb = shape.blocks(bs);
        int n = shape.seqLen();
        GateType type = spec.gate().type();
        float[] target = new float[HeapBudget.floatArray("the pooled attention [Hq, nb, nb] at N = " + n,
                Checks.blockMap(1, shape.qHeads(), nb))];
        engine.attentionWithPooledTarget(in.q(), in.k(), in.v(), out, target, shape, bs, in.scale());
        float[] qp = new float[nb * shape.qHeads() * type.qDup() * shape.headDim()];
        float[] kp = new float[nb * shape.kvHeads() * type.kDup() * shape.headDim()];
        engine.pool(in.qPre(), qp, 1, n, shape.qHeads(), shape.headDim(), bs, type.qPools());
        engine.pool(in.kPre(), kp, 1, n, shape.kvHeads(), shape.headDim(), bs, type.kPools());
        samples[layer] = new GateSample(qp, kp, target, nb);
    }

    /** The samples of the last forward pass, one per layer. */
    public GateSample[] samples() {
        for (int i = 0; i < samples.length; i++) {
            if (samples[i] == null) {
                throw new IllegalStateException("layer " + i + " was not captured");
            }
        }
        return samples.clone();
    }
}
