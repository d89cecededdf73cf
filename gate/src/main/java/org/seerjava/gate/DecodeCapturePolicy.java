package org.seerjava.gate;

import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.engine.DecodeOps;
import org.seerjava.reference.engine.Engine;

/**
 * The training-time attention of SeerAttention-R: every layer computes dense causal attention and, in the same pass,
 * the decode target ({@link DecodeOps#attentionWithDecodeTarget}); the dense output is the layer's output, so the
 * model runs exactly as without gates. Alongside, the layer's pre-RoPE keys are pooled per block and the pre-RoPE
 * queries and target rows of the chosen rows are kept as a {@link DecodeGateSample}.
 */
public final class DecodeCapturePolicy implements AttentionPolicy {
    private final Engine engine;
    private final DecodeOps ops;
    private final DecodeGateSpec spec;
    private final int[] rows;
    private final DecodeGateSample[] samples;

    /**
     * @param rows the query rows that count in the loss, ascending (e.g. the second half of the window)
     */
    public DecodeCapturePolicy(Engine engine, DecodeGateSpec spec, int[] rows) {
        if (rows == null || rows.length == 0) {
            throw new IllegalArgumentException("capture needs at least one query row");
        }
        this.engine = engine;
        this.ops = DecodeOps.of(engine);
        this.spec = spec;
        this.rows = rows.clone();
        this.samples = new DecodeGateSample[spec.layers()];
    }

    @Override
    public void attend(int layer, LayerAttention in, float[] out) {
        AttentionShape shape = in.shape();
        if (shape.batch() != 1) {
            throw new IllegalArgumentException("capture expects batch 1, got " + shape.batch());
        }
        int n = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int bs = spec.blockSize();
        int nb = shape.blocks(bs);
        if (rows[rows.length - 1] >= n) {
            throw new IllegalArgumentException("row " + rows[rows.length - 1] + " is outside a window of " + n);
        }
        float[] target = new float[Math.toIntExact((long) hkv * n * nb)];
        ops.attentionWithDecodeTarget(in.q(), in.k(), in.v(), out, target, shape, bs, in.scale());
        var pools = spec.gate().kPools();
        float[] kPooled = new float[nb * hkv * pools.size() * d];
        engine.pool(in.kPre(), kPooled, 1, n, hkv, d, bs, pools);
        int r = rows.length;
        float[] q = new float[r * hq * d];
        float[] t = new float[hkv * r * nb];
        for (int i = 0; i < r; i++) {
            System.arraycopy(in.qPre(), rows[i] * hq * d, q, i * hq * d, hq * d);
            for (int kh = 0; kh < hkv; kh++) {
                System.arraycopy(target, (kh * n + rows[i]) * nb, t, (kh * r + i) * nb, nb);
            }
        }
        samples[layer] = new DecodeGateSample(q, rows.clone(), kPooled, t, nb);
    }

    /** The samples of the last forward pass, one per layer. */
    public DecodeGateSample[] samples() {
        for (int i = 0; i < samples.length; i++) {
            if (samples[i] == null) {
                throw new IllegalStateException("layer " + i + " was not captured");
            }
        }
        return samples.clone();
    }
}
