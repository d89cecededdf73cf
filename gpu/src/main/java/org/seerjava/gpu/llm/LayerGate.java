package org.seerjava.gpu.llm;

import org.seerjava.reference.GateConfig;

/**
 * The AttnGate of one layer as the GPU prefill uses it (pool → gate → select → block-sparse attention).
 *
 * @param config the gate's type, sizes and block RoPE
 * @param wq     the Q linear {@code [Hq, fq, Dg]} float32, or null without one
 * @param wk     the K linear {@code [Hkv or Hq, fk, Dg]} float32
 */
public record LayerGate(GateConfig config, float[] wq, float[] wk) {
    public LayerGate {
        if (config == null || wk == null) {
            throw new IllegalArgumentException("a layer gate needs its config and its K linear weights");
        }
    }
}
