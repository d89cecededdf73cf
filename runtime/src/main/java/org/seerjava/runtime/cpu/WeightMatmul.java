package org.seerjava.runtime.cpu;

import org.seerjava.cpu.LinearTiles;
import org.seerjava.cpu.Parallel;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.seerjava.cpu.VectorMath;
import org.seerjava.model.WeightTensor;
import org.seerjava.reference.io.DType;

/**
 * {@code y[r, o] (+)= Σ_k x[r, k] · W[o, k] + b[o]}: a linear layer whose weight {@code W [out, in]} stays where
 * it is stored (a memory-mapped safetensors file or native memory), in its dtype.
 *
 * <p>bf16 is read directly: one {@code int} lane holds two bf16 weights, element 2j in its low half and 2j + 1 in
 * its high half (little-endian), so {@code lane << 16} and {@code lane & 0xFFFF0000} are the even and odd weights as
 * exact float32 bits. x is split once per call into its even and odd elements, and a dot product is
 * {@code Σ_j W[2j]·x[2j] + W[2j+1]·x[2j+1]} with fused multiply-adds, float32 accumulation. f32 and f16 weights are
 * widened per tile of 4 rows into the same even/odd layout on the heap (f16 by {@link Float#float16ToFloat}).
 *
 * <p>Fewer than {@value #PANEL_MIN_ROWS} rows of x (decode, short continuations): (64 weight rows × 64 x rows)
 * tasks, inside which a 4 × 4 register block (4 weight rows × 4 rows of x, 16 accumulators) walks the inner
 * dimension; decode is a matrix-vector product bound by memory bandwidth, each bf16 weight read once. More rows
 * (prefill): the panel path of {@code panels} (W widened per panel of columns, a register-blocked outer product).
 * Sums are taken in a fixed order ({@link VectorMath#sum} for the dot products), so results do not depend on threads
 * or JIT tier; the two paths sum in different orders (a row's result differs between them by float32 rounding).
 */
final class WeightMatmul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final int ROWS_PER_TASK = 64;
    private static final int ODD = 0xFFFF0000;

    private WeightMatmul() {
    }

    /**
     * Applies the layer to n rows.
     *
     * @param w          the weight {@code [out, in]}
     * @param bias       {@code [out]} or null
     * @param x          {@code [n, in]} row-major
     * @param n          rows of x
     * @param y          {@code [n, out]} row-major, written (or added to)
     * @param accumulate add to y (a residual connection) instead of overwriting it
     */
    static void apply(WeightTensor w, float[] bias, float[] x, int n, float[] y, boolean accumulate) {
        long[] shape = w.shape();
        int out = Math.toIntExact(shape[0]);
        int in = Math.toIntExact(shape[1]);
        if (x.length < (long) n * in || y.length < (long) n * out) {
            throw new IllegalArgumentException("linear " + w.name() + " [" + out + ", " + in + "] on " + n
                    + " rows: x has " + x.length + " elements, y " + y.length);
        }
        if (n >= PANEL_MIN_ROWS) {
            panels(w, bias, x, n, y, accumulate, out, in);
            return;
        }
        float[] xd = split(x, n, in);
        int wBlocks = Math.ceilDiv(out, ROWS_PER_TASK);
        int xBlocks = Math.ceilDiv(n, ROWS_PER_TASK);
        boolean bf16 = w.dtype() == DType.BF16;
        Parallel.forEach(wBlocks * xBlocks, t -> {
            int o0 = (t % wBlocks) * ROWS_PER_TASK;
            int o1 = Math.min(out, o0 + ROWS_PER_TASK);
            int r0 = (t / wBlocks) * ROWS_PER_TASK;
            int r1 = Math.min(n, r0 + ROWS_PER_TASK);
            float[] tile = bf16 ? null : new float[4 * in];
            float[] sums = new float[16];
            for (int o = o0; o < o1; o += 4) {
                int rows = Math.min(4, o1 - o);
                if (!bf16) {
                    widen(w, o, rows, in, tile);
                }
                for (int r = r0; r < r1; r += 4) {
                    int xr = Math.min(4, r1 - r);
                    if (rows == 4 && xr == 4) {
                        if (bf16) {
                            bf16Block44(w.data(), o, in, xd, r, sums);
                        } else {
                            tileBlock44(tile, in, xd, r, sums);
                        }
                    } else if (rows == 4 && bf16) {
                        for (int b = 0; b < xr; b++) {
                            bf16Block41(w.data(), o, in, xd, r + b, sums, b);
                        }
                    } else {
                        for (int a = 0; a < rows; a++) {
                            for (int b = 0; b < xr; b++) {
                                sums[a * 4 + b] = bf16 ? bf16Dot(w.data(), o + a, in, xd, r + b)
                                        : tileDot(tile, a, in, xd, r + b);
                            }
                        }
                    }
                    for (int a = 0; a < rows; a++) {
                        float b0 = bias == null ? 0f : bias[o + a];
                        for (int b = 0; b < xr; b++) {
                            int idx = (r + b) * out + o + a;
                            float v = sums[a * 4 + b] + b0;
                            y[idx] = accumulate ? y[idx] + v : v;
                        }
                    }
                }
            }
        });
    }

    /**
     * The prefill path: W is widened per panel of {@link #PW} output columns into a thread-local float32 buffer
     * {@code [in][PW]} (transposed), and the 4-row × 3-vector register tiles of {@link LinearTiles} (12
     * accumulators, one broadcast of x and three loads of W per step, no horizontal sums; the heap model's
     * {@code Linear} uses the same) run over a chunk of rows; tasks are (panel, chunk of {@value #PANEL_ROWS} rows),
     * so a panel is widened once per chunk.
     */
    private static void panels(WeightTensor w, float[] bias, float[] x, int n, float[] y, boolean accumulate, int out,
                               int in) {
        int panels = Math.ceilDiv(out, PW);
        int chunks = Math.ceilDiv(n, PANEL_ROWS);
        Parallel.forEach(panels * chunks, t -> {
            int p = t % panels;
            int r0 = (t / panels) * PANEL_ROWS;
            int r1 = Math.min(n, r0 + PANEL_ROWS);
            float[] packed = pack(w, p, out, in);
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                LinearTiles.rows4(packed, 0, in, x, r, y, p * PW, out, bias, accumulate);
            }
            for (; r < r1; r++) {
                LinearTiles.row1(packed, 0, in, x, r, y, p * PW, out, bias, accumulate);
            }
        });
    }

    /** Columns per panel. */
    static final int PW = LinearTiles.PW;
    /** Rows of x from which the panel path is used. */
    static final int PANEL_MIN_ROWS = 16;
    private static final int PANEL_ROWS = 256;
    private static final ThreadLocal<float[]> PACKED = new ThreadLocal<>();

    /** Panel p of W widened and transposed: {@code packed[k·PW + j] = W[p·PW + j, k]}, zero past the last row. */
    private static float[] pack(WeightTensor w, int p, int out, int in) {
        float[] packed = PACKED.get();
        if (packed == null || packed.length < in * PW) {
            packed = new float[in * PW];
            PACKED.set(packed);
        }
        float[] row = new float[in];
        for (int j = 0; j < PW; j++) {
            int o = p * PW + j;
            if (o >= out) {
                for (int k = 0; k < in; k++) {
                    packed[k * PW + j] = 0f;
                }
                continue;
            }
            widenRow(w, o, in, row);
            for (int k = 0; k < in; k++) {
                packed[k * PW + j] = row[k];
            }
        }
        return packed;
    }

    /** Row o of W as float32: bf16 through the int-pair trick, others through {@link WeightTensor#widen}. */
    private static void widenRow(WeightTensor w, int o, int in, float[] row) {
        if (w.dtype() != DType.BF16) {
            w.widen((long) o * in, row, 0, in);
            return;
        }
        MemorySegment seg = w.data();
        long base = (long) o * in;
        int k = 0;
        float[] e = new float[L];
        float[] d = new float[L];
        for (; k + 2 * L <= in; k += 2 * L) {
            IntVector v = load(seg, base + k);
            // lanes hold pairs (2i, 2i + 1): interleave back into element order
            even(v).intoArray(e, 0);
            odd(v).intoArray(d, 0);
            for (int i = 0; i < L; i++) {
                row[k + 2 * i] = e[i];
                row[k + 2 * i + 1] = d[i];
            }
        }
        for (; k < in; k++) {
            row[k] = bf16(seg, base + k);
        }
    }

    /** x rows split into even elements (first half of each row) and odd elements (second half); an odd last stays. */
    private static float[] split(float[] x, int n, int in) {
        float[] xd = new float[n * in];
        for (int r = 0; r < n; r++) {
            splitRow(x, r * in, xd, r * in, in);
        }
        return xd;
    }

    /** Widens weight rows o … o + rows − 1 into tile rows 0 … rows − 1, in the even/odd layout of x. */
    private static void widen(WeightTensor w, int o, int rows, int in, float[] tile) {
        float[] row = new float[in];
        for (int a = 0; a < rows; a++) {
            w.widen((long) (o + a) * in, row, 0, in);
            splitRow(row, 0, tile, a * in, in);
        }
    }

    /** One row of {@code in} elements into the even/odd layout: even elements first, then odd, an odd last last. */
    private static void splitRow(float[] from, int f, float[] to, int t, int in) {
        int half = in / 2;
        for (int j = 0; j < half; j++) {
            to[t + j] = from[f + 2 * j];
            to[t + half + j] = from[f + 2 * j + 1];
        }
        if ((in & 1) != 0) {
            to[t + in - 1] = from[f + in - 1];
        }
    }

    private static FloatVector even(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector v) {
        return v.and(ODD).reinterpretAsFloats();
    }

    private static IntVector load(MemorySegment w, long element) {
        return IntVector.fromMemorySegment(I, w, element * 2, ByteOrder.LITTLE_ENDIAN);
    }

    private static float bf16(MemorySegment w, long element) {
        return Float.intBitsToFloat((w.getAtIndex(WeightTensor.HALF, element) & 0xFFFF) << 16);
    }

    /** One bf16 weight row · one row of x. */
    private static float bf16Dot(MemorySegment w, int o, int in, float[] xd, int r) {
        int half = in / 2;
        int vec = half - half % L;
        long wb = (long) o * in;
        int xb = r * in;
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < vec; j += L) {
            IntVector p = load(w, wb + 2L * j);
            acc = even(p).fma(FloatVector.fromArray(F, xd, xb + j), acc);
            acc = odd(p).fma(FloatVector.fromArray(F, xd, xb + half + j), acc);
        }
        return finish(VectorMath.sum(acc), w, wb, vec, half, in, xd, xb);
    }

    /** 4 bf16 weight rows × 1 row of x into sums[a·4 + b]; the same sums, term for term, as {@link #bf16Dot}. */
    private static void bf16Block41(MemorySegment w, int o, int in, float[] xd, int r, float[] sums, int b) {
        int half = in / 2;
        int vec = half - half % L;
        long w0 = (long) o * in, w1 = w0 + in, w2 = w1 + in, w3 = w2 + in;
        int x0 = r * in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < vec; j += L) {
            FloatVector e = FloatVector.fromArray(F, xd, x0 + j);
            FloatVector d = FloatVector.fromArray(F, xd, x0 + half + j);
            IntVector p0 = load(w, w0 + 2L * j);
            IntVector p1 = load(w, w1 + 2L * j);
            IntVector p2 = load(w, w2 + 2L * j);
            IntVector p3 = load(w, w3 + 2L * j);
            a0 = odd(p0).fma(d, even(p0).fma(e, a0));
            a1 = odd(p1).fma(d, even(p1).fma(e, a1));
            a2 = odd(p2).fma(d, even(p2).fma(e, a2));
            a3 = odd(p3).fma(d, even(p3).fma(e, a3));
        }
        sums[b] = finish(VectorMath.sum(a0), w, w0, vec, half, in, xd, x0);
        sums[4 + b] = finish(VectorMath.sum(a1), w, w1, vec, half, in, xd, x0);
        sums[8 + b] = finish(VectorMath.sum(a2), w, w2, vec, half, in, xd, x0);
        sums[12 + b] = finish(VectorMath.sum(a3), w, w3, vec, half, in, xd, x0);
    }

    /** The scalar tail of a bf16 dot product. */
    private static float finish(float s, MemorySegment w, long wb, int vec, int half, int in, float[] xd, int xb) {
        for (int j = vec; j < half; j++) {
            s = Math.fma(bf16(w, wb + 2L * j), xd[xb + j], s);
            s = Math.fma(bf16(w, wb + 2L * j + 1), xd[xb + half + j], s);
        }
        if ((in & 1) != 0) {
            s = Math.fma(bf16(w, wb + in - 1), xd[xb + in - 1], s);
        }
        return s;
    }

    /** One widened tile row · one row of x. */
    private static float tileDot(float[] tile, int a, int in, float[] xd, int r) {
        int half = in / 2;
        int vec = half - half % L;
        int wb = a * in;
        int xb = r * in;
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < vec; j += L) {
            acc = FloatVector.fromArray(F, tile, wb + j).fma(FloatVector.fromArray(F, xd, xb + j), acc);
            acc = FloatVector.fromArray(F, tile, wb + half + j).fma(FloatVector.fromArray(F, xd, xb + half + j), acc);
        }
        float s = VectorMath.sum(acc);
        for (int j = vec; j < half; j++) {
            s = Math.fma(tile[wb + j], xd[xb + j], s);
            s = Math.fma(tile[wb + half + j], xd[xb + half + j], s);
        }
        if ((in & 1) != 0) {
            s = Math.fma(tile[wb + in - 1], xd[xb + in - 1], s);
        }
        return s;
    }

    /** 4 bf16 weight rows × 4 rows of x; the same sums, term for term, as {@link #bf16Dot}. */
    private static void bf16Block44(MemorySegment w, int o, int in, float[] xd, int r, float[] sums) {
        int half = in / 2;
        int vec = half - half % L;
        long w0 = (long) o * in, w1 = w0 + in, w2 = w1 + in, w3 = w2 + in;
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int j = 0; j < vec; j += L) {
            FloatVector e0 = FloatVector.fromArray(F, xd, x0 + j);
            FloatVector e1 = FloatVector.fromArray(F, xd, x1 + j);
            FloatVector e2 = FloatVector.fromArray(F, xd, x2 + j);
            FloatVector e3 = FloatVector.fromArray(F, xd, x3 + j);
            FloatVector d0 = FloatVector.fromArray(F, xd, x0 + half + j);
            FloatVector d1 = FloatVector.fromArray(F, xd, x1 + half + j);
            FloatVector d2 = FloatVector.fromArray(F, xd, x2 + half + j);
            FloatVector d3 = FloatVector.fromArray(F, xd, x3 + half + j);
            IntVector p = load(w, w0 + 2L * j);
            FloatVector we = even(p), wo = odd(p);
            a00 = wo.fma(d0, we.fma(e0, a00));
            a01 = wo.fma(d1, we.fma(e1, a01));
            a02 = wo.fma(d2, we.fma(e2, a02));
            a03 = wo.fma(d3, we.fma(e3, a03));
            p = load(w, w1 + 2L * j);
            we = even(p);
            wo = odd(p);
            a10 = wo.fma(d0, we.fma(e0, a10));
            a11 = wo.fma(d1, we.fma(e1, a11));
            a12 = wo.fma(d2, we.fma(e2, a12));
            a13 = wo.fma(d3, we.fma(e3, a13));
            p = load(w, w2 + 2L * j);
            we = even(p);
            wo = odd(p);
            a20 = wo.fma(d0, we.fma(e0, a20));
            a21 = wo.fma(d1, we.fma(e1, a21));
            a22 = wo.fma(d2, we.fma(e2, a22));
            a23 = wo.fma(d3, we.fma(e3, a23));
            p = load(w, w3 + 2L * j);
            we = even(p);
            wo = odd(p);
            a30 = wo.fma(d0, we.fma(e0, a30));
            a31 = wo.fma(d1, we.fma(e1, a31));
            a32 = wo.fma(d2, we.fma(e2, a32));
            a33 = wo.fma(d3, we.fma(e3, a33));
        }
        FloatVector[] acc = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33};
        for (int a = 0; a < 4; a++) {
            long wb = (long) (o + a) * in;
            for (int b = 0; b < 4; b++) {
                sums[a * 4 + b] = finish(VectorMath.sum(acc[a * 4 + b]), w, wb, vec, half, in, xd, (r + b) * in);
            }
        }
    }

    /** 4 widened tile rows × 4 rows of x; the same sums, term for term, as {@link #tileDot}. */
    private static void tileBlock44(float[] tile, int in, float[] xd, int r, float[] sums) {
        for (int a = 0; a < 4; a++) {
            for (int b = 0; b < 4; b++) {
                sums[a * 4 + b] = tileDot(tile, a, in, xd, r + b);
            }
        }
    }
}
