package org.seerjava.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tiles of a linear layer {@code y[r, o] (+)= Σ_k x[r, k] · W[o, k] + b[o]} over one panel of
 * {@link #PW} output columns: W's panel is packed transposed, {@code w[base + k·PW + j] = W[col0 + j, k]} (zero past
 * the last column), and a tile keeps a 4-row × 3-vector block of y in 12 accumulators while it walks k, one
 * broadcast of x and three loads of W per row and step, no horizontal sums. The model's heap {@code Linear} (panels
 * packed once) and the runtime's {@code WeightMatmul} (a panel widened per task from the stored dtype) both run their
 * products through these two methods.
 *
 * <p>The tile's rows are written out one by one on purpose: a loop over an array of accumulators would not keep
 * them in registers.
 */
public final class LinearTiles {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Columns per panel: three vectors. */
    public static final int PW = 3 * L;

    private LinearTiles() {
    }

    /**
     * Rows r … r + 3 of y for the panel's columns {@code col0 … col0 + PW − 1} (those below {@code out}).
     *
     * @param w          packed panels; this panel starts at {@code base}
     * @param in         the inner dimension (columns of x)
     * @param x          {@code [n, in]} row-major
     * @param y          {@code [n, out]} row-major, written or added to
     * @param bias       {@code [out]} (or longer) or null
     * @param accumulate add to y instead of overwriting it
     */
    public static void rows4(float[] w, int base, int in, float[] x, int r, float[] y, int col0, int out, float[] bias,
                             boolean accumulate) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00;
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        for (int k = 0, wb = base; k < in; k++, wb += PW) {
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
        store(y, r, col0, a00, out, bias, accumulate);
        store(y, r, col0 + L, a01, out, bias, accumulate);
        store(y, r, col0 + 2 * L, a02, out, bias, accumulate);
        store(y, r + 1, col0, a10, out, bias, accumulate);
        store(y, r + 1, col0 + L, a11, out, bias, accumulate);
        store(y, r + 1, col0 + 2 * L, a12, out, bias, accumulate);
        store(y, r + 2, col0, a20, out, bias, accumulate);
        store(y, r + 2, col0 + L, a21, out, bias, accumulate);
        store(y, r + 2, col0 + 2 * L, a22, out, bias, accumulate);
        store(y, r + 3, col0, a30, out, bias, accumulate);
        store(y, r + 3, col0 + L, a31, out, bias, accumulate);
        store(y, r + 3, col0 + 2 * L, a32, out, bias, accumulate);
    }

    /** Row r of y for the panel's columns, as {@link #rows4} (for the rows left over). */
    public static void row1(float[] w, int base, int in, float[] x, int r, float[] y, int col0, int out, float[] bias,
                            boolean accumulate) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0;
        int x0 = r * in;
        for (int k = 0, wb = base; k < in; k++, wb += PW) {
            FloatVector b = FloatVector.broadcast(S, x[x0 + k]);
            a0 = b.fma(FloatVector.fromArray(S, w, wb), a0);
            a1 = b.fma(FloatVector.fromArray(S, w, wb + L), a1);
            a2 = b.fma(FloatVector.fromArray(S, w, wb + 2 * L), a2);
        }
        store(y, r, col0, a0, out, bias, accumulate);
        store(y, r, col0 + L, a1, out, bias, accumulate);
        store(y, r, col0 + 2 * L, a2, out, bias, accumulate);
    }

    /** {@code y[r, col … col + L − 1] (+)= acc + b}, masked at the last column; nothing at or past {@code out}. */
    private static void store(float[] y, int r, int col, FloatVector acc, int out, float[] bias, boolean accumulate) {
        if (col >= out) {
            return;
        }
        int idx = r * out + col;
        if (col + L <= out) {
            if (bias != null) {
                acc = acc.add(FloatVector.fromArray(S, bias, col));
            }
            if (accumulate) {
                acc = acc.add(FloatVector.fromArray(S, y, idx));
            }
            acc.intoArray(y, idx);
        } else {
            VectorMask<Float> m = S.indexInRange(col, out);
            if (bias != null) {
                acc = acc.add(FloatVector.fromArray(S, bias, col, m));
            }
            if (accumulate) {
                acc = acc.add(FloatVector.fromArray(S, y, idx, m));
            }
            acc.intoArray(y, idx, m);
        }
    }
}
