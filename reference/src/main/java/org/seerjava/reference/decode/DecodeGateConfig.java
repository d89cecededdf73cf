package org.seerjava.reference.decode;

import java.util.List;

import org.seerjava.reference.Checks;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;

/**
 * Configuration of the SeerAttention-R decode gate (docs/SPEC.md §7.1–7.3).
 *
 * @param queryPooling       how the g query heads of a group become one gate query ({@code Qproj} by default)
 * @param kPools             K pooling functions along the sequence, in max, min, avg order ({@code Kmaxminavg} by
 *                           default); kdup = {@code kPools.size()}
 * @param blockSize          B, tokens per block (64 in the official gates; not restricted to {16, 32, 64} here)
 * @param hiddenSize         Dg, gate hidden size per head. The K-compression cache stores raw keys in Dg-sized slots,
 *                           so Dg must equal the model head dim D; {@link DecodeGate} checks that
 * @param useQkNorm          RMSNorm (eps {@link #NORM_EPS}, learned weight of Dg) on the gate query and the
 *                           compressed keys, after the linears and before RoPE
 * @param useRope            rotate the gate query and the compressed keys
 * @param rope               the base model's RoPE (θ, scaling); the gate rotates {@code hiddenSize} channels. May be
 *                           null only when {@code useRope} is false; its rotary dim is replaced by
 *                           {@code hiddenSize}
 * @param decodeKeyPosition  RoPE position of a compressed key completed during decoding (docs/SPEC.md §7.9 Q1);
 *                           {@link CompressedKeyPosition#CURRENT_TOKEN} matches the official code
 */
public record DecodeGateConfig(QueryHeadPooling queryPooling, List<Pool> kPools, int blockSize, int hiddenSize,
                               boolean useQkNorm, boolean useRope, RopeConfig rope,
                               CompressedKeyPosition decodeKeyPosition) {

    /** RMSNorm epsilon of the gate's qk norm. */
    public static final double NORM_EPS = 1e-6;

    /** The official K pooling, {@code Kmaxminavg}. */
    public static final List<Pool> DEFAULT_K_POOLS = List.of(Pool.MAX, Pool.MIN, Pool.AVG);

    public DecodeGateConfig {
        if (queryPooling == null) {
            throw new IllegalArgumentException("queryPooling (seerattn_q_head_pooling_type) must not be null");
        }
        kPools = checkPools(kPools);
        Checks.positive("blockSize", blockSize);
        Checks.positive("gate hiddenSize (Dg)", hiddenSize);
        if (useRope) {
            if (rope == null) {
                throw new IllegalArgumentException("rope config must not be null when useRope is true");
            }
            if (hiddenSize % 2 != 0) {
                throw new IllegalArgumentException("gate hiddenSize (Dg) must be even for RoPE, got " + hiddenSize);
            }
            rope = rope.withRotaryDim(hiddenSize);
        }
        if (decodeKeyPosition == null) {
            throw new IllegalArgumentException("decodeKeyPosition must not be null");
        }
    }

    private static List<Pool> checkPools(List<Pool> pools) {
        if (pools == null || pools.isEmpty()) {
            throw new IllegalArgumentException("kPools must name at least one of max, min, avg");
        }
        for (int i = 0; i < pools.size(); i++) {
            if (pools.get(i) == null || (i > 0 && pools.get(i).ordinal() <= pools.get(i - 1).ordinal())) {
                throw new IllegalArgumentException("kPools must list distinct pools in max, min, avg order, got "
                        + pools);
            }
        }
        return List.copyOf(pools);
    }

    /**
     * The official defaults (Qproj, Kmaxminavg, RoPE on, qk norm off, decode keys at the current token) for the
     * given block size, gate hidden size and base θ.
     */
    public static DecodeGateConfig of(int blockSize, int hiddenSize, double ropeTheta) {
        // the constructor checks Dg, then sets the rotary dim to Dg
        return new DecodeGateConfig(QueryHeadPooling.QProj, DEFAULT_K_POOLS, blockSize, hiddenSize, false, true,
                RopeConfig.of(ropeTheta, 2), CompressedKeyPosition.CURRENT_TOKEN);
    }

    /** The same configuration with another query head pooling. */
    public DecodeGateConfig withQueryPooling(QueryHeadPooling pooling) {
        return new DecodeGateConfig(pooling, kPools, blockSize, hiddenSize, useQkNorm, useRope, rope,
                decodeKeyPosition);
    }

    /** The same configuration with qk norm switched on or off. */
    public DecodeGateConfig withQkNorm(boolean on) {
        return new DecodeGateConfig(queryPooling, kPools, blockSize, hiddenSize, on, useRope, rope, decodeKeyPosition);
    }

    /** The same configuration with another decode-built key position (docs/SPEC.md §7.9 Q1). */
    public DecodeGateConfig withDecodeKeyPosition(CompressedKeyPosition position) {
        return new DecodeGateConfig(queryPooling, kPools, blockSize, hiddenSize, useQkNorm, useRope, rope, position);
    }

    /** kdup, the number of K pooling functions. */
    public int kDup() {
        return kPools.size();
    }

    /** The official K pooling name, e.g. {@code Kmaxminavg}. */
    public String kPoolingName() {
        StringBuilder sb = new StringBuilder("K");
        for (Pool p : kPools) {
            sb.append(p.label());
        }
        return sb.toString();
    }

    /** The gate's scale Dg^-0.5. */
    public double scale() {
        return 1.0 / Math.sqrt(hiddenSize);
    }
}
