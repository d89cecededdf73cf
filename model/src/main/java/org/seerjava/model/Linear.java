package org.seerjava.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.seerjava.cpu.Parallel;

/**
 * A linear layer {@code y[n, out] = x[n, in] · Wᵀ + b} in float32 with the Vector API, where {@code W} is given as
 * Hugging Face stores it, {@code [out, in]}.
 *
 * <p>W is transposed and packed once into column panels {@code [panel][in][PW]} of {@code PW = 3 ×} vector lanes
 * (zero padded), so that the inner kernel is the classic register-blocked outer product: 4 rows of x × 3 vectors of
 * columns, 12 accumulators, one broadcast per row and one load per vector for each k, no horizontal reductions. The
 * tile's rows are written out one by one on purpose (as the CPU attention's register tiles are): a loop over an array
 * of accumulators would not keep them in registers. Work is split over (block of rows, panel) on the project's thread
 * pool ({@link Parallel}).
 */
final class Linear {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Columns per panel. */
    static final int PW = 3 * L;
    /** Rows of x per micro-kernel. */
    static final int MR = 4;
    /** Rows of x per task. */
    static final int ROWS_PER_TASK = 64;

    final int in;
    final int out;
    private final int panels;
    private final float[] packed;
    private final float[] bias;

    /**
     * @param weight {@code [out, in]} row-major
     * @param bias   {@code [out]} or null
     */
    Linear(float[] weight, float[] bias, int out, int in) {
        if (weight.length != (long) out * in) {
            throw new IllegalArgumentException("weight has " + weight.length + " elements, expected " + out + " × " + in);
        }
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException("bias has " + bias.length + " elements, expected " + out);
        }
        this.in = in;
        this.out = out;
        this.panels = Math.ceilDiv(out, PW);
        long size = (long) panels * in * PW;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("linear layer [" + out + ", " + in + "] is too large for one array");
        }
        this.packed = new float[(int) size];
        for (int p = 0; p < panels; p++) {
            int base = p * in * PW;
            for (int j = 0; j < PW; j++) {
                int o = p * PW + j;
                if (o >= out) {
                    break;
                }
                int wRow = o * in;
                for (int k = 0; k < in; k++) {
                    packed[base + k * PW + j] = weight[wRow + k];
                }
            }
        }
        if (bias != null) {
            this.bias = new float[panels * PW];
            System.arraycopy(bias, 0, this.bias, 0, out);
        } else {
            this.bias = null;
        }
    }

    /** Whether the layer has a bias. */
    boolean hasBias() {
        return bias != null;
    }

    /**
     * {@code y[r, :] (+)= x[r, :] · Wᵀ + b} for rows r in [0, n).
     *
     * @param accumulate add to y (a residual connection) instead of overwriting it
     */
    void apply(float[] x, int n, float[] y, boolean accumulate) {
        if (x.length < (long) n * in || y.length < (long) n * out) {
            throw new IllegalArgumentException("linear [" + out + ", " + in + "] on " + n + " rows: x has " + x.length
                    + " elements, y " + y.length);
        }
        int rowBlocks = Math.ceilDiv(n, ROWS_PER_TASK);
        Parallel.forEach(rowBlocks * panels, t -> {
            int p = t % panels;
            int r0 = (t / panels) * ROWS_PER_TASK;
            int r1 = Math.min(n, r0 + ROWS_PER_TASK);
            int r = r0;
            for (; r + MR <= r1; r += MR) {
                kernel4(x, r, y, p, accumulate);
            }
            for (; r < r1; r++) {
                kernel1(x, r, y, p, accumulate);
            }
        });
    }

    private void kernel4(float[] x, int r, float[] y, int p, boolean accumulate) {
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a02 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S), a12 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a22 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S), a32 = FloatVector.zero(S);
        final int in = this.in;
        final float[] w = packed;
        int wb = p * in * PW;
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        for (int k = 0; k < in; k++, wb += PW) {
            FloatVector w0 = FloatVector.fromArray(S, w, wb);
            FloatVector w1 = FloatVector.fromArray(S, w, wb + L);
            FloatVector w2 = FloatVector.fromArray(S, w, wb + 2 * L);
            FloatVector b = FloatVector.broadcast(S, x[x0 + k]);
            a00 = b.fma(w0, a00);
            a01 = b.fma(w1, a01);
            a02 = b.fma(w2, a02);
            b = FloatVector.broadcast(S, x[x1 + k]);
            a10 = b.fma(w0, a10);
            a11 = b.fma(w1, a11);
            a12 = b.fma(w2, a12);
            b = FloatVector.broadcast(S, x[x2 + k]);
            a20 = b.fma(w0, a20);
            a21 = b.fma(w1, a21);
            a22 = b.fma(w2, a22);
            b = FloatVector.broadcast(S, x[x3 + k]);
            a30 = b.fma(w0, a30);
            a31 = b.fma(w1, a31);
            a32 = b.fma(w2, a32);
        }
        store(y, r, p, 0, a00, accumulate);
        store(y, r, p, 1, a01, accumulate);
        store(y, r, p, 2, a02, accumulate);
        store(y, r + 1, p, 0, a10, accumulate);
        store(y, r + 1, p, 1, a11, accumulate);
        store(y, r + 1, p, 2, a12, accumulate);
        store(y, r + 2, p, 0, a20, accumulate);
        store(y, r + 2, p, 1, a21, accumulate);
        store(y, r + 2, p, 2, a22, accumulate);
        store(y, r + 3, p, 0, a30, accumulate);
        store(y, r + 3, p, 1, a31, accumulate);
        store(y, r + 3, p, 2, a32, accumulate);
    }

    private void kernel1(float[] x, int r, float[] y, int p, boolean accumulate) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S);
        final float[] w = packed;
        int wb = p * in * PW;
        int x0 = r * in;
        for (int k = 0; k < in; k++, wb += PW) {
            FloatVector b = FloatVector.broadcast(S, x[x0 + k]);
            a0 = b.fma(FloatVector.fromArray(S, w, wb), a0);
            a1 = b.fma(FloatVector.fromArray(S, w, wb + L), a1);
            a2 = b.fma(FloatVector.fromArray(S, w, wb + 2 * L), a2);
        }
        store(y, r, p, 0, a0, accumulate);
        store(y, r, p, 1, a1, accumulate);
        store(y, r, p, 2, a2, accumulate);
    }

    private void store(float[] y, int r, int p, int c, FloatVector acc, boolean accumulate) {
        int col = p * PW + c * L;
        if (col >= out) {
            return;
        }
        if (bias != null) {
            acc = acc.add(FloatVector.fromArray(S, bias, col));
        }
        int idx = r * out + col;
        if (col + L <= out) {
            if (accumulate) {
                acc = acc.add(FloatVector.fromArray(S, y, idx));
            }
            acc.intoArray(y, idx);
        } else {
            VectorMask<Float> m = S.indexInRange(col, out);
            if (accumulate) {
                acc = acc.add(FloatVector.fromArray(S, y, idx, m));
            }
            acc.intoArray(y, idx, m);
        }
    }
}
