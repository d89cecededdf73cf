package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.Checks;

/**
 * FlashAttention-2 style causal attention on the CPU: the work is split into units (batch, query head, query block
 * of {@code bs} rows), and a task takes eight consecutive units of one KV head — the query heads of a block that
 * share it, then adjacent query blocks — and walks the union of their kept key blocks once, so each K/V tile fetched
 * serves every unit of the task that keeps it; an online softmax per unit (exponentials by
 * {@link VectorMath#expNonPositive}, bit-identical in every JIT tier).
 *
 * <p>Tiles. A unit's query block is transposed once into {@code Qt} (rows in vector lanes, pre-scaled by the softmax
 * scale; one gather of L rows per channel), in panels of RW = 4·L rows: {@code Qt [BMp / RW][D][RW]}. For each key
 * block, the score tile {@code St [BMp / RW][key][RW] = Qt · Kᵀ} is a register-tiled product (4 keys × 4 row vectors
 * = 16 FMA accumulators, K elements broadcast); the softmax statistics (running max, sum, correction) are then vectors
 * over rows. {@code O += P · V} is a second register tile (6 rows × 4 vectors over D = 24 accumulators, 4 rows for
 * a panel's last 4 or 8 rows; P broadcast, V loaded contiguously), with O in chunks of DW = 4·L channels,
 * {@code O [Dp / DW][BMp][DW]}; the online-softmax correction of O is folded into the load of its accumulators. On
 * the diagonal block only the key groups a row vector can see are computed ({@link #scoresDiagonal}). K/V are never
 * repeated for GQA: query head h reads key head h / g. K and V are laid out once per call per KV head, in buffers
 * the calling thread keeps for its next call (see {@link Packed}); the same pass checks q, k and v for NaN/±∞. Tasks
 * run KV head by KV head, heaviest query blocks first within a head.
 *
 * <p>Micro-kernels. Each register tile is its own small method ({@link #scoreTile}, {@link #pvTile6}) whose inner
 * loop steps every operand by a compile-time constant (RW floats of Qt or St, KG floats of the interleaved K, DW
 * floats of V), so that C2 removes the bounds checks from the loop and keeps every pointer in a register: in the
 * kernel these replaced (one big method, strides {@code BMp} and {@code D} held in variables) the score loop issued
 * two bounds checks and three reloads of spilled values per 16 FMAs, and the P·V loop moved spilled pointers from
 * vector registers on the FMA port.
 *
 * <p>Per-thread scratch holds every tile, so the hot loops allocate nothing.
 */
final class FlashAttention {
    private static final int KG = 4;          // keys per score micro-tile, and per interleaved group of the packed K
    private static final int RV = 4;          // row vectors per score micro-tile
    private static final int RW = RV * L;     // rows per score micro-tile, and per Qt and St panel
    private static final int PR = 6;          // rows per P·V micro-tile
    private static final int PT = 4;          // rows per P·V tail micro-tile; units' row counts are rounded to it
    private static final int DW = 4 * L;      // D channels per P·V micro-tile, and per V and O chunk

    private FlashAttention() {
    }

    /**
     * Units per task: eight, so that each K/V tile fetched serves up to 512 query rows while the units' tiles (Q and O,
     * 64 KiB a unit) stay well inside a 2 MiB L2. Against four, with aligned tiles, each kernel single-threaded on its
     * own core at the same time and swapping cores every 2–5 s (2026-11-29): dense 0.92–0.94× the time at N = 2048,
     * 0.93–0.98× at 4096, 0.96–1.01× at 8192; block-sparse ρ = 0.1 0.98–0.99× at 4096 and 0.76–1.05× at 8192 (a large
     * gain in the minutes when the host's memory was contended, since sparse tasks share few K/V tiles otherwise).
     * Sixteen did as well at N ≤ 4096 but 1.08–1.11× at 8192. Four replaced two in an earlier session (dense
     * 0.92–0.98×).
     */
    static final int UNITS = 8;
    /**
     * Floats skipped at the start of every tile array (Qt, St, O and the packed V), so that with 64-byte aligned
     * objects their vectors start on cache lines ({@link Vec#TILE_OFFSET}).
     */
    private static final int A = Vec.TILE_OFFSET;
    /** Packed K/V buffers are kept for the next call of the same thread up to this many floats each. */
    private static final int KEEP_FLOATS = keepFloats(Runtime.getRuntime().maxMemory());

    /**
     * Up to 1/16 of the maximum heap per buffer, at least 64 MiB and at most 1 GiB: a buffer that is not kept is
     * allocated again, and zeroed by the JVM, at every call; with the 64 MiB limit this had, N = 16384 with 8 KV heads
     * of 128 (67 MiB each for K and V) paid that on every call.
     */
    static int keepFloats(long maxHeapBytes) {
        long floats = maxHeapBytes / 16 / Float.BYTES;
        return (int) Math.max(1 << 24, Math.min(1 << 28, floats));
    }

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

    /** The calling thread's packed K/V buffers, kept between calls (see {@link #KEEP_FLOATS}). */
    private static final class Buffers {
        float[] k = new float[0];
        float[] v = new float[0];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /**
     * Causal attention over the blocks of {@code mask} (all causal blocks when null); also the pooled target
     * {@code [B, Hq, nb, nb]} when {@code target} is not null. The caller validates shapes and lengths; the
     * finite checks of q, k and v are done here before any output is written, in the pass that packs k and v.
     */
    static void run(float[] q, float[] k, float[] v, float[] out, float[] target, AttentionShape shape, int bs,
                    double scale, BlockMask mask) {
        run(q, k, v, out, target, shape, bs, scale, mask, UNITS);
    }

    /** {@link #run} with {@code unitsPerTask} (query head, query block) units sharing each K/V tile per task. */
    static void run(float[] q, float[] k, float[] v, float[] out, float[] target, AttentionShape shape, int bs,
                    double scale, BlockMask mask, int unitsPerTask) {
        int nb = shape.blocks(bs);
        float qScale = (float) scale;
        Packed kv = pack(q, k, v, shape, bs);      // checks q, k and v first: bad input never leaves a partly written output
        Tasks tasks = tasks(mask, shape, nb, unitsPerTask);
        Parallel.forEach(tasks.count(), t -> task(q, kv, out, target, shape, bs, qScale, mask, tasks.units(),
                tasks.start()[t], tasks.start()[t + 1]));
    }

    /**
     * K laid out per head and key block, the keys of a block in groups of KG interleaved channel by channel,
     * {@code [B, Hkv, nb, BNp / KG, D, KG]} (BNp = block size rounded up to KG; the lanes past a block's last key repeat
     * that key, so they can never raise a tile's maximum), so that the score micro-kernel broadcasts its four keys'
     * elements from one pointer stepping KG floats; and V per head and per D chunk of the P·V micro-tile,
     * {@code [B, Hkv, Dp / DW, N, DW]} (Dp = D rounded up to DW, zero padded), so that each D chunk of a V block is
     * one contiguous run, which the P·V kernel reads once per 6 rows: in the input layout key rows are Hkv·D apart,
     * which for Hkv·D = 1024 puts every key row on its own 4 KiB page (no hardware prefetch across rows) and all 64
     * rows of a block in the same few L1 sets.
     */
    record Packed(float[] k, int bnp, float[] v, int dp) {
    }

    /**
     * Packs K and V (see {@link Packed}) and checks q, k and v are finite on the way (one pass over each). A task
     * copies the rows of all KV heads of a run of tokens and checks their q rows, so it reads the inputs sequentially.
     */
    private static Packed pack(float[] q, float[] k, float[] v, AttentionShape shape, int bs) {
        int batch = shape.batch();
        int n = shape.seqLen();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int dp = Vec.roundUp(d, DW);
        int dChunks = dp / DW;
        int qRow = shape.qHeads() * d;
        int qBound = F.loopBound(qRow);
        int nb = shape.blocks(bs);
        int bnp = Vec.roundUp(bs, KG);
        Buffers buffers = BUFFERS.get();
        long kSize = (long) batch * hkv * nb * bnp * d;
        long vSize = A + (long) batch * hkv * n * dp;
        float[] kp = buffer(buffers.k, kSize, "packed K");
        float[] vp = buffer(buffers.v, vSize, "packed V");
        if (kp.length <= KEEP_FLOATS) {
            buffers.k = kp;
        }
        if (vp.length <= KEEP_FLOATS) {
            buffers.v = vp;
        }
        int chunk = Math.max(16, 4096 / Math.max(1, hkv));      // tokens per task
        int chunks = Math.ceilDiv(n, chunk);
        boolean[] badQ = new boolean[1];
        boolean[] badK = new boolean[1];
        boolean[] badV = new boolean[1];
        int bound = F.loopBound(d);
        boolean vectorK = L >= KG && d % L == 0;
        Parallel.forEach(batch * chunks, task -> {
            int b = task / chunks;
            int c = task % chunks;
            int end = Math.min(n, (c + 1) * chunk);
            FloatVector nanK = FloatVector.zero(F);
            FloatVector nanV = nanK;
            FloatVector nanQ = nanK;
            float tailK = 0f;
            float tailV = 0f;
            float tailQ = 0f;
            for (int t = c * chunk; t < end; t++) {
                int qFrom = (b * n + t) * qRow;
                int y = 0;
                for (; y < qBound; y += L) {
                    nanQ = nanQ.add(FloatVector.fromArray(F, q, qFrom + y).mul(0f));
                }
                for (; y < qRow; y++) {
                    tailQ += q[qFrom + y] * 0f;
                }
                int j = t / bs;
                int kl = t - j * bs;
                int lastKey = Math.min(bs, n - j * bs) - 1;
                // K: key kl of block j is lane kl % KG of group kl / KG; the last key also fills its group's spare lanes.
                // A whole group inside this task's tokens is interleaved by vectors when its last token is reached.
                int w = kl % KG;
                int lanes = kl == lastKey ? KG - w : 1;
                boolean grouped = vectorK && t - w >= c * chunk && t - w + KG <= end && kl - w + KG - 1 <= lastKey;
                for (int kh = 0; kh < hkv; kh++) {
                    int src = ((b * n + t) * hkv + kh) * d;
                    int bkh = b * hkv + kh;
                    int dstK = ((bkh * nb + j) * bnp + kl - w) * d + w;      // lane w of key kl's group
                    int dstV = A + (bkh * dChunks * n + t) * DW;    // chunk 0 of token t; chunk j is j·N·DW further
                    int x = 0;
                    for (; x < bound; x += L) {
                        FloatVector e = FloatVector.fromArray(F, v, src + x);
                        nanV = nanV.add(e.mul(0f));                 // x·0 is NaN for NaN and ±∞
                        e.intoArray(vp, dstV + (x / DW) * n * DW + x % DW);
                        nanK = nanK.add(FloatVector.fromArray(F, k, src + x).mul(0f));
                    }
                    for (; x < d; x++) {
                        tailV += v[src + x] * 0f;
                        vp[dstV + (x / DW) * n * DW + x % DW] = v[src + x];
                        tailK += k[src + x] * 0f;
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
            if (Float.isNaN(VectorMath.sum(nanQ) + tailQ)) {
                badQ[0] = true;
            }
            if (Float.isNaN(VectorMath.sum(nanV) + tailV)) {
                badV[0] = true;
            }
            if (Float.isNaN(VectorMath.sum(nanK) + tailK)) {
                badK[0] = true;
            }
        });
        if (badQ[0]) {
            Checks.allFinite("q", q);
        }
        if (badK[0]) {
            Checks.allFinite("k", k);
        }
        if (badV[0]) {
            Checks.allFinite("v", v);
        }
        return new Packed(kp, bnp, vp, dp);
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

    /**
     * Where row {@code row}'s element 0 lies in a tile of RW-row panels, {@code [BMp / RW][inner][RW]} after the
     * {@link #A} floats of alignment (Qt with inner = D, St with inner = BNp keys); element i of the row is i·RW
     * further.
     */
    private static int panelled(int row, int inner) {
        return A + (row / RW) * inner * RW + row % RW;
    }

    private static float[] buffer(float[] kept, long size, String name) {
        return kept.length >= size ? kept : new float[Checks.arraySize(name, size)];
    }

    /**
     * The task list: {@code units} holds unit ids ((b·Hq + h)·nb + m) and task t is units[start[t] .. start[t+1]),
     * all of one (batch, KV head), so that they share its K/V tiles.
     */
    record Tasks(int[] units, int[] start, int count) {
    }

    /**
     * Dense order: KV head by KV head, and inside a KV head the query blocks from the last (the longest causal row)
     * to the first, the g query heads of a block next to each other; consecutive units are grouped into tasks (the
     * g heads of a block, then adjacent blocks), so the workers share one head's K/V while it is hot
     * in cache and the list ends with the cheapest tasks, which even out the finish. Sparse order: inside a KV head
     * the units by kept-block count, descending.
     */
    private static Tasks tasks(BlockMask mask, AttentionShape shape, int nb, int unitsPerTask) {
        int batch = shape.batch();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int g = shape.groupSize();
        int perHead = g * nb;
        int[] units = new int[batch * hq * nb];
        int[] start = new int[units.length + 1];
        int tasks = 0;
        int at = 0;
        long[] keys = mask == null ? null : new long[perHead];
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < hkv; kh++) {
                int from = at;
                if (mask == null) {
                    for (int m = nb - 1; m >= 0; m--) {
                        for (int h = kh * g; h < kh * g + g; h++) {
                            units[at++] = (b * hq + h) * nb + m;
                        }
                    }
                } else {
                    int i = 0;
                    for (int m = nb - 1; m >= 0; m--) {
                        for (int h = kh * g; h < kh * g + g; h++) {
                            int cost = 0;
                            for (int j = 0; j <= m; j++) {
                                if (mask.keep(b, h, m, j)) {
                                    cost++;
                                }
                            }
                            // ascending sort: the largest cost first, then the order of the dense list
                            keys[i] = ((long) (nb - cost) << 32) | i;
                            i++;
                        }
                    }
                    Arrays.sort(keys);
                    for (long key : keys) {
                        int i0 = (int) key;
                        int m = nb - 1 - i0 / g;
                        int h = kh * g + i0 % g;
                        units[at++] = (b * hq + h) * nb + m;
                    }
                }
                for (int u = from; u < at; u += unitsPerTask) {
                    start[tasks++] = u;
                }
            }
        }
        start[tasks] = at;
        return new Tasks(units, start, tasks);
    }

    /**
     * One task: the units units[from .. to) (same batch and KV head) walk the key blocks together, so that each
     * K/V tile is loaded once for all of them.
     */
    private static void task(float[] q, Packed kv, float[] out, float[] target, AttentionShape shape, int bs,
                                float qScale, BlockMask mask, int[] ids, int from, int to) {
        int n = shape.seqLen();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int nb = shape.blocks(bs);
        int count = to - from;
        int bhFirst = ids[from] / nb;
        int b = bhFirst / hq;
        int kh = (bhFirst % hq) / shape.groupSize();
        float[] k = kv.k();
        float[] v = kv.v();
        int dp = kv.dp();
        int bmp = Vec.roundUp(bs, RW);
        int bnp = kv.bnp();
        Scratch sc = SCRATCH.get();
        sc.ensure(count, bmp, bnp, d, dp, nb, target != null);
        float[] st = sc.st;
        float[] tileMax = sc.tileMax;
        Unit[] units = sc.units;
        int jEnd = 0;
        for (int u = 0; u < count; u++) {
            Unit x = units[u];
            int id = ids[from + u];
            x.h = (id / nb) % hq;
            x.m = id % nb;
            x.rows = Math.min(bs, n - x.m * bs);
            x.first = true;
            transposeQ(q, x, shape, b, bs, bmp, qScale, sc.gather(hq * d));
            Arrays.fill(x.rowMax, 0, bmp, Float.NEGATIVE_INFINITY);
            Arrays.fill(x.rowSum, 0, bmp, 0f);
            jEnd = Math.max(jEnd, x.m + 1);
        }

        int kvHead = (b * hkv + kh) * nb;           // block 0 of (b, kh) in the packed K
        for (int j = 0; j < jEnd; j++) {
            int c0 = j * bs;
            int nk = Math.min(bs, n - c0);
            int kBase = (kvHead + j) * bnp * d;
            int vBase = A + ((b * hkv + kh) * (dp / DW) * n + c0) * DW;   // chunk 0 of key c0 in the packed V
            for (int u = 0; u < count; u++) {
                Unit x = units[u];
                if (j > x.m || mask != null && !mask.keep(b, x.h, x.m, j)) {
                    continue;
                }
                boolean diagonal = j == x.m;
                if (diagonal) {
                    scoresDiagonal(x.qt, k, kBase, nk, d, bmp, bnp, st, tileMax);
                } else {
                    scores(x.qt, k, kBase, nk, d, bmp, bnp, st, tileMax);
                }
                softmaxStep(st, nk, bmp, bnp, tileMax, x.rowMax, x.rowSum, x.corr,
                        target == null ? null : x.blockMax, j * bmp, diagonal);
                pv(st, v, vBase, n * DW, nk, bmp, bnp, x.o, dp, Vec.roundUp(x.rows, PT), x.first ? null : x.corr,
                        diagonal);
                x.first = false;
            }
        }

        int qStride = hq * d;
        int bound = F.loopBound(d);
        for (int u = 0; u < count; u++) {
            Unit x = units[u];
            int outBase = ((b * n + x.m * bs) * hq + x.h) * d;
            if (x.first) {       // a row with no selected block: zero output, zero target row
                for (int r = 0; r < x.rows; r++) {
                    Arrays.fill(out, outBase + r * qStride, outBase + r * qStride + d, 0f);
                }
                if (target != null) {
                    int row = ((b * hq + x.h) * nb + x.m) * nb;
                    Arrays.fill(target, row, row + nb, 0f);
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
                pooledTargetRow(target, x.blockMax, x.rowMax, x.rowSum, x.rows, bmp,
                        ((b * hq + x.h) * nb + x.m) * nb, x.m, nb, mask, b, x.h);
            }
        }
    }

    /**
     * Qt[d][r] = q[r0 + r, h, d] · scale (padding rows zero), L rows at a time with one gather per channel (the
     * scalar transpose it replaced cost 15 % of a sparse run).
     */
    private static void transposeQ(float[] q, Unit x, AttentionShape shape, int b, int bs, int bmp, float qScale,
                                      int[] gather) {
        int n = shape.seqLen();
        int hq = shape.qHeads();
        int d = shape.headDim();
        int rows = x.rows;
        int r0 = x.m * bs;
        int qStride = hq * d;
        int qBase = ((b * n + r0) * hq + x.h) * d;
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
     * St[kl][r] = Σ_d Qt[d][r] · K[kl][d] for keys kl &lt; nk, rounded up to KG (the packed K's spare lanes repeat the
     * block's last key; their St rows are never read), panel by panel of RW rows; the tile's row maxima into tileMax
     * when it is not null.
     */
    private static void scores(float[] qt, float[] k, int kBase, int nk, int d, int bmp, int bnp, float[] st,
                               float[] tileMax) {
        for (int panel = 0; panel < bmp / RW; panel++) {
            int qo = A + panel * d * RW;
            int so = A + panel * bnp * RW;
            if (tileMax != null) {
                Arrays.fill(tileMax, panel * RW, panel * RW + RW, Float.NEGATIVE_INFINITY);
            }
            for (int kg = 0; kg < nk; kg += KG) {
                scoreTile(qt, qo, k, kBase + kg * d, d, st, so + kg * RW, tileMax, panel * RW);
            }
        }
    }

    /**
     * The score micro-kernel: St[kl][0 .. RW) = Σ_c Qt[c][0 .. RW) · K[kl][c] for the KG keys of one interleaved group
     * ({@code k[ko + c·KG + i]} is channel c of key i), 4 keys × 4 row vectors of accumulators; the maximum over the
     * four keys into tileMax[to ..] when tileMax is not null.
     */
    private static void scoreTile(float[] qt, int qo, float[] k, int ko, int d, float[] st, int so, float[] tileMax,
                                  int to) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int c = 0; c < d; c++) {
            int qc = qo + c * RW;
            int kc = ko + c * KG;
            FloatVector q0 = FloatVector.fromArray(F, qt, qc);
            FloatVector q1 = FloatVector.fromArray(F, qt, qc + L);
            FloatVector q2 = FloatVector.fromArray(F, qt, qc + 2 * L);
            FloatVector q3 = FloatVector.fromArray(F, qt, qc + 3 * L);
            FloatVector b0 = FloatVector.broadcast(F, k[kc]);
            a00 = q0.fma(b0, a00);
            a01 = q1.fma(b0, a01);
            a02 = q2.fma(b0, a02);
            a03 = q3.fma(b0, a03);
            FloatVector b1 = FloatVector.broadcast(F, k[kc + 1]);
            a10 = q0.fma(b1, a10);
            a11 = q1.fma(b1, a11);
            a12 = q2.fma(b1, a12);
            a13 = q3.fma(b1, a13);
            FloatVector b2 = FloatVector.broadcast(F, k[kc + 2]);
            a20 = q0.fma(b2, a20);
            a21 = q1.fma(b2, a21);
            a22 = q2.fma(b2, a22);
            a23 = q3.fma(b2, a23);
            FloatVector b3 = FloatVector.broadcast(F, k[kc + 3]);
            a30 = q0.fma(b3, a30);
            a31 = q1.fma(b3, a31);
            a32 = q2.fma(b3, a32);
            a33 = q3.fma(b3, a33);
        }
        a00.intoArray(st, so);
        a01.intoArray(st, so + L);
        a02.intoArray(st, so + 2 * L);
        a03.intoArray(st, so + 3 * L);
        a10.intoArray(st, so + RW);
        a11.intoArray(st, so + RW + L);
        a12.intoArray(st, so + RW + 2 * L);
        a13.intoArray(st, so + RW + 3 * L);
        a20.intoArray(st, so + 2 * RW);
        a21.intoArray(st, so + 2 * RW + L);
        a22.intoArray(st, so + 2 * RW + 2 * L);
        a23.intoArray(st, so + 2 * RW + 3 * L);
        a30.intoArray(st, so + 3 * RW);
        a31.intoArray(st, so + 3 * RW + L);
        a32.intoArray(st, so + 3 * RW + 2 * L);
        a33.intoArray(st, so + 3 * RW + 3 * L);
        if (tileMax != null) {     // the spare lanes repeat the last key, so they cannot raise the max
            FloatVector.fromArray(F, tileMax, to).max(a00.max(a10).max(a20.max(a30))).intoArray(tileMax, to);
            FloatVector.fromArray(F, tileMax, to + L).max(a01.max(a11).max(a21.max(a31)))
                    .intoArray(tileMax, to + L);
            FloatVector.fromArray(F, tileMax, to + 2 * L).max(a02.max(a12).max(a22.max(a32)))
                    .intoArray(tileMax, to + 2 * L);
            FloatVector.fromArray(F, tileMax, to + 3 * L).max(a03.max(a13).max(a23.max(a33)))
                    .intoArray(tileMax, to + 3 * L);
        }
    }

    /**
     * The diagonal block: St[kl][r] = Σ_d Qt[d][r] · K[kl][d] for r ≥ kl and −∞ for r &lt; kl (causal), and
     * tileMax[r] = max over kl ≤ r. A row vector is computed only for the key groups its rows can see (its last row ≥
     * the group's first key): 40 of the 64 key-group × row-vector products of a 64 × 64 block, so St is valid, for a
     * row vector starting at row r, for keys below min(nk, r + L) only, which is all that {@link #softmaxStep} and
     * {@link #pv} read on the diagonal.
     */
    private static void scoresDiagonal(float[] qt, float[] k, int kBase, int nk, int d, int bmp, int bnp, float[] st,
                                       float[] tileMax) {
        for (int panel = 0; panel < bmp / RW; panel++) {
            int qo = A + panel * d * RW;
            int so = A + panel * bnp * RW;
            for (int kg = 0; kg < nk; kg += KG) {
                // the first row vector of the panel whose last row sees key kg
                int first = Math.max(0, Math.ceilDiv(kg - (L - 1) - panel * RW, L));
                int ko = kBase + kg * d;
                int sk = so + kg * RW + first * L;
                switch (RV - first) {
                    case 4 -> scoreTile(qt, qo, k, ko, d, st, sk, null, 0);
                    case 3 -> scoreTile3(qt, qo + first * L, k, ko, d, st, sk);
                    case 2 -> scoreTile2(qt, qo + first * L, k, ko, d, st, sk);
                    case 1 -> scoreTile1(qt, qo + first * L, k, ko, d, st, sk);
                    default -> {
                        // no row of this panel sees these keys
                    }
                }
            }
        }
        for (int kl = 1; kl < nk; kl++) {      // key kl hides the rows before it in its own row vector
            int from = kl - kl % L;
            int at = panelled(from, bnp) + kl * RW;
            Arrays.fill(st, at, at + kl - from, Float.NEGATIVE_INFINITY);
        }
        for (int r = 0; r < bmp; r += L) {
            int at = panelled(r, bnp);
            FloatVector mt = FloatVector.fromArray(F, st, at);
            for (int kl = 1, keys = Math.min(nk, r + L); kl < keys; kl++) {
                mt = mt.max(FloatVector.fromArray(F, st, at + kl * RW));
            }
            mt.intoArray(tileMax, r);
        }
    }

    /** {@link #scoreTile} for the last three row vectors of a panel (qo and so point at the first of them). */
    private static void scoreTile3(float[] qt, int qo, float[] k, int ko, int d, float[] st, int so) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00;
        for (int c = 0; c < d; c++) {
            int qc = qo + c * RW;
            int kc = ko + c * KG;
            FloatVector q0 = FloatVector.fromArray(F, qt, qc);
            FloatVector q1 = FloatVector.fromArray(F, qt, qc + L);
            FloatVector q2 = FloatVector.fromArray(F, qt, qc + 2 * L);
            FloatVector b0 = FloatVector.broadcast(F, k[kc]);
            a00 = q0.fma(b0, a00);
            a01 = q1.fma(b0, a01);
            a02 = q2.fma(b0, a02);
            FloatVector b1 = FloatVector.broadcast(F, k[kc + 1]);
            a10 = q0.fma(b1, a10);
            a11 = q1.fma(b1, a11);
            a12 = q2.fma(b1, a12);
            FloatVector b2 = FloatVector.broadcast(F, k[kc + 2]);
            a20 = q0.fma(b2, a20);
            a21 = q1.fma(b2, a21);
            a22 = q2.fma(b2, a22);
            FloatVector b3 = FloatVector.broadcast(F, k[kc + 3]);
            a30 = q0.fma(b3, a30);
            a31 = q1.fma(b3, a31);
            a32 = q2.fma(b3, a32);
        }
        a00.intoArray(st, so);
        a01.intoArray(st, so + L);
        a02.intoArray(st, so + 2 * L);
        a10.intoArray(st, so + RW);
        a11.intoArray(st, so + RW + L);
        a12.intoArray(st, so + RW + 2 * L);
        a20.intoArray(st, so + 2 * RW);
        a21.intoArray(st, so + 2 * RW + L);
        a22.intoArray(st, so + 2 * RW + 2 * L);
        a30.intoArray(st, so + 3 * RW);
        a31.intoArray(st, so + 3 * RW + L);
        a32.intoArray(st, so + 3 * RW + 2 * L);
    }

    /** {@link #scoreTile} for the last two row vectors of a panel. */
    private static void scoreTile2(float[] qt, int qo, float[] k, int ko, int d, float[] st, int so) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int c = 0; c < d; c++) {
            int qc = qo + c * RW;
            int kc = ko + c * KG;
            FloatVector q0 = FloatVector.fromArray(F, qt, qc);
            FloatVector q1 = FloatVector.fromArray(F, qt, qc + L);
            FloatVector b0 = FloatVector.broadcast(F, k[kc]);
            a00 = q0.fma(b0, a00);
            a01 = q1.fma(b0, a01);
            FloatVector b1 = FloatVector.broadcast(F, k[kc + 1]);
            a10 = q0.fma(b1, a10);
            a11 = q1.fma(b1, a11);
            FloatVector b2 = FloatVector.broadcast(F, k[kc + 2]);
            a20 = q0.fma(b2, a20);
            a21 = q1.fma(b2, a21);
            FloatVector b3 = FloatVector.broadcast(F, k[kc + 3]);
            a30 = q0.fma(b3, a30);
            a31 = q1.fma(b3, a31);
        }
        a00.intoArray(st, so);
        a01.intoArray(st, so + L);
        a10.intoArray(st, so + RW);
        a11.intoArray(st, so + RW + L);
        a20.intoArray(st, so + 2 * RW);
        a21.intoArray(st, so + 2 * RW + L);
        a30.intoArray(st, so + 3 * RW);
        a31.intoArray(st, so + 3 * RW + L);
    }

    /** {@link #scoreTile} for the last row vector of a panel. */
    private static void scoreTile1(float[] qt, int qo, float[] k, int ko, int d, float[] st, int so) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < d; c++) {
            FloatVector q0 = FloatVector.fromArray(F, qt, qo + c * RW);
            int kc = ko + c * KG;
            a0 = q0.fma(FloatVector.broadcast(F, k[kc]), a0);
            a1 = q0.fma(FloatVector.broadcast(F, k[kc + 1]), a1);
            a2 = q0.fma(FloatVector.broadcast(F, k[kc + 2]), a2);
            a3 = q0.fma(FloatVector.broadcast(F, k[kc + 3]), a3);
        }
        a0.intoArray(st, so);
        a1.intoArray(st, so + RW);
        a2.intoArray(st, so + 2 * RW);
        a3.intoArray(st, so + 3 * RW);
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

    /**
     * O[r][:] = corr[r] · O[r][:] + Σ_kl P[kl][r] · V[kl][:] in micro-tiles of 6 rows × DW channels (4 rows for the
     * last 4 or 8 rows), D chunk by D chunk (one chunk of a V block stays in L1); O starts from zero when corr is
     * null (the first visited key block). On the diagonal block the keys after a micro-tile's last row are skipped
     * (their P is exactly 0), which halves the P·V work there; its micro-tiles then stay inside one row vector, whose
     * P the softmax computed only up to the vector's last row. Elsewhere they stay inside one RW-row panel of P.
     */
    private static void pv(float[] p, float[] v, int vBase, int chunkStride, int nk, int bmp, int bnp, float[] o,
                           int dp, int rows, float[] corr, boolean diagonal) {
        int span = diagonal ? L : RW;      // micro-tiles stay inside a row vector (diagonal) or a panel of St
        for (int x = 0, vChunk = vBase, oChunk = A; x < dp; x += DW, vChunk += chunkStride, oChunk += bmp * DW) {
            for (int r = 0; r < rows; r += span) {
                pvRows(p, v, vChunk, nk, bnp, o, oChunk, r, Math.min(r + span, rows), corr, diagonal);
            }
        }
    }

    /**
     * P·V for rows [from, to) of one D chunk (to − from a multiple of 4): 6-row micro-tiles, then one or two 4-row
     * ones for what is left (4, or 8 when 6 would leave 2).
     */
    private static void pvRows(float[] p, float[] v, int vChunk, int nk, int bnp, float[] o, int oChunk, int from,
                               int to, float[] corr, boolean diagonal) {
        int rest = (to - from) % PR;
        int sixEnd = to - (rest == 2 ? 2 * PT : rest);
        int r = from;
        for (; r < sixEnd; r += PR) {
            int keys = diagonal ? Math.min(nk, r + PR) : nk;   // P = 0 (exactly) for keys after the rows
            pvTile6(p, panelled(r, bnp), v, vChunk, keys, o, oChunk + r * DW, corr, r);
        }
        for (; r < to; r += PT) {
            int keys = diagonal ? Math.min(nk, r + PT) : nk;
            pvTile(p, panelled(r, bnp), v, vChunk, keys, o, oChunk + r * DW, corr, r);
        }
    }

    /**
     * The P·V micro-kernel: O[r + i][0 .. DW) = corr[r + i] · O[r + i][0 .. DW) + Σ_kl P[kl][r + i] · V[kl][0 .. DW)
     * for i &lt; 4 ({@code p[po + kl·RW + i]}, {@code v[vo + kl·DW ..]}, {@code o[oo + i·DW ..]}), 4 rows × 4 vectors
     * of accumulators; starts from zero when corr is null.
     */
    private static void pvTile(float[] p, int po, float[] v, int vo, int keys, float[] o, int oo, float[] corr,
                               int r) {
        FloatVector a00;
        FloatVector a01;
        FloatVector a02;
        FloatVector a03;
        FloatVector a10;
        FloatVector a11;
        FloatVector a12;
        FloatVector a13;
        FloatVector a20;
        FloatVector a21;
        FloatVector a22;
        FloatVector a23;
        FloatVector a30;
        FloatVector a31;
        FloatVector a32;
        FloatVector a33;
        if (corr == null) {
            a00 = FloatVector.zero(F);
            a01 = a00;
            a02 = a00;
            a03 = a00;
            a10 = a00;
            a11 = a00;
            a12 = a00;
            a13 = a00;
            a20 = a00;
            a21 = a00;
            a22 = a00;
            a23 = a00;
            a30 = a00;
            a31 = a00;
            a32 = a00;
            a33 = a00;
        } else {
            float c0 = corr[r];
            float c1 = corr[r + 1];
            float c2 = corr[r + 2];
            float c3 = corr[r + 3];
            a00 = FloatVector.fromArray(F, o, oo).mul(c0);
            a01 = FloatVector.fromArray(F, o, oo + L).mul(c0);
            a02 = FloatVector.fromArray(F, o, oo + 2 * L).mul(c0);
            a03 = FloatVector.fromArray(F, o, oo + 3 * L).mul(c0);
            a10 = FloatVector.fromArray(F, o, oo + DW).mul(c1);
            a11 = FloatVector.fromArray(F, o, oo + DW + L).mul(c1);
            a12 = FloatVector.fromArray(F, o, oo + DW + 2 * L).mul(c1);
            a13 = FloatVector.fromArray(F, o, oo + DW + 3 * L).mul(c1);
            a20 = FloatVector.fromArray(F, o, oo + 2 * DW).mul(c2);
            a21 = FloatVector.fromArray(F, o, oo + 2 * DW + L).mul(c2);
            a22 = FloatVector.fromArray(F, o, oo + 2 * DW + 2 * L).mul(c2);
            a23 = FloatVector.fromArray(F, o, oo + 2 * DW + 3 * L).mul(c2);
            a30 = FloatVector.fromArray(F, o, oo + 3 * DW).mul(c3);
            a31 = FloatVector.fromArray(F, o, oo + 3 * DW + L).mul(c3);
            a32 = FloatVector.fromArray(F, o, oo + 3 * DW + 2 * L).mul(c3);
            a33 = FloatVector.fromArray(F, o, oo + 3 * DW + 3 * L).mul(c3);
        }
        for (int kl = 0; kl < keys; kl++) {
            int vk = vo + kl * DW;
            int pk = po + kl * RW;
            FloatVector v0 = FloatVector.fromArray(F, v, vk);
            FloatVector v1 = FloatVector.fromArray(F, v, vk + L);
            FloatVector v2 = FloatVector.fromArray(F, v, vk + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, v, vk + 3 * L);
            FloatVector p0 = FloatVector.broadcast(F, p[pk]);
            a00 = v0.fma(p0, a00);
            a01 = v1.fma(p0, a01);
            a02 = v2.fma(p0, a02);
            a03 = v3.fma(p0, a03);
            FloatVector p1 = FloatVector.broadcast(F, p[pk + 1]);
            a10 = v0.fma(p1, a10);
            a11 = v1.fma(p1, a11);
            a12 = v2.fma(p1, a12);
            a13 = v3.fma(p1, a13);
            FloatVector p2 = FloatVector.broadcast(F, p[pk + 2]);
            a20 = v0.fma(p2, a20);
            a21 = v1.fma(p2, a21);
            a22 = v2.fma(p2, a22);
            a23 = v3.fma(p2, a23);
            FloatVector p3 = FloatVector.broadcast(F, p[pk + 3]);
            a30 = v0.fma(p3, a30);
            a31 = v1.fma(p3, a31);
            a32 = v2.fma(p3, a32);
            a33 = v3.fma(p3, a33);
        }
        a00.intoArray(o, oo);
        a01.intoArray(o, oo + L);
        a02.intoArray(o, oo + 2 * L);
        a03.intoArray(o, oo + 3 * L);
        a10.intoArray(o, oo + DW);
        a11.intoArray(o, oo + DW + L);
        a12.intoArray(o, oo + DW + 2 * L);
        a13.intoArray(o, oo + DW + 3 * L);
        a20.intoArray(o, oo + 2 * DW);
        a21.intoArray(o, oo + 2 * DW + L);
        a22.intoArray(o, oo + 2 * DW + 2 * L);
        a23.intoArray(o, oo + 2 * DW + 3 * L);
        a30.intoArray(o, oo + 3 * DW);
        a31.intoArray(o, oo + 3 * DW + L);
        a32.intoArray(o, oo + 3 * DW + 2 * L);
        a33.intoArray(o, oo + 3 * DW + 3 * L);
    }

    /**
     * {@link #pvTile} for 6 rows: 6 rows × 4 vectors = 24 accumulators, the most that leave room for the four V
     * vectors and one broadcast in the 32 vector registers; each V load then serves six FMAs instead of four.
     */
    private static void pvTile6(float[] p, int po, float[] v, int vo, int keys, float[] o, int oo, float[] corr,
                                int r) {
        FloatVector a00;
        FloatVector a01;
        FloatVector a02;
        FloatVector a03;
        FloatVector a10;
        FloatVector a11;
        FloatVector a12;
        FloatVector a13;
        FloatVector a20;
        FloatVector a21;
        FloatVector a22;
        FloatVector a23;
        FloatVector a30;
        FloatVector a31;
        FloatVector a32;
        FloatVector a33;
        FloatVector a40;
        FloatVector a41;
        FloatVector a42;
        FloatVector a43;
        FloatVector a50;
        FloatVector a51;
        FloatVector a52;
        FloatVector a53;
        if (corr == null) {
            a00 = FloatVector.zero(F);
            a01 = a00;
            a02 = a00;
            a03 = a00;
            a10 = a00;
            a11 = a00;
            a12 = a00;
            a13 = a00;
            a20 = a00;
            a21 = a00;
            a22 = a00;
            a23 = a00;
            a30 = a00;
            a31 = a00;
            a32 = a00;
            a33 = a00;
            a40 = a00;
            a41 = a00;
            a42 = a00;
            a43 = a00;
            a50 = a00;
            a51 = a00;
            a52 = a00;
            a53 = a00;
        } else {
            float c0 = corr[r];
            float c1 = corr[r + 1];
            float c2 = corr[r + 2];
            float c3 = corr[r + 3];
            float c4 = corr[r + 4];
            float c5 = corr[r + 5];
            a00 = FloatVector.fromArray(F, o, oo).mul(c0);
            a01 = FloatVector.fromArray(F, o, oo + L).mul(c0);
            a02 = FloatVector.fromArray(F, o, oo + 2 * L).mul(c0);
            a03 = FloatVector.fromArray(F, o, oo + 3 * L).mul(c0);
            a10 = FloatVector.fromArray(F, o, oo + DW).mul(c1);
            a11 = FloatVector.fromArray(F, o, oo + DW + L).mul(c1);
            a12 = FloatVector.fromArray(F, o, oo + DW + 2 * L).mul(c1);
            a13 = FloatVector.fromArray(F, o, oo + DW + 3 * L).mul(c1);
            a20 = FloatVector.fromArray(F, o, oo + 2 * DW).mul(c2);
            a21 = FloatVector.fromArray(F, o, oo + 2 * DW + L).mul(c2);
            a22 = FloatVector.fromArray(F, o, oo + 2 * DW + 2 * L).mul(c2);
            a23 = FloatVector.fromArray(F, o, oo + 2 * DW + 3 * L).mul(c2);
            a30 = FloatVector.fromArray(F, o, oo + 3 * DW).mul(c3);
            a31 = FloatVector.fromArray(F, o, oo + 3 * DW + L).mul(c3);
            a32 = FloatVector.fromArray(F, o, oo + 3 * DW + 2 * L).mul(c3);
            a33 = FloatVector.fromArray(F, o, oo + 3 * DW + 3 * L).mul(c3);
            a40 = FloatVector.fromArray(F, o, oo + 4 * DW).mul(c4);
            a41 = FloatVector.fromArray(F, o, oo + 4 * DW + L).mul(c4);
            a42 = FloatVector.fromArray(F, o, oo + 4 * DW + 2 * L).mul(c4);
            a43 = FloatVector.fromArray(F, o, oo + 4 * DW + 3 * L).mul(c4);
            a50 = FloatVector.fromArray(F, o, oo + 5 * DW).mul(c5);
            a51 = FloatVector.fromArray(F, o, oo + 5 * DW + L).mul(c5);
            a52 = FloatVector.fromArray(F, o, oo + 5 * DW + 2 * L).mul(c5);
            a53 = FloatVector.fromArray(F, o, oo + 5 * DW + 3 * L).mul(c5);
        }
        for (int kl = 0; kl < keys; kl++) {
            int vk = vo + kl * DW;
            int pk = po + kl * RW;
            FloatVector v0 = FloatVector.fromArray(F, v, vk);
            FloatVector v1 = FloatVector.fromArray(F, v, vk + L);
            FloatVector v2 = FloatVector.fromArray(F, v, vk + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, v, vk + 3 * L);
            FloatVector p0 = FloatVector.broadcast(F, p[pk]);
            a00 = v0.fma(p0, a00);
            a01 = v1.fma(p0, a01);
            a02 = v2.fma(p0, a02);
            a03 = v3.fma(p0, a03);
            FloatVector p1 = FloatVector.broadcast(F, p[pk + 1]);
            a10 = v0.fma(p1, a10);
            a11 = v1.fma(p1, a11);
            a12 = v2.fma(p1, a12);
            a13 = v3.fma(p1, a13);
            FloatVector p2 = FloatVector.broadcast(F, p[pk + 2]);
            a20 = v0.fma(p2, a20);
            a21 = v1.fma(p2, a21);
            a22 = v2.fma(p2, a22);
            a23 = v3.fma(p2, a23);
            FloatVector p3 = FloatVector.broadcast(F, p[pk + 3]);
            a30 = v0.fma(p3, a30);
            a31 = v1.fma(p3, a31);
            a32 = v2.fma(p3, a32);
            a33 = v3.fma(p3, a33);
            FloatVector p4 = FloatVector.broadcast(F, p[pk + 4]);
            a40 = v0.fma(p4, a40);
            a41 = v1.fma(p4, a41);
            a42 = v2.fma(p4, a42);
            a43 = v3.fma(p4, a43);
            FloatVector p5 = FloatVector.broadcast(F, p[pk + 5]);
            a50 = v0.fma(p5, a50);
            a51 = v1.fma(p5, a51);
            a52 = v2.fma(p5, a52);
            a53 = v3.fma(p5, a53);
        }
        a00.intoArray(o, oo);
        a01.intoArray(o, oo + L);
        a02.intoArray(o, oo + 2 * L);
        a03.intoArray(o, oo + 3 * L);
        a10.intoArray(o, oo + DW);
        a11.intoArray(o, oo + DW + L);
        a12.intoArray(o, oo + DW + 2 * L);
        a13.intoArray(o, oo + DW + 3 * L);
        a20.intoArray(o, oo + 2 * DW);
        a21.intoArray(o, oo + 2 * DW + L);
        a22.intoArray(o, oo + 2 * DW + 2 * L);
        a23.intoArray(o, oo + 2 * DW + 3 * L);
        a30.intoArray(o, oo + 3 * DW);
        a31.intoArray(o, oo + 3 * DW + L);
        a32.intoArray(o, oo + 3 * DW + 2 * L);
        a33.intoArray(o, oo + 3 * DW + 3 * L);
        a40.intoArray(o, oo + 4 * DW);
        a41.intoArray(o, oo + 4 * DW + L);
        a42.intoArray(o, oo + 4 * DW + 2 * L);
        a43.intoArray(o, oo + 4 * DW + 3 * L);
        a50.intoArray(o, oo + 5 * DW);
        a51.intoArray(o, oo + 5 * DW + L);
        a52.intoArray(o, oo + 5 * DW + 2 * L);
        a53.intoArray(o, oo + 5 * DW + 3 * L);
    }

    /**
     * The pooled target row of query block m, as the official {@code attn_with_pooling}: for each kept key block
     * n, p*[r, n] = exp(R[r, n] − m_r) / l_r with R the block's row max of the scaled scores, raw[n] = max over the
     * block's real rows; then the row is divided by its sum.
     */
    private static void pooledTargetRow(float[] target, float[] blockMax, float[] rowMax, float[] rowSum, int rows,
                                        int bmp, int rowBase, int m, int nb, BlockMask mask, int b, int h) {
        double sum = 0;
        for (int j = 0; j <= m; j++) {
            float raw = 0f;
            if (mask == null || mask.keep(b, h, m, j)) {
                int base = j * bmp;
                int r = 0;
                FloatVector best = FloatVector.zero(F);
                int bound = F.loopBound(rows);
                for (; r < bound; r += L) {
                    FloatVector p = VectorMath.exp(FloatVector.fromArray(F, blockMax, base + r)
                            .sub(FloatVector.fromArray(F, rowMax, r))).div(FloatVector.fromArray(F, rowSum, r));
                    best = best.max(p);
                }
                raw = best.reduceLanes(VectorOperators.MAX);
                for (; r < rows; r++) {
                    float p = VectorMath.exp(blockMax[base + r] - rowMax[r]) / rowSum[r];
                    raw = Math.max(raw, p);
                }
            }
            target[rowBase + j] = raw;
            sum += raw;
        }
        float inv = sum == 0 ? 0f : (float) (1.0 / sum);
        for (int j = 0; j <= m; j++) {
            target[rowBase + j] *= inv;
        }
        Arrays.fill(target, rowBase + m + 1, rowBase + nb, 0f);
    }
}
