package org.seerjava.reference.engine;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;

/** The AttnGate forward pass; semantics of {@link org.seerjava.reference.AttnGate#forward}. */
public interface GateOps {
    /**
     * Gate scores {@code out [B, Hq, nb, nb]} from pre-RoPE {@code q [B, N, Hq, D]}, {@code k [B, N, Hkv, D]}:
     * masked logits, or their row softmax when {@code softmax} is true.
     *
     * @param wq {@code W_q [Hq, qdup·D, Dg]} or null when the gate has no Q linear
     * @param wk {@code W_k [heads, kdup·D, Dg]}
     */
    void gateScores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                    GateConfig config, boolean softmax);
}
