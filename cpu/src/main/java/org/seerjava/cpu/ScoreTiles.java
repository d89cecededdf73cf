package org.seerjava.cpu;

import static org.seerjava.cpu.TileLayout.A;
import static org.seerjava.cpu.TileLayout.KG;
import static org.seerjava.cpu.TileLayout.RV;
import static org.seerjava.cpu.TileLayout.RW;
import static org.seerjava.cpu.TileLayout.panelled;
import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The score tile of the CPU attention kernel, {@code St = Qt · Kᵀ} for one key block: {@code St [BMp / RW][key][RW]}
 * from the transposed, pre-scaled query block {@code Qt [BMp / RW][D][RW]} and the interleaved packed K
 * ({@link KvPacking}), with the tile's row maxima.
 *
 * <p>Micro-kernels. Each register tile is its own small method ({@link #scoreTile} and its narrower twins for the
 * diagonal block) whose inner loop steps every operand by a compile-time constant (RW floats of Qt or St, KG floats of
 * the interleaved K), so that C2 removes the bounds checks from the loop and keeps every pointer in a register. The
 * twins repeat {@link #scoreTile}'s body with fewer row vectors on purpose: a loop over an array of accumulators, or
 * one method with the tile width as a parameter, would not keep the accumulators in registers (docs/PERFORMANCE.md,
 * "How the CPU kernels work").
 */
final class ScoreTiles {
    private ScoreTiles() {
    }

    /**
     * St[kl][r] = Σ_d Qt[d][r] · K[kl][d] for keys kl &lt; nk, rounded up to KG (the packed K's spare lanes repeat the
     * block's last key; their St rows are never read), panel by panel of RW rows; the tile's row maxima into tileMax
     * when it is not null.
     */
    static void scores(float[] qt, float[] k, int kBase, int nk, int d, int bmp, int bnp, float[] st,
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
     * row vector starting at row r, for keys below min(nk, r + L) only, which is all that {@link FlashAttention}'s softmax
     * step and {@link PvTiles#pv} read on the diagonal.
     */
    static void scoresDiagonal(float[] qt, float[] k, int kBase, int nk, int d, int bmp, int bnp, float[] st,
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
}
