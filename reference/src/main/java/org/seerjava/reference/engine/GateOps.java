package org.seerjava.reference.engine;

import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.VarlenShape;

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

    /**
     * Gate scores of a varlen batch, {@code out Σ_b [Hq, nb_b, nb_b]} (sequence b's map at
     * {@link org.seerjava.reference.VarlenBatch#cuMaps cuMaps}[b]) from pre-RoPE {@code q [total, Hq, D]},
     * {@code k [total, Hkv, D]}; semantics of {@link org.seerjava.reference.VarlenPrefill#gateScores}. The default
     * checks the arguments once ({@link EngineArgs#gateScoresVarlen}) and runs {@link #gateScores} on each sequence.
     */
    default void gateScoresVarlen(float[] q, float[] k, float[] wq, float[] wk, float[] out, VarlenShape shape,
                                  GateConfig config, boolean softmax) {
        EngineArgs.SCALAR.gateScoresVarlen(q, k, wq, wk, out, shape, config);
        int[] cuMaps = shape.batch().cuMaps(shape.qHeads(), config.blockSize());
        for (int b = 0; b < shape.sequences(); b++) {
            float[] map = new float[cuMaps[b + 1] - cuMaps[b]];
            gateScores(VarlenSlices.qRows(q, shape, b), VarlenSlices.kvRows(k, shape, b), wq, wk, map,
                    shape.sequence(b), config, softmax);
            System.arraycopy(map, 0, out, cuMaps[b], map.length);
        }
    }
}
