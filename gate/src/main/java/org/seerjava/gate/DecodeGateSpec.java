package org.seerjava.gate;

import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * Everything that fixes the shapes of a model's SeerAttention-R decode gates: the gate configuration and the
 * attention dimensions of the model (docs/SPEC.md §7.1–7.2).
 *
 * @param gate    query head pooling, K pools, block size, Dg (= D), qk norm, RoPE, decode key position
 * @param layers  decoder layers (one gate each)
 * @param qHeads  Hq of the model
 * @param kvHeads Hkv of the model
 * @param headDim D of the model
 */
public record DecodeGateSpec(DecodeGateConfig gate, int layers, int qHeads, int kvHeads, int headDim) {

    public DecodeGateSpec {
        if (gate == null) {
            throw new IllegalArgumentException("decode gate config must not be null");
        }
        if (layers <= 0 || qHeads <= 0 || kvHeads <= 0 || headDim <= 0 || qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("decode gate spec needs positive layers and head_dim and Hq a multiple "
                    + "of Hkv, got layers " + layers + ", heads " + qHeads + "/" + kvHeads + ", head_dim " + headDim);
        }
        if (gate.hiddenSize() != headDim) {
            throw new IllegalArgumentException("decode gate hidden size " + gate.hiddenSize() + " must equal the "
                    + "model's head_dim " + headDim + " (the K-compression cache keeps raw keys in gate-sized slots)");
        }
    }

    /**
     * The official gate for a model: Qproj, Kmaxminavg, Dg = D, RoPE with the model's θ and scaling, decode keys
     * rotated at the current token; qk norm as given.
     */
    public static DecodeGateSpec of(ModelDims model, int blockSize, boolean qkNorm) {
        DecodeGateConfig config = new DecodeGateConfig(QueryHeadPooling.QProj, DecodeGateConfig.DEFAULT_K_POOLS,
                blockSize, model.headDim(), qkNorm, true, model.rope(),
                org.seerjava.reference.decode.CompressedKeyPosition.CURRENT_TOKEN);
        return new DecodeGateSpec(config, model.layers(), model.qHeads(), model.kvHeads(), model.headDim());
    }

    /** g = Hq / Hkv. */
    public int groupSize() {
        return qHeads / kvHeads;
    }

    /** B. */
    public int blockSize() {
        return gate.blockSize();
    }

    /** Shape of {@code W_q}: {@code [Hkv, g, D, Dg]} (Qproj), {@code [Hkv, D, Dg]} (Qavgproj), null (Qavg). */
    public long[] wqShape() {
        int dg = gate.hiddenSize();
        return switch (gate.queryPooling()) {
            case QProj -> new long[] {kvHeads, groupSize(), headDim, dg};
            case QAvgProj -> new long[] {kvHeads, headDim, dg};
            case QAvg -> null;
        };
    }

    /** Shape of {@code W_k}: {@code [Hkv, kdup·D, Dg]}. */
    public long[] wkShape() {
        return new long[] {kvHeads, (long) gate.kDup() * headDim, gate.hiddenSize()};
    }

    /** Elements of W_q (0 for Qavg). */
    public int wqElements() {
        return DecodeGateWeights.qWeightElements(gate, qHeads, kvHeads, headDim);
    }

    /** Elements of W_k. */
    public int wkElements() {
        return Math.toIntExact((long) kvHeads * gate.kDup() * headDim * gate.hiddenSize());
    }

    /** Elements of each norm weight (Dg with qk norm, else 0). */
    public int normElements() {
        return gate.useQkNorm() ? gate.hiddenSize() : 0;
    }
}
