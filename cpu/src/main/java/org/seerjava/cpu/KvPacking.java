package org.seerjava.cpu;

import static org.seerjava.cpu.TileLayout.A;
import static org.seerjava.cpu.TileLayout.DW;
import static org.seerjava.cpu.TileLayout.KG;
import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.seerjava.reference.Checks;

/**
 * K and V laid out for the CPU attention kernel ({@link FlashAttention}), once per call, in buffers the calling thread
 * keeps for its next call, and checked for NaN/±∞ in the same pass.
 */
final class KvPacking {
    /** Packed K/V buffers are kept for the next call of the same thread up to this many floats each. */
    private static final int KEEP_FLOATS = keepFloats(Runtime.getRuntime().maxMemory());

    private KvPacking() {
    }

    /**
     * Up to 1/16 of the maximum heap per buffer, at least 64 MiB and at most 1 GiB: a buffer that is not kept is
     * allocated again, and zeroed by the JVM, at every call; with the 64 MiB limit this had, N = 16384 with 8 KV heads
     * of 128 (67 MiB each for K and V) paid that on every call.
     */
    static int keepFloats(long maxHeapBytes) {
        long floats = maxHeapBytes / 16 / Float.BYTES;
        return (int) Math.max(1 << 24, Math.min(1 << 28, floats));
    }

    /** The calling thread's packed K/V buffers, kept between calls (see {@link #KEEP_FLOATS}). */
    private static final class Buffers {
        float[] k = new float[0];
        float[] v = new float[0];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /**
     * K laid out per head and key block, the keys of a block in groups of KG interleaved channel by channel,
     * {@code [B, Hkv, nb, BNp / KG, D, KG]} (BNp = block size rounded up to KG; the lanes past a block's last key repeat
     * that key, so they can never raise a tile's maximum), so that the score micro-kernel broadcasts its four keys'
     * elements from one pointer stepping KG floats; and V per head and per D chunk of the P·V micro-tile,
     * {@code [B, Hkv, Dp / DW, N, DW]} (Dp = D rounded up to DW, zero padded), so that each D chunk of a V block is
     * one contiguous run, which the P·V kernel reads once per 6 rows: in the input layout key rows are Hkv·D apart,
     * which for Hkv·D = 1024 puts every key row on its own 4 KiB page (no hardware prefetch across rows) and all 64
     * rows of a block in the same few L1 sets. For sequences of different lengths (a varlen batch) each sequence s is
     * laid out so after the ones before it: its K at block row Hkv·blockStart[s] ({@code [Hkv, nb_s, BNp / KG, D, KG]}),
     * its V at token row Hkv·start[s] ({@code [Hkv, Dp / DW, N_s, DW]}).
     */
    record Packed(float[] k, int bnp, float[] v, int dp, float maxK, float maxV) {
    }

    /**
     * Packs K and V (see {@link Packed}) and finds their largest magnitudes on the way, so that each is read once:
     * the maximum of |x| over a task's rows is NaN or +∞ exactly when one of them is not finite (max propagates NaN).
     * A task copies the rows of all KV heads of a run of one sequence's tokens, so it reads the inputs sequentially. A
     * bad value is reported by {@link Checks#allFinite} (k before v), before any output is written; the magnitudes go
     * to the range check ({@link org.seerjava.reference.engine.EngineArgs#attentionRange}).
     *
     * @param seqs the sequences of the packed rows of k and v ({@code [total, Hkv, D]})
     */
    static Packed pack(float[] k, float[] v, Sequences seqs, int hkv, int d) {
        int bs = seqs.blockSize();
        int dp = Vec.roundUp(d, DW);
        int dChunks = dp / DW;
        int bnp = Vec.roundUp(bs, KG);
        Buffers buffers = BUFFERS.get();
        long kSize = (long) hkv * seqs.totalBlocks() * bnp * d;
        long vSize = A + (long) hkv * seqs.total() * dp;
        float[] kp = buffer(buffers.k, kSize, "packed K");
        float[] vp = buffer(buffers.v, vSize, "packed V");
        if (kp.length <= KEEP_FLOATS) {
            buffers.k = kp;
        }
        if (vp.length <= KEEP_FLOATS) {
            buffers.v = vp;
        }
        int chunk = Math.max(16, 4096 / Math.max(1, hkv));      // tokens per task
        int[] firstTask = new int[seqs.count() + 1];             // sequence s's tasks: [firstTask[s], firstTask[s+1])
        for (int s = 0; s < seqs.count(); s++) {
            firstTask[s + 1] = firstTask[s] + Math.ceilDiv(seqs.length(s), chunk);
        }
        int taskCount = firstTask[seqs.count()];
        float[] maxKs = new float[taskCount];
        float[] maxVs = new float[taskCount];
        int bound = F.loopBound(d);
        boolean vectorK = L >= KG && d % L == 0;
        Parallel.forEach(taskCount, task -> {
            int s = sequenceOfTask(firstTask, task);
            int c = task - firstTask[s];
            int n = seqs.length(s);
            int t0 = seqs.start(s);
            int nb = seqs.blocks(s);
            int kHeads = hkv * seqs.blockStart(s);               // block row of (s, kh = 0) in the packed K
            int vHeads = hkv * t0 * dChunks;                      // token row of (s, kh = 0, chunk 0) in the packed V
            int end = Math.min(n, (c + 1) * chunk);
            FloatVector maxK = FloatVector.zero(F);
            FloatVector maxV = maxK;
            float tailK = 0f;
            float tailV = 0f;
            for (int t = c * chunk; t < end; t++) {
                int j = t / bs;
                int kl = t - j * bs;
                int lastKey = Math.min(bs, n - j * bs) - 1;
                // K: key kl of block j is lane kl % KG of group kl / KG; the last key also fills its group's spare lanes.
                // A whole group inside this task's tokens is interleaved by vectors when its last token is reached.
                int w = kl % KG;
                int lanes = kl == lastKey ? KG - w : 1;
                boolean grouped = vectorK && t - w >= c * chunk && t - w + KG <= end && kl - w + KG - 1 <= lastKey;
                for (int kh = 0; kh < hkv; kh++) {
                    int src = ((t0 + t) * hkv + kh) * d;
                    int dstK = ((kHeads + kh * nb + j) * bnp + kl - w) * d + w;      // lane w of key kl's group
                    int dstV = A + (vHeads + kh * dChunks * n + t) * DW;  // chunk 0 of token t; chunk j is j·N·DW further
                    int x = 0;
                    for (; x < bound; x += L) {
                        FloatVector e = FloatVector.fromArray(F, v, src + x);
                        maxV = maxV.max(e.abs());                   // NaN stays NaN, ±∞ becomes +∞
                        e.intoArray(vp, dstV + (x / DW) * n * DW + x % DW);
                        maxK = maxK.max(FloatVector.fromArray(F, k, src + x).abs());
                    }
                    for (; x < d; x++) {
                        tailV = Math.max(tailV, Math.abs(v[src + x]));
                        vp[dstV + (x / DW) * n * DW + x % DW] = v[src + x];
                        tailK = Math.max(tailK, Math.abs(k[src + x]));
                    }
                    if (!grouped) {
                        for (int lane = 0; lane < lanes; lane++) {
                            for (int ch = 0, at = dstK + lane; ch < d; ch++, at += KG) {
                                kp[at] = k[src + ch];
                            }
                        }
                    } else if (w == KG - 1) {
                        interleaveKeys(k, src - (KG - 1) * hkv * d, hkv * d, kp, dstK - w, d);
                    }
                    if (dp > d) {           // buffers are reused: the padding (all in the last chunk) must be set
                        int last = dstV + (dChunks - 1) * n * DW;
                        Arrays.fill(vp, last + d % DW, last + DW, 0f);
                    }
                }
            }
            maxKs[task] = Math.max(maxK.reduceLanes(VectorOperators.MAX), tailK);
            maxVs[task] = Math.max(maxV.reduceLanes(VectorOperators.MAX), tailV);
        });
        float maxK = 0;
        float maxV = 0;
        for (int t = 0; t < maxKs.length; t++) {
            maxK = Math.max(maxK, maxKs[t]);
            maxV = Math.max(maxV, maxVs[t]);
        }
        if (!(maxK < Float.POSITIVE_INFINITY)) {
            Checks.allFinite("k", k);
        }
        if (!(maxV < Float.POSITIVE_INFINITY)) {
            Checks.allFinite("v", v);
        }
        return new Packed(kp, bnp, vp, dp, maxK, maxV);
    }

    /** The sequence whose tasks {@code [firstTask[s], firstTask[s+1])} hold {@code task}. */
    private static int sequenceOfTask(int[] firstTask, int task) {
        int at = Arrays.binarySearch(firstTask, 0, firstTask.length - 1, task);
        return at >= 0 ? at : -at - 2;
    }

    /** Lane i of the first (second) vector of two interleaved lane by lane: lane i / 2 of a or b (of their upper halves). */
    private static final FloatVector PAIRS_LOW = indices(i -> i % 2 == 0 ? i / 2 : L + i / 2);
    private static final FloatVector PAIRS_HIGH = indices(i -> i % 2 == 0 ? L / 2 + i / 2 : L + L / 2 + i / 2);
    /** Lane i: lanes of a and b taken two at a time, alternately, from the lower (upper) halves. */
    private static final FloatVector QUADS_LOW = indices(i -> (i % 4 < 2 ? 0 : L - 2) + i / 4 * 2 + i % 4);
    private static final FloatVector QUADS_HIGH = indices(i -> (i % 4 < 2 ? 0 : L - 2) + L / 2 + i / 4 * 2 + i % 4);

    private static FloatVector indices(java.util.function.IntUnaryOperator lane) {
        float[] index = new float[L];
        for (int i = 0; i < L; i++) {
            index[i] = lane.applyAsInt(i);
        }
        return FloatVector.fromArray(F, index, 0);
    }

    /**
     * Writes KG = 4 consecutive key rows (row i at {@code src + i·rowStride}) as one interleaved group,
     * {@code kp[dst + c·4 + i] = k[src + i·rowStride + c]}, L channels at a time by two rounds of two-vector lane
     * selections (the rows interleaved in pairs, then the pairs in pairs) instead of 4·L scalar stores.
     */
    private static void interleaveKeys(float[] k, int src, int rowStride, float[] kp, int dst, int d) {
        for (int x = 0; x < d; x += L) {
            FloatVector r0 = FloatVector.fromArray(F, k, src + x);
            FloatVector r1 = FloatVector.fromArray(F, k, src + rowStride + x);
            FloatVector r2 = FloatVector.fromArray(F, k, src + 2 * rowStride + x);
            FloatVector r3 = FloatVector.fromArray(F, k, src + 3 * rowStride + x);
            FloatVector low01 = PAIRS_LOW.selectFrom(r0, r1);
            FloatVector high01 = PAIRS_HIGH.selectFrom(r0, r1);
            FloatVector low23 = PAIRS_LOW.selectFrom(r2, r3);
            FloatVector high23 = PAIRS_HIGH.selectFrom(r2, r3);
            int at = dst + x * KG;
            QUADS_LOW.selectFrom(low01, low23).intoArray(kp, at);
            QUADS_HIGH.selectFrom(low01, low23).intoArray(kp, at + L);
            QUADS_LOW.selectFrom(high01, high23).intoArray(kp, at + 2 * L);
            QUADS_HIGH.selectFrom(high01, high23).intoArray(kp, at + 3 * L);
        }
    }

    private static float[] buffer(float[] kept, long size, String name) {
        return kept.length >= size ? kept : new float[Checks.arraySize(name, size)];
    }
}
