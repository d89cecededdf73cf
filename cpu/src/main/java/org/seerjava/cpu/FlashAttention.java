package org.seerjava.cpu;

import static org.seerjava.cpu.TileLayout.A;
import static org.seerjava.cpu.TileLayout.DW;
import static org.seerjava.cpu.TileLayout.PT;
import static org.seerjava.cpu.TileLayout.RW;
import static org.seerjava.cpu.TileLayout.panelled;
import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.EngineArgs;

/**
 * FlashAttention-2 style causal attention on the CPU: the work is split into units (batch, query head, query block
 * of {@code bs} rows), and a task takes eight consecutive units of one KV head — the query heads of a block that
 * share it, then adjacent query blocks — and walks the union of their kept key blocks once, so each K/V tile fetched
 * serves every unit of the task that keeps it; an online softmax per unit (exponentials by
 * {@link VectorMath#expNonPositive}, bit-identical in every JIT tier).
 *
 * <p>The pieces, one class each: {@link KvPacking} lays K and V out once per call and checks them for NaN/±∞ on the
 * way; {@link AttentionTasks} orders the units and groups them into tasks; this class walks a task's key blocks —
 * transposing each unit's query block into {@code Qt}, the score tile ({@link ScoreTiles}), the online-softmax step,
 * the output update ({@link PvTiles}) — and normalises the output; {@link CpuPooledTarget} turns the softmax
 * statistics into the pooled target. {@link TileLayout} holds the tile shapes they share.
 *
 * <p>Tiles. A unit's query block is transposed once into {@code Qt} (rows in vector lanes, pre-scaled by the softmax
 * scale; one gather of L rows per channel), in panels of RW = 4·L rows: {@code Qt [BMp / RW][D][RW]}. For each key
 * block, the score tile {@code St [BMp / RW][key][RW] = Qt · Kᵀ} is a register-tiled product (4 keys × 4 row vectors
 * = 16 FMA accumulators, K elements broadcast); the softmax statistics (running max, sum, correction) are then vectors
 * over rows. {@code O += P · V} is a second register tile (6 rows × 4 vectors over D = 24 accumulators, 4 rows for
 * a panel's last 4 or 8 rows; P broadcast, V loaded contiguously), with O in chunks of DW = 4·L channels,
 * {@code O [Dp / DW][BMp][DW]}; the online-softmax correction of O is folded into the load of its accumulators. On
 * the diagonal block only the key groups a row vector can see are computed ({@link ScoreTiles#scoresDiagonal}). K/V
 * are never repeated for GQA: query head h reads key head h / g. Tasks run KV head by KV head, heaviest query blocks
 * first within a head.
 *
 * <p>Per-thread scratch holds every tile, so the hot loops allocate nothing.
 */
final class FlashAttention {
    private FlashAttention() {
    }

    /**
     * Units per task: eight, so that each K/V tile fetched serves up to 512 query rows while the units' tiles (Q and O,
     * 64 KiB a unit) stay well inside a 2 MiB L2. Two, four and sixteen were measured against it (docs/PERFORMANCE.md,
     * "How the CPU kernels work").
     */
    static final int UNITS = 8;

    /** The state of one unit (query head h, query block m) of a task: its Q tile, O and softmax statistics. */
    private static final class Unit {
        float[] qt = new float[0];
        float[] o = new float[0];
        float[] rowMax = new float[0];
        float[] rowSum = new float[0];
        float[] corr = new float[0];
        float[] blockMax = new float[0];
        int h;
        int m;
        int rows;
        boolean first;

        void ensure(int bmp, int d, int dp, int maxBlocks, boolean target) {
            if (qt.length < A + d * bmp) {
                qt = new float[A + d * bmp];
            }
            if (o.length < A + bmp * dp) {
                o = new float[A + bmp * dp];
            }
            if (rowMax.length < bmp) {
                rowMax = new float[bmp];
                rowSum = new float[bmp];
                corr = new float[bmp];
            }
            if (target && blockMax.length < maxBlocks * bmp) {
                blockMax = new float[maxBlocks * bmp];
            }
        }
    }

    /** Per-thread tiles, grown on demand. */
    private static final class Scratch {
        Unit[] units = new Unit[0];
        float[] st = new float[0];
        float[] tileMax = new float[0];
        int[] gather = new int[L];
        int gatherStride = -1;

        /** Offsets 0, stride, 2·stride, … of the Q gather. */
        int[] gather(int stride) {
            if (stride != gatherStride) {
                for (int i = 0; i < L; i++) {
                    gather[i] = i * stride;
                }
                gatherStride = stride;
            }
            return gather;
        }

        void ensure(int count, int bmp, int bnp, int d, int dp, int maxBlocks, boolean target) {
            if (units.length < count) {
                Unit[] grown = java.util.Arrays.copyOf(units, count);
                for (int i = units.length; i < count; i++) {
                    grown[i] = new Unit();
                }
                units = grown;
            }
            for (int i = 0; i < count; i++) {
                units[i].ensure(bmp, d, dp, maxBlocks, target);
            }
            if (st.length < A + bnp * bmp) {
                st = new float[A + bnp * bmp];
            }
            if (tileMax.length < bmp) {
                tileMax = new float[bmp];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Causal attention over the blocks of {@code mask} (all causal blocks when null); also the pooled target
     * {@code [B, Hq, nb, nb]} when {@code target} is not null. The caller validates shapes and lengths
     * ({@link EngineArgs}); the finite and range checks of q, k and v are done here before any output is written
     * (q by {@link Vec#maxAbsFinite}, k and v in the pass that packs them, then {@link EngineArgs#attentionRange}).
     */
    static void run(float[] q, float[] k, float[] v, float[] out, float[] target, AttentionShape shape, int bs,
                    double scale, BlockMask mask) {
        run(q, k, v, out, target, shape, bs, scale, mask, UNITS);
    }

    /** {@link #run} with {@code unitsPerTask} (query head, query block) units sharing each K/V tile per task. */
    static void run(float[] q, float[] k, float[] v, float[] out, float[] target, AttentionShape shape, int bs,
                    double scale, BlockMask mask, int unitsPerTask) {
        run(q, k, v, out, target, null, Sequences.uniform(shape.batch(), shape.seqLen(), bs), shape, scale,
                KeptBlocks.of(mask), unitsPerTask);
    }

    /**
     * {@link #run} on a varlen batch (docs/SPEC.md §11): the packed rows read in place, one mask
     * {@code [1, Hq, nb_s, nb_s]} per sequence (every causal block when {@code masks} is null), the target
     * {@code Σ_s [Hq, nb_s, nb_s]}; every sequence's units are tasks of the same parallel loop.
     */
    static void runVarlen(float[] q, float[] k, float[] v, float[] out, float[] target, VarlenShape shape, int bs,
                          double scale, List<BlockMask> masks) {
        run(q, k, v, out, target, null, Sequences.of(shape.batch(), bs), shape.longestSequence(), scale,
                masks == null ? null : KeptBlocks.of(masks), UNITS);
    }

    /**
     * Dense causal attention and, from the same pass, each query row's attention probability maxima per strictly
     * earlier key block, {@code rowMaxima [B, Hq, N, nb]}: for row t in block m = t / bs and key block j &lt; m,
     * {@code max_{c ∈ block j} P[t, c] = e^(R[t, j] − m_t) / l_t} with R the block's row max of the scaled scores
     * (the per-head maxima {@code G1} of {@link org.seerjava.reference.decode.DecodeTarget#headMaxima}, own and later
     * blocks 0). {@link CpuDecodeTarget} reduces them to the decode target.
     */
    static void runWithRowMaxima(float[] q, float[] k, float[] v, float[] out, float[] rowMaxima,
                                 AttentionShape shape, int bs, double scale) {
        run(q, k, v, out, null, rowMaxima, Sequences.uniform(shape.batch(), shape.seqLen(), bs), shape, scale, null,
                UNITS);
    }

    /**
     * The kernel on the sequences {@code seqs} (a batch of equal lengths, or a varlen batch); {@code heads} gives Hq,
     * Hkv and D, and its sequence length is the longest sequence's, for the range check; {@code rowMaxima} only on a
     * batch.
     */
    private static void run(float[] q, float[] k, float[] v, float[] out, float[] target, float[] rowMaxima,
                            Sequences seqs, AttentionShape heads, double scale, KeptBlocks mask, int unitsPerTask) {
        float qScale = (float) scale;
        int hq = heads.qHeads();
        int hkv = heads.kvHeads();
        float maxQ = Vec.maxAbsFinite("q", q);     // q, then k and v: bad input never leaves a partly written output
        KvPacking.Packed kv = KvPacking.pack(k, v, seqs, hkv, heads.headDim());
        EngineArgs.attentionRange(heads, scale, maxQ, kv.maxK(), kv.maxV());
        AttentionTasks tasks = AttentionTasks.of(mask, seqs, hq, hkv, unitsPerTask);
        int[] mapStart = target == null ? null : seqs.mapStart(hq);
        Parallel.forEach(tasks.count(), t -> task(q, kv, out, target, mapStart, rowMaxima, seqs, heads, qScale, mask,
                tasks.units(), tasks.start()[t], tasks.start()[t + 1]));
    }

    /**
     * One task: the units units[from .. to) (same sequence and KV head) walk the key blocks together, so that each
     * K/V tile is loaded once for all of them.
     */
    private static void task(float[] q, KvPacking.Packed kv, float[] out, float[] target, int[] mapStart,
                             float[] rowMaxima, Sequences seqs, AttentionShape heads, float qScale, KeptBlocks mask,
                             int[] ids, int from, int to) {
        int hq = heads.qHeads();
        int hkv = heads.kvHeads();
        int d = heads.headDim();
        int bs = seqs.blockSize();
        int count = to - from;
        int s = seqs.sequenceOfBlock(ids[from] / hq);
        int n = seqs.length(s);
        int t0 = seqs.start(s);                     // the sequence's first token row
        int nb = seqs.blocks(s);
        int g0 = seqs.blockStart(s);                // and its first block row
        int kh = (ids[from] % hq) / heads.groupSize();
        float[] k = kv.k();
        float[] v = kv.v();
        int dp = kv.dp();
        int bmp = Vec.roundUp(bs, RW);
        int bnp = kv.bnp();
        Scratch sc = SCRATCH.get();
        boolean maxima = target != null || rowMaxima != null;
        sc.ensure(count, bmp, bnp, d, dp, nb, maxima);
        float[] st = sc.st;
        float[] tileMax = sc.tileMax;
        Unit[] units = sc.units;
        int jEnd = 0;
        for (int u = 0; u < count; u++) {
            Unit x = units[u];
            int id = ids[from + u];
            x.h = id % hq;
            x.m = id / hq - g0;
            x.rows = Math.min(bs, n - x.m * bs);
            x.first = true;
            transposeQ(q, x, t0, hq, d, bs, bmp, qScale, sc.gather(hq * d));
            Arrays.fill(x.rowMax, 0, bmp, Float.NEGATIVE_INFINITY);
            Arrays.fill(x.rowSum, 0, bmp, 0f);
            jEnd = Math.max(jEnd, x.m + 1);
        }

        int kvHead = hkv * g0 + kh * nb;                                 // block 0 of (s, kh) in the packed K
        int vHead = A + (hkv * t0 + kh * n) * (dp / DW) * DW;            // key 0 of (s, kh), chunk 0, in the packed V
        for (int j = 0; j < jEnd; j++) {
            int c0 = j * bs;
            int nk = Math.min(bs, n - c0);
            int kBase = (kvHead + j) * bnp * d;
            int vBase = vHead + c0 * DW;                                   // chunk c is c·N_s·DW further
            for (int u = 0; u < count; u++) {
                Unit x = units[u];
                if (j > x.m || mask != null && !mask.keep(s, x.h, x.m, j)) {
                    continue;
                }
                boolean diagonal = j == x.m;
                if (diagonal) {
                    ScoreTiles.scoresDiagonal(x.qt, k, kBase, nk, d, bmp, bnp, st, tileMax);
                } else {
                    ScoreTiles.scores(x.qt, k, kBase, nk, d, bmp, bnp, st, tileMax);
                }
                softmaxStep(st, nk, bmp, bnp, tileMax, x.rowMax, x.rowSum, x.corr,
                        maxima ? x.blockMax : null, j * bmp, diagonal);
                PvTiles.pv(st, v, vBase, n * DW, nk, bmp, bnp, x.o, dp, Vec.roundUp(x.rows, PT), x.first ? null : x.corr,
                        diagonal);
                x.first = false;
            }
        }

        int qStride = hq * d;
        int bound = F.loopBound(d);
        for (int u = 0; u < count; u++) {
            Unit x = units[u];
            int outBase = ((t0 + x.m * bs) * hq + x.h) * d;
            int targetRow = target == null ? 0 : mapStart[s] + (x.h * nb + x.m) * nb;
            if (x.first) {       // a row with no selected block: zero output, zero target row
                for (int r = 0; r < x.rows; r++) {
                    Arrays.fill(out, outBase + r * qStride, outBase + r * qStride + d, 0f);
                }
                if (target != null) {
                    Arrays.fill(target, targetRow, targetRow + nb, 0f);
                }
                continue;
            }
            // out = O / l
            for (int r = 0; r < x.rows; r++) {
                float inv = x.rowSum[r] == 0f ? 0f : 1f / x.rowSum[r];
                int dst = outBase + r * qStride;
                int src = A + r * DW;                      // O is [Dp / DW][BMp][DW]
                int c = 0;
                for (; c < bound; c += L) {
                    FloatVector.fromArray(F, x.o, src + (c / DW) * bmp * DW + c % DW).mul(inv).intoArray(out, dst + c);
                }
                for (; c < d; c++) {
                    out[dst + c] = x.o[src + (c / DW) * bmp * DW + c % DW] * inv;
                }
            }
            if (target != null) {
                CpuPooledTarget.row(target, x.blockMax, x.rowMax, x.rowSum, x.rows, bmp, targetRow, x.m, nb, mask, s,
                        x.h);
            }
            if (rowMaxima != null) {                      // a batch: sequence s is batch element s
                for (int r = 0; r < x.rows; r++) {
                    int row = ((s * hq + x.h) * n + x.m * bs + r) * nb;
                    for (int j = 0; j < x.m; j++) {
                        rowMaxima[row + j] = VectorMath.exp(x.blockMax[j * bmp + r] - x.rowMax[r]) / x.rowSum[r];
                    }
                    Arrays.fill(rowMaxima, row + x.m, row + nb, 0f);
                }
            }
        }
    }

    /**
     * Qt[d][r] = q[r0 + r, h, d] · scale (padding rows zero), L rows at a time with one gather per channel (the
     * scalar transpose it replaced was a large part of a sparse run: docs/PERFORMANCE.md).
     */
    private static void transposeQ(float[] q, Unit x, int t0, int hq, int d, int bs, int bmp, float qScale,
                                   int[] gather) {
        int rows = x.rows;
        int r0 = x.m * bs;
        int qStride = hq * d;
        int qBase = ((t0 + r0) * hq + x.h) * d;
        float[] qt = x.qt;
        int fullRows = rows - rows % L;
        for (int r = 0; r < fullRows; r += L) {
            int src = qBase + r * qStride;
            int dst = panelled(r, d);     // Qt is [BMp / RW][D][RW]
            int c = 0;
            for (; c + 1 < d; c += 2) {
                FloatVector e0 = FloatVector.fromArray(F, q, src + c, gather, 0);
                FloatVector e1 = FloatVector.fromArray(F, q, src + c + 1, gather, 0);
                e0.mul(qScale).intoArray(qt, dst + c * RW);
                e1.mul(qScale).intoArray(qt, dst + (c + 1) * RW);
            }
            for (; c < d; c++) {
                FloatVector e = FloatVector.fromArray(F, q, src + c, gather, 0);
                e.mul(qScale).intoArray(qt, dst + c * RW);
            }
        }
        for (int r = fullRows; r < bmp; r++) {       // the last rows one by one, then the zero padding rows
            int src = qBase + r * qStride;
            int dst = panelled(r, d);
            for (int c = 0; c < d; c++) {
                qt[dst + c * RW] = r < rows ? q[src + c] * qScale : 0f;
            }
        }
    }

    /**
     * Online softmax over one key tile, vectorised over rows: m_new = max(m, max St (the tile max), corr = e^(m − m_new),
     * St ← P = e^(St − m_new), l = l·corr + Σ P. Stores the tile's row max at {@code blockMax[bmOff + r]} when
     * blockMax is not null (the pooled target needs it). On the diagonal block, a row vector's keys after its last row
     * are skipped: their P would be exactly 0, and neither the sum nor P·V reads them.
     */
    private static void softmaxStep(float[] st, int nk, int bmp, int bnp, float[] tileMax, float[] rowMax,
                                    float[] rowSum, float[] corr, float[] blockMax, int bmOff, boolean diagonal) {
        for (int r = 0; r < bmp; r += L) {
            FloatVector mt = FloatVector.fromArray(F, tileMax, r);
            if (blockMax != null) {
                mt.intoArray(blockMax, bmOff + r);
            }
            FloatVector mOld = FloatVector.fromArray(F, rowMax, r);
            FloatVector mNew = mOld.max(mt);
            FloatVector c = VectorMath.expNonPositive(mOld.sub(mNew));   // exp(−∞) = 0 on the first block
            c.intoArray(corr, r);
            mNew.intoArray(rowMax, r);
            FloatVector sum = FloatVector.zero(F);
            int keys = diagonal ? Math.min(nk, r + L) : nk;   // on the diagonal, later keys are hidden from these rows
            int end = panelled(r, bnp) + keys * RW;
            for (int at = end - keys * RW; at < end; at += RW) {
                FloatVector e = VectorMath.expNonPositive(FloatVector.fromArray(F, st, at).sub(mNew));
                e.intoArray(st, at);
                sum = sum.add(e);
            }
            FloatVector.fromArray(F, rowSum, r).fma(c, sum).intoArray(rowSum, r);
        }
    }
}
