package org.seerjava.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.SelectionRule;

/**
 * Block selection ({@link org.seerjava.reference.BlockSelection#select}) with an O(nb log nb) top-k per row: the
 * row is sorted once on keys that order by score, then by lower block index, instead of k scans of the row. Parallel
 * over (sequence, head) maps; a batch and a varlen batch ({@link Sequences}) take the same path.
 */
final class CpuSelection {
    private CpuSelection() {
    }

    /** A mask {@code [batch, heads, blocks, blocks]} from the scores laid out the same way. */
    static BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        byte[] bits = new byte[scores.length];
        Parallel.forEach(batch * heads, bh -> {
            int map = bh * blocks * blocks;
            selectMap(scores, map, bits, map, blocks, rule);
        });
        return BlockMask.of(batch, heads, blocks, bits);
    }

    /**
     * One mask {@code [1, heads, nb_s, nb_s]} per sequence from the packed scores {@code Σ_s [heads, nb_s, nb_s]}.
     */
    static List<BlockMask> selectVarlen(float[] scores, Sequences seqs, int heads, SelectionRule rule) {
        int[] mapStart = seqs.mapStart(heads);
        byte[][] bits = new byte[seqs.count()][];
        for (int s = 0; s < seqs.count(); s++) {
            bits[s] = new byte[mapStart[s + 1] - mapStart[s]];
        }
        Parallel.forEach(seqs.count() * heads, sh -> {
            int s = sh / heads;
            int nb = seqs.blocks(s);
            int map = (sh % heads) * nb * nb;
            selectMap(scores, mapStart[s] + map, bits[s], map, nb, rule);
        });
        List<BlockMask> masks = new ArrayList<>(seqs.count());
        for (int s = 0; s < seqs.count(); s++) {
            masks.add(BlockMask.of(1, heads, seqs.blocks(s), bits[s]));
        }
        return List.copyOf(masks);
    }

    /** Selects the rows of one head's map {@code [blocks, blocks]}: scores from {@code at}, bits from {@code bitsAt}. */
    private static void selectMap(float[] scores, int at, byte[] bits, int bitsAt, int blocks, SelectionRule rule) {
        long[] keys = rule instanceof SelectionRule.TopK ? new long[blocks] : null;
        for (int qBlock = 0; qBlock < blocks; qBlock++) {
            int scoreRow = at + qBlock * blocks;
            int row = bitsAt + qBlock * blocks;
            switch (rule) {
                case SelectionRule.Threshold t -> {
                    double threshold = t.threshold();
                    for (int j = 0; j < blocks; j++) {
                        bits[row + j] = (byte) (scores[scoreRow + j] > threshold ? 1 : 0);
                    }
                }
                case SelectionRule.TopK t -> {
                    int kCount = Math.min(t.k(blocks), blocks);
                    for (int j = 0; j < blocks; j++) {
                        keys[j] = ((long) sortable(scores[scoreRow + j]) << 32) | (0xFFFFFFFFL - j);
                    }
                    Arrays.sort(keys);
                    for (int pick = 0; pick < kCount; pick++) {
                        int j = (int) (0xFFFFFFFFL - (keys[blocks - 1 - pick] & 0xFFFFFFFFL));
                        bits[row + j] = 1;
                    }
                }
            }
            if (rule.lastBlockDense() && qBlock >= blocks - 2) {
                Arrays.fill(bits, row, row + blocks, (byte) 1);
            }
            Arrays.fill(bits, row + qBlock + 1, row + blocks, (byte) 0);
            if (rule.keepDiagonal()) {
                bits[row + qBlock] = 1;
            }
        }
    }

    /** An int whose signed order is the float order (−0 and +0 equal, as {@code >} sees them). */
    private static int sortable(float x) {
        int bits = Float.floatToIntBits(x + 0.0f);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }
}
