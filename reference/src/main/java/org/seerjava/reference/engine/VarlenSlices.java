package org.seerjava.reference.engine;

import java.util.Arrays;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;

/**
 * Sequence b's part of a packed varlen tensor, for the default varlen methods of the engine interfaces: they copy each
 * sequence out, run the engine's single-sequence operation on it and copy the result back (docs/SPEC.md §11).
 */
final class VarlenSlices {
    private VarlenSlices() {
    }

    /** Rows {@code [cu[b], cu[b+1])} of {@code x [total, width]} (a copy). */
    static float[] rows(float[] x, VarlenBatch batch, int b, int width) {
        int start = batch.start(b);
        return Arrays.copyOfRange(x, start * width, (start + batch.length(b)) * width);
    }

    /** Sequence b's q or attention output rows, {@code [N_b, Hq, D]}. */
    static float[] qRows(float[] x, VarlenShape shape, int b) {
        return rows(x, shape.batch(), b, shape.qHeads() * shape.headDim());
    }

    /** Sequence b's k or v rows, {@code [N_b, Hkv, D]}. */
    static float[] kvRows(float[] x, VarlenShape shape, int b) {
        return rows(x, shape.batch(), b, shape.kvHeads() * shape.headDim());
    }

    /** Writes sequence b's attention output {@code [N_b, Hq, D]} into {@code out [total, Hq, D]}. */
    static void placeQRows(float[] rows, float[] out, VarlenShape shape, int b) {
        System.arraycopy(rows, 0, out, shape.batch().start(b) * shape.qHeads() * shape.headDim(), rows.length);
    }
}
