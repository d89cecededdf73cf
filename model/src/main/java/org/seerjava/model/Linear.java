package org.seerjava.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.seerjava.cpu.LinearTiles;
import org.seerjava.cpu.Parallel;

/**
 * A linear layer {@code y[n, out] = x[n, in] · Wᵀ + b} in float32 with the Vector API, where {@code W} is given as
 * Hugging Face stores it, {@code [out, in]}.
 *
 * <p>W is transposed and packed once into column panels {@code [panel][in][PW]} of {@code PW = 3 ×} vector lanes
 * (zero padded), so that the inner kernel is the classic register-blocked outer product of {@link LinearTiles}: 4
 * rows of x × 3 vectors of columns, 12 accumulators, one broadcast per row and one load per vector for each k, no
 * horizontal reductions (the runtime's weight-in-place products use the same tiles). Work is split over (block of
 * rows, panel) on the project's thread pool ({@link Parallel}).
 */
final class Linear {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Columns per panel. */
    static final int PW = LinearTiles.PW;
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
            int base = p * in * PW;
            int r = r0;
            for (; r + MR <= r1; r += MR) {
                LinearTiles.rows4(packed, base, in, x, r, y, p * PW, out, bias, accumulate);
            }
            for (; r < r1; r++) {
                LinearTiles.row1(packed, base, in, x, r, y, p * PW, out, bias, accumulate);
            }
        });
    }
}
