package org.seerjava.gate;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;

/**
 * Everything that fixes the shapes of a model's gates: the gate configuration and the attention dimensions of the
 * model it belongs to.
 *
 * @param gate    gate type, block size, gate hidden size (Dg), forced Q linear and the model's RoPE
 * @param layers  decoder layers (one gate each)
 * @param qHeads  Hq, query heads of the model
 * @param kvHeads Hkv, key/value heads of the model
 * @param headDim D, the model's head dimension
 */
public record GateSpec(GateConfig gate, int layers, int qHeads, int kvHeads, int headDim) {

    public GateSpec {
        if (gate == null) {
            throw new IllegalArgumentException("gate config must not be null");
        }
        if (layers <= 0 || qHeads <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("gate spec needs positive layers, qHeads, kvHeads and headDim, got "
                    + layers + ", " + qHeads + ", " + kvHeads + ", " + headDim);
        }
        if (qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("qHeads " + qHeads + " is not a multiple of kvHeads " + kvHeads);
        }
    }

    /** A spec with the given gate type, block size and hidden size for a model with these dimensions. */
    public static GateSpec of(GateType type, int blockSize, int hiddenSize, int layers, int qHeads, int kvHeads,
                              int headDim, RopeConfig modelRope) {
        return new GateSpec(new GateConfig(type, blockSize, hiddenSize, false, modelRope), layers, qHeads, kvHeads,
                headDim);
    }

    /** The attention shape of one sequence of {@code seqLen} tokens (batch {@code batch}). */
    public AttentionShape shape(int batch, int seqLen) {
        return new AttentionShape(batch, seqLen, qHeads, kvHeads, headDim);
    }

    /** Whether the gate has a Q linear (docs/SPEC.md §2.2 case A). */
    public boolean hasQLinear() {
        return gate.hasQLinear(headDim);
    }

    /** Shape of {@code W_q} {@code [Hq, qdup·D, Dg]}, or null when the gate has none. */
    public long[] wqShape() {
        return hasQLinear() ? new long[] {qHeads, (long) gate.type().qDup() * headDim, gate.hiddenSize()} : null;
    }

    /** Shape of {@code W_k} {@code [heads, kdup·D, Dg]} with heads = Hkv (case A) or Hq (case B). */
    public long[] wkShape() {
        return new long[] {hasQLinear() ? kvHeads : qHeads, (long) gate.type().kDup() * headDim, gate.hiddenSize()};
    }

    /** Elements of W_q (0 when absent). */
    public int wqElements() {
        long[] s = wqShape();
        return s == null ? 0 : Math.toIntExact(s[0] * s[1] * s[2]);
    }

    /** Elements of W_k. */
    public int wkElements() {
        long[] s = wkShape();
        return Math.toIntExact(s[0] * s[1] * s[2]);
    }

    /** Block size B. */
    public int blockSize() {
        return gate.blockSize();
    }
}
