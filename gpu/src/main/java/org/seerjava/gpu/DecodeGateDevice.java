package org.seerjava.gpu;

import java.util.ArrayList;
import java.util.List;
import org.seerjava.reference.Rope;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * One layer's SeerAttention-R decode gate on the device ({@code decode_gate.cu}): the float32 weights of a
 * {@link DecodeGateWeights} (already checked there) and the RoPE inverse frequencies in float64, with the integer
 * codes the kernels take for the configuration. Closing it frees the device copies.
 * <pre>
 *   wq    [Hkv, g, D, Dg] (Qproj) or [Hkv, D, Dg] (Qavgproj); none for Qavg      pooling code 0 / 1 / 2
 *   wk    [Hkv, kdup·D, Dg]                                                      K pools as bits: 1 max, 2 min, 4 avg
 *   qNorm, kNorm [Dg] with qk norm; invFreq [Dg / 2] (float64) with RoPE        key position: 0 block start, 1 current
 * </pre>
 */
public final class DecodeGateDevice implements AutoCloseable {
    private final DecodeGateWeights weights;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final DeviceBuffer wq;
    private final DeviceBuffer wk;
    private final DeviceBuffer qNorm;
    private final DeviceBuffer kNorm;
    private final DeviceBuffer invFreq;

    private DecodeGateDevice(DecodeGateWeights w) {
        this.weights = w;
        DecodeGateConfig c = w.config();
        try {
            this.wq = w.wq() == null ? null : own(DeviceBuffer.of(w.wq()));
            this.wk = own(DeviceBuffer.of(w.wk()));
            this.qNorm = w.qNorm() == null ? null : own(DeviceBuffer.of(w.qNorm()));
            this.kNorm = w.kNorm() == null ? null : own(DeviceBuffer.of(w.kNorm()));
            this.invFreq = c.useRope() ? own(DeviceBuffer.of(Rope.inverseFrequencies(c.rope()))) : null;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Copies the gate to the device. */
    public static DecodeGateDevice upload(DecodeGateWeights weights) {
        if (weights == null) {
            throw new IllegalArgumentException("decode gate weights must not be null");
        }
        return new DecodeGateDevice(weights);
    }

    private DeviceBuffer own(DeviceBuffer b) {
        owned.add(b);
        return b;
    }

    /** The host weights this copy was made from. */
    public DecodeGateWeights weights() {
        return weights;
    }

    private static long address(DeviceBuffer b) {
        return b == null ? 0L : b.pointer();
    }

    /** {@code W_q}, or 0 for Qavg. */
    public long wq() {
        return address(wq);
    }

    public long wk() {
        return address(wk);
    }

    /** The q norm weight, or 0 without qk norm. */
    public long qNorm() {
        return address(qNorm);
    }

    /** The k norm weight, or 0 without qk norm. */
    public long kNorm() {
        return address(kNorm);
    }

    /** The RoPE inverse frequencies (float64), or 0 without RoPE. */
    public long invFreq() {
        return address(invFreq);
    }

    /** The kernels' query pooling code: 0 Qproj, 1 Qavgproj, 2 Qavg. */
    public int pooling() {
        return switch (weights.config().queryPooling()) {
            case QProj -> 0;
            case QAvgProj -> 1;
            case QAvg -> 2;
        };
    }

    /** The K pools as bits (1 max, 2 min, 4 avg). */
    public int kPools() {
        return SeerKernels.poolBits(weights.config().kPools());
    }

    /** kdup, the K pool count. */
    public int kDup() {
        return weights.config().kDup();
    }

    /**
     * The kernels' code of the RoPE position of a block completed during decoding (docs/SPEC.md §7.9 Q1): 0 at the
     * block's first token, 1 at the completing token.
     */
    public int decodeKeyPosition() {
        return weights.config().decodeKeyPosition() == CompressedKeyPosition.BLOCK_START ? 0 : 1;
    }

    /** Device bytes of the copies. */
    public long bytes() {
        long b = 0;
        for (DeviceBuffer x : owned) {
            b += x.bytes();
        }
        return b;
    }

    @Override
    public void close() {
        for (DeviceBuffer b : owned) {
            b.close();
        }
    }
}
