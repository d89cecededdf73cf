package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import jdk.incubator.vector.FloatVector;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Rope;
import org.seerjava.reference.VarlenShape;

/**
 * The AttnGate forward pass ({@link AttnGate#forward}) vectorised: pooling, the multi-head linears (rows of the
 * pooled input broadcast against weight rows, vector over the gate hidden size), block RoPE, the block-causal Q·K
 * logits with {@link AttnGate#MASKED_LOGIT} above the diagonal, and the optional row softmax. Parallel over
 * heads for the linears, over block rows for RoPE and over (sequence, head) for the logits; a batch and a varlen
 * batch ({@link Sequences}) take the same path.
 */
final class CpuGate {
    private CpuGate() {
    }

    static void scores(float[] q, float[] k, float[] wq, float[] wk, float[] out, AttentionShape shape,
                       GateConfig config, boolean softmax) {
        scores(q, k, wq, wk, out, Sequences.uniform(shape.batch(), shape.seqLen(), config.blockSize()), shape, config,
                softmax);
    }

    /**
     * The scores of a varlen batch, {@code out Σ_s [Hq, nb_s, nb_s]}: each sequence's blocks and gate positions from
     * its first token, all sequences in the same parallel loops.
     */
    static void scoresVarlen(float[] q, float[] k, float[] wq, float[] wk, float[] out, VarlenShape shape,
                             GateConfig config, boolean softmax) {
        scores(q, k, wq, wk, out, Sequences.of(shape.batch(), config.blockSize()), shape.longestSequence(), config,
                softmax);
    }

    /** The gate on the sequences {@code seqs} of packed rows; {@code heads} gives Hq, Hkv and D. */
    private static void scores(float[] q, float[] k, float[] wq, float[] wk, float[] out, Sequences seqs,
                               AttentionShape heads, GateConfig config, boolean softmax) {
        int hq = heads.qHeads();
        int hkv = heads.kvHeads();
        int g = heads.groupSize();
        int d = heads.headDim();
        int dg = config.hiddenSize();
        int bs = config.blockSize();
        GateType type = config.type();
        boolean hasQLinear = config.hasQLinear(d);
        int keyHeads = config.kLinearHeads(heads);
        int qIn = type.qDup() * d;
        int kIn = type.kDup() * d;
        int rows = seqs.totalBlocks();

        float[] qPooled = new float[rows * hq * qIn];
        float[] kPooled = new float[rows * hkv * kIn];
        CpuPooling.pool(q, qPooled, seqs, hq, d, type.qPools());
        CpuPooling.pool(k, kPooled, seqs, hkv, d, type.kPools());

        float[] qGate = hasQLinear ? new float[rows * hq * dg] : qPooled;
        float[] kGate = new float[rows * keyHeads * dg];
        double[] invFreq = Rope.inverseFrequencies(config.rope());
        int half = invFreq.length;
        int repeat = keyHeads / hkv;
        int qTasks = hasQLinear ? hq : 0;
        // The linears head by head, so that one head's weights stay in cache across all block rows.
        Parallel.forEach(qTasks + keyHeads, task -> {
            if (task < qTasks) {
                linearHead(qPooled, wq, qGate, task, rows, hq, hq, qIn, dg, 1);
            } else {
                linearHead(kPooled, wk, kGate, task - qTasks, rows, hkv, keyHeads, kIn, dg, repeat);
            }
        });
        Parallel.forEach(rows, row -> {
            int block = row - seqs.blockStart(seqs.sequenceOfBlock(row));   // counted from the sequence's first block
            double position = (double) block * bs;
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (int i = 0; i < half; i++) {
                double angle = position * invFreq[i];
                cos[i] = (float) Math.cos(angle);
                sin[i] = (float) Math.sin(angle);
            }
            for (int h = 0; h < hq; h++) {   // case B rotates the pooled q itself (qGate == qPooled)
                rotate(qGate, (row * hq + h) * dg, cos, sin);
            }
            for (int h = 0; h < keyHeads; h++) {
                rotate(kGate, (row * keyHeads + h) * dg, cos, sin);
            }
        });
        float scale = (float) config.scale();
        float masked = (float) AttnGate.MASKED_LOGIT;
        int[] mapStart = seqs.mapStart(hq);
        Parallel.forEach(seqs.count() * hq, sh -> {
            int s = sh / hq;
            int h = sh % hq;
            int kh = hasQLinear ? h / g : h;
            int nb = seqs.blocks(s);
            int first = seqs.blockStart(s);
            for (int i = 0; i < nb; i++) {
                int qBase = ((first + i) * hq + h) * dg;
                int rowOut = mapStart[s] + (h * nb + i) * nb;
                for (int j = 0; j <= i; j++) {
                    int kBase = ((first + j) * keyHeads + kh) * dg;
                    out[rowOut + j] = dot(qGate, qBase, kGate, kBase, dg) * scale;
                }
                for (int j = i + 1; j < nb; j++) {
                    out[rowOut + j] = masked;
                }
                if (softmax) {
                    softmaxRow(out, rowOut, nb);
                }
            }
        });
    }

    /**
     * y[row, oh, :] = Σ_i x[row, oh / repeat, i] · W[oh, i, :] for every row of one output head: 4 rows × one
     * output vector per micro-tile, so each weight vector loaded serves 4 rows.
     */
    private static void linearHead(float[] x, float[] w, float[] y, int oh, int rows, int inHeads, int outHeads,
                                   int in, int out, int repeat) {
        int xh = oh / repeat;
        int wHead = oh * in * out;
        int bound = F.loopBound(out);
        for (int r0 = 0; r0 < rows; r0 += 4) {
            int last = Math.min(rows, r0 + 4) - 1;
            int x0 = (r0 * inHeads + xh) * in;
            int x1 = (Math.min(r0 + 1, last) * inHeads + xh) * in;
            int x2 = (Math.min(r0 + 2, last) * inHeads + xh) * in;
            int x3 = (Math.min(r0 + 3, last) * inHeads + xh) * in;
            int o = 0;
            for (; o < bound; o += L) {
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int i = 0, wo = wHead + o; i < in; i++, wo += out) {
                    FloatVector wv = FloatVector.fromArray(F, w, wo);
                    a0 = wv.fma(FloatVector.broadcast(F, x[x0 + i]), a0);
                    a1 = wv.fma(FloatVector.broadcast(F, x[x1 + i]), a1);
                    a2 = wv.fma(FloatVector.broadcast(F, x[x2 + i]), a2);
                    a3 = wv.fma(FloatVector.broadcast(F, x[x3 + i]), a3);
                }
                a0.intoArray(y, (r0 * outHeads + oh) * out + o);
                if (r0 + 1 <= last) {
                    a1.intoArray(y, ((r0 + 1) * outHeads + oh) * out + o);
                }
                if (r0 + 2 <= last) {
                    a2.intoArray(y, ((r0 + 2) * outHeads + oh) * out + o);
                }
                if (r0 + 3 <= last) {
                    a3.intoArray(y, ((r0 + 3) * outHeads + oh) * out + o);
                }
            }
            for (; o < out; o++) {
                for (int r = r0; r <= last; r++) {
                    int xb = (r * inHeads + xh) * in;
                    float acc = 0f;
                    for (int i = 0; i < in; i++) {
                        acc += x[xb + i] * w[wHead + i * out + o];
                    }
                    y[(r * outHeads + oh) * out + o] = acc;
                }
            }
        }
    }

    /** Rotate-half RoPE of x[off, off + 2·half) in place. */
    private static void rotate(float[] x, int off, float[] cos, float[] sin) {
        int half = cos.length;
        int bound = F.loopBound(half);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector x1 = FloatVector.fromArray(F, x, off + i);
            FloatVector x2 = FloatVector.fromArray(F, x, off + half + i);
            FloatVector c = FloatVector.fromArray(F, cos, i);
            FloatVector s = FloatVector.fromArray(F, sin, i);
            x1.mul(c).sub(x2.mul(s)).intoArray(x, off + i);
            x2.mul(c).add(x1.mul(s)).intoArray(x, off + half + i);
        }
        for (; i < half; i++) {
            float x1 = x[off + i];
            float x2 = x[off + half + i];
            x[off + i] = x1 * cos[i] - x2 * sin[i];
            x[off + half + i] = x2 * cos[i] + x1 * sin[i];
        }
    }

    private static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        int i = 0;
        int bound2 = n - n % (2 * L);
        for (; i < bound2; i += 2 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), s1);
        }
        for (; i + L <= n; i += L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
        }
        float acc = VectorMath.sum(s0.add(s1));   // fixed order: same bits in every JIT tier
        for (; i < n; i++) {
            acc += a[aOff + i] * b[bOff + i];
        }
        return acc;
    }

    /** Row softmax in place; masked entries (float min) become exactly 0. */
    static void softmaxRow(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, x[off + j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double e = Math.exp((double) x[off + j] - max);
            x[off + j] = (float) e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int j = 0; j < n; j++) {
            x[off + j] *= inv;
        }
    }
}
