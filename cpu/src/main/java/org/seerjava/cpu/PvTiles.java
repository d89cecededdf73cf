package org.seerjava.cpu;

import static org.seerjava.cpu.TileLayout.A;
import static org.seerjava.cpu.TileLayout.DW;
import static org.seerjava.cpu.TileLayout.PR;
import static org.seerjava.cpu.TileLayout.PT;
import static org.seerjava.cpu.TileLayout.RW;
import static org.seerjava.cpu.TileLayout.panelled;
import static org.seerjava.cpu.Vec.F;
import static org.seerjava.cpu.Vec.L;

import jdk.incubator.vector.FloatVector;

/**
 * The output update of the CPU attention kernel, {@code O = corr · O + P · V} for one key block: P is the softmax
 * step's probabilities in the score tile's layout ({@link ScoreTiles}), V the packed V ({@link KvPacking}), O a
 * unit's output accumulator {@code [Dp / DW][BMp][DW]}.
 *
 * <p>Micro-kernels. {@link #pvTile6} (6 rows × 4 vectors = 24 accumulators) and {@link #pvTile} (4 rows, for the
 * rest) are separate small methods whose inner loop steps every operand by a compile-time constant (RW floats of P,
 * DW floats of V), so that C2 keeps every pointer and accumulator in a register. {@link #pvTile6} repeats
 * {@link #pvTile}'s body for two more rows on purpose: a loop over an array of accumulators, or one method with the
 * row count as a parameter, would spill them (docs/PERFORMANCE.md, "How the CPU kernels work").
 */
final class PvTiles {
    private PvTiles() {
    }

    /**
     * O[r][:] = corr[r] · O[r][:] + Σ_kl P[kl][r] · V[kl][:] in micro-tiles of 6 rows × DW channels (4 rows for the
     * last 4 or 8 rows), D chunk by D chunk (one chunk of a V block stays in L1); O starts from zero when corr is
     * null (the first visited key block). On the diagonal block the keys after a micro-tile's last row are skipped
     * (their P is exactly 0), which halves the P·V work there; its micro-tiles then stay inside one row vector, whose
     * P the softmax computed only up to the vector's last row. Elsewhere they stay inside one RW-row panel of P.
     */
    static void pv(float[] p, float[] v, int vBase, int chunkStride, int nk, int bmp, int bnp, float[] o,
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
}
