package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import jdk.incubator.vector.FloatVector;
import org.seerjava.reference.Rope;
import org.seerjava.reference.decode.DecodeGate;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * The SeerAttention-R decode gate ({@link DecodeGate}) in float32: the gate query of a token (head pooling, the
 * Q linear as a matrix–vector product vectorised over Dg, q norm, RoPE), the compressed keys of blocks (pooling by
 * {@link CpuPooling}, the K linear, k norm, RoPE at each block's position) and the logits or scores against the
 * compressed keys. The norms sum squares in double, as {@link org.seerjava.reference.decode.RmsNorm} does; RoPE
 * rotates the Dg channels with angles computed in double and rounded to float (as {@link CpuGate}).
 */
final class CpuDecodeGate {
    private CpuDecodeGate() {
    }

    /** {@link DecodeGate#query}: {@code qNope [batch, Hq, D]} → {@code qGate [batch, Hkv, Dg]} at {@code position}. */
    static void query(DecodeGateWeights gate, float[] qNope, float[] qGate, int batch, int position) {
        DecodeGateConfig config = gate.config();
        int hq = gate.qHeads();
        int hkv = gate.kvHeads();
        int g = gate.groupSize();
        int d = gate.headDim();
        int dg = gate.hiddenSize();
        float[] mean = new float[d];
        float[] cos = new float[dg / 2];
        float[] sin = new float[dg / 2];
        boolean rope = config.useRope();
        if (rope) {
            angles(config, position, cos, sin);
        }
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < hkv; kh++) {
                int out = (b * hkv + kh) * dg;
                int group = (b * hq + kh * g) * d;             // the g heads of the group, g·D consecutive floats
                switch (config.queryPooling()) {
                    case QProj -> matVec(qNope, group, g * d, gate.wq(), kh * g * d * dg, dg, qGate, out);
                    case QAvgProj -> {
                        groupMean(qNope, group, g, d, mean);
                        matVec(mean, 0, d, gate.wq(), kh * d * dg, dg, qGate, out);
                    }
                    case QAvg -> {
                        groupMean(qNope, group, g, d, mean);
                        System.arraycopy(mean, 0, qGate, out, d);
                    }
                }
                if (gate.qNorm() != null) {
                    rmsNorm(qGate, out, gate.qNorm());
                }
                if (rope) {
                    rotate(qGate, out, cos, sin);
                }
            }
        }
    }

    /**
     * {@link DecodeGate#compressedKeys}: {@code kNope [batch, seqLen, Hkv, D]} → {@code out [batch, nb, Hkv, Dg]},
     * block n rotated at {@code blockPositions[n]}; parallel over (batch, block).
     */
    static void compressedKeys(DecodeGateWeights gate, float[] kNope, float[] out, int batch, int seqLen,
                               int[] blockPositions) {
        DecodeGateConfig config = gate.config();
        int hkv = gate.kvHeads();
        int d = gate.headDim();
        int dg = gate.hiddenSize();
        int nb = Math.ceilDiv(seqLen, config.blockSize());
        int features = config.kDup() * d;
        float[] pooled = new float[Math.multiplyExact(Math.multiplyExact(batch * nb, hkv), features)];
        CpuPooling.pool(kNope, pooled, batch, seqLen, hkv, d, config.blockSize(), config.kPools());
        Parallel.forEach(batch * nb, row -> {
            float[] cos = new float[dg / 2];
            float[] sin = new float[dg / 2];
            if (config.useRope()) {
                angles(config, blockPositions[row % nb], cos, sin);
            }
            for (int kh = 0; kh < hkv; kh++) {
                int at = (row * hkv + kh) * dg;
                matVec(pooled, (row * hkv + kh) * features, features, gate.wk(), kh * features * dg, dg, out, at);
                if (gate.kNorm() != null) {
                    rmsNorm(out, at, gate.kNorm());
                }
                if (config.useRope()) {
                    rotate(out, at, cos, sin);
                }
            }
        });
    }

    /**
     * {@link DecodeGate#logits} (or, with {@code softmax}, {@link DecodeGate#scores}) into {@code out
     * [batch, Hkv, blocks]}. Block j of sequence b is read at {@code kCompressed[b·batchStride + (j·Hkv + kh)·Dg]},
     * so a cache with room for more blocks can be scored in place.
     */
    static void scores(DecodeGateWeights gate, float[] qGate, float[] kCompressed, int batchStride,
                       boolean[] blockAttentionMask, float[] out, int batch, int blocks, boolean softmax) {
        int hkv = gate.kvHeads();
        int dg = gate.hiddenSize();
        float scale = (float) gate.config().scale();
        float masked = (float) DecodeGate.MASKED_LOGIT;
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < hkv; kh++) {
                int row = (b * hkv + kh) * blocks;
                int q = (b * hkv + kh) * dg;
                for (int j = 0; j < blocks; j++) {
                    out[row + j] = blockAttentionMask != null && !blockAttentionMask[b * blocks + j] ? masked
                            : dot(qGate, q, kCompressed, b * batchStride + (j * hkv + kh) * dg, dg) * scale;
                }
                if (softmax) {
                    CpuGate.softmaxRow(out, row, blocks);
                }
            }
        }
    }

    /** {@code y[yOff + o] = Σ_r x[xOff + r] · W[wOff + r·out + o]} for o &lt; out, vectorised over o. */
    static void matVec(float[] x, int xOff, int rows, float[] w, int wOff, int out, float[] y, int yOff) {
        int bound = F.loopBound(out);
        int o = 0;
        for (; o < bound; o += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int r = 0, wi = wOff + o; r < rows; r++, wi += out) {
                acc = FloatVector.fromArray(F, w, wi).fma(FloatVector.broadcast(F, x[xOff + r]), acc);
            }
            acc.intoArray(y, yOff + o);
        }
        for (; o < out; o++) {
            float acc = 0f;
            for (int r = 0; r < rows; r++) {
                acc = Math.fma(x[xOff + r], w[wOff + r * out + o], acc);
            }
            y[yOff + o] = acc;
        }
    }

    private static void groupMean(float[] q, int from, int g, int d, float[] mean) {
        for (int i = 0; i < d; i++) {
            float sum = 0f;
            for (int j = 0; j < g; j++) {
                sum += q[from + j * d + i];
            }
            mean[i] = sum / g;
        }
    }

    /** RMSNorm of {@code x[off, off + w.length)} in place: {@code w ⊙ x / √(mean x² + 1e-6)}, the sum in double. */
    static void rmsNorm(float[] x, int off, float[] w) {
        double ss = 0;
        for (int i = 0; i < w.length; i++) {
            ss += (double) x[off + i] * x[off + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / w.length + DecodeGateConfig.NORM_EPS));
        for (int i = 0; i < w.length; i++) {
            x[off + i] = w[i] * (x[off + i] * inv);
        }
    }

    /** cos and sin of the gate's RoPE angles at {@code position}, computed in double. */
    static void angles(DecodeGateConfig config, double position, float[] cos, float[] sin) {
        double[] invFreq = Rope.inverseFrequencies(config.rope());
        for (int i = 0; i < cos.length; i++) {
            double angle = position * invFreq[i];
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
    }

    /** Rotate-half RoPE of {@code x[off, off + 2·half)} in place. */
    static void rotate(float[] x, int off, float[] cos, float[] sin) {
        int half = cos.length;
        for (int i = 0; i < half; i++) {
            float x1 = x[off + i];
            float x2 = x[off + half + i];
            x[off + i] = x1 * cos[i] - x2 * sin[i];
            x[off + half + i] = x2 * cos[i] + x1 * sin[i];
        }
    }

    private static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            s = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s);
        }
        float acc = VectorMath.sum(s);
        for (; i < n; i++) {
            acc = Math.fma(a[aOff + i], b[bOff + i], acc);
        }
        return acc;
    }
}
