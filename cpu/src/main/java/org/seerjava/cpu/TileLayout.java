package org.seerjava.cpu;

import static org.seerjava.cpu.Vec.L;

/**
 * The tile shapes of the CPU attention kernel ({@link FlashAttention}) and where a row lies in them. Rows of a query
 * block are held in panels of RW = 4·L rows, {@code [BMp / RW][inner][RW]} (Qt with inner = D channels, St with
 * inner = BNp keys), so that a vector of L consecutive rows is one load; O and the packed V are held in chunks of
 * DW = 4·L channels. Every tile array starts {@link #A} floats in, so that with 64-byte aligned objects its vectors
 * start on cache lines.
 */
final class TileLayout {
    static final int KG = 4;          // keys per score micro-tile, and per interleaved group of the packed K
    static final int RV = 4;          // row vectors per score micro-tile
    static final int RW = RV * L;     // rows per score micro-tile, and per Qt and St panel
    static final int PR = 6;          // rows per P·V micro-tile
    static final int PT = 4;          // rows per P·V tail micro-tile; units' row counts are rounded to it
    static final int DW = 4 * L;      // D channels per P·V micro-tile, and per V and O chunk
    /**
     * Floats skipped at the start of every tile array (Qt, St, O and the packed V), so that with 64-byte aligned
     * objects their vectors start on cache lines ({@link Vec#TILE_OFFSET}).
     */
    static final int A = Vec.TILE_OFFSET;

    private TileLayout() {
    }

    /**
     * Where row {@code row}'s element 0 lies in a tile of RW-row panels, {@code [BMp / RW][inner][RW]} after the
     * {@link #A} floats of alignment (Qt with inner = D, St with inner = BNp keys); element i of the row is i·RW
     * further.
     */
    static int panelled(int row, int inner) {
        return A + (row / RW) * inner * RW + row % RW;
    }
}
