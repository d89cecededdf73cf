package org.seerjava.reference;

/**
 * Configuration of a prefill AttnGate (docs/SPEC.md §2.1–2.2).
 *
 * @param type        which pooling functions build the gate query and key
 * @param blockSize   B, tokens per block (64 in the official gates)
 * @param hiddenSize  Dg, gate hidden size per head (128 in the official gates)
 * @param forceDouble force a Q linear even when none is needed ({@code seerattn_gate_force_double})
 * @param rope        RoPE of the base model (θ, scaling); the gate rotates {@code hiddenSize} channels at block
 *                    positions 0, B, 2B, …
 */
public record GateConfig(GateType type, int blockSize, int hiddenSize, boolean forceDouble, RopeConfig rope) {

    public GateConfig {
        if (type == null) {
            throw new IllegalArgumentException("gate type must not be null");
        }
        Checks.positive("blockSize", blockSize);
        Checks.positive("gate hiddenSize (Dg)", hiddenSize);
        if (hiddenSize % 2 != 0) {
            throw new IllegalArgumentException("gate hiddenSize (Dg) must be even for RoPE, got " + hiddenSize);
        }
        if (rope == null) {
            throw new IllegalArgumentException("gate rope config must not be null");
        }
        rope = rope.withRotaryDim(hiddenSize);
    }

    /** A gate with the default type {@code Qavg_Kmaxminavg}, block 64, no forced Q linear. */
    public static GateConfig of(GateType type, int blockSize, int hiddenSize, double ropeTheta) {
        return new GateConfig(type, blockSize, hiddenSize, false, RopeConfig.of(ropeTheta, hiddenSize));
    }

    /**
     * Case A of docs/SPEC.md §2.2: a Q linear {@code W_q [Hq, qdup·D, Dg]} exists when qdup &gt; 1, Dg ≠ D or
     * forceDouble; then {@code W_k} is {@code [Hkv, kdup·D, Dg]}. Otherwise (case B) there is no Q linear and
     * {@code W_k} is {@code [Hq, kdup·D, Dg]}, one K projection per query head.
     */
    public boolean hasQLinear(int headDim) {
        return type.qDup() > 1 || hiddenSize != headDim || forceDouble;
    }

    /** Heads of {@code W_k}: Hkv in case A, Hq in case B. */
    public int kLinearHeads(AttentionShape shape) {
        return hasQLinear(shape.headDim()) ? shape.kvHeads() : shape.qHeads();
    }

    /** Elements of {@code W_q = [Hq, qdup·D, Dg]}, or 0 when there is no Q linear. */
    public int qWeightElements(AttentionShape shape) {
        return hasQLinear(shape.headDim()) ? shape.qHeads() * type.qDup() * shape.headDim() * hiddenSize : 0;
    }

    /** Elements of {@code W_k = [heads, kdup·D, Dg]}. */
    public int kWeightElements(AttentionShape shape) {
        return kLinearHeads(shape) * type.kDup() * shape.headDim() * hiddenSize;
    }

    /** The gate's scale Dg^-0.5. */
    public double scale() {
        return 1.0 / Math.sqrt(hiddenSize);
    }
}
