package org.seerjava.cpu;

import java.util.Arrays;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.SelectionRule;

/**
 * Block selection ({@link org.seerjava.reference.BlockSelection#select}) with an O(nb log nb) top-k per row: the
 * row is sorted once on keys that order by score, then by lower block index, instead of k scans of the row.
 */
final class CpuSelection {
    private CpuSelection() {
    }

    static BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        byte[] bits = new byte[scores.length];
        int rowsPerHead = blocks;
        Parallel.forEach(batch * heads, bh -> {
            long[] keys = rule instanceof SelectionRule.TopK ? new long[blocks] : null;
            for (int qBlock = 0; qBlock < rowsPerHead; qBlock++) {
                int row = (bh * blocks + qBlock) * blocks;
                switch (rule) {
                    case SelectionRule.Threshold t -> {
                        double threshold = t.threshold();
                        for (int j = 0; j < blocks; j++) {
                            bits[row + j] = (byte) (scores[row + j] > threshold ? 1 : 0);
                        }
                    }
                    case SelectionRule.TopK t -> {
                        int kCount = Math.min(t.k(blocks), blocks);
                        for (int j = 0; j < blocks; j++) {
                            keys[j] = ((long) sortable(scores[row + j]) << 32) | (0xFFFFFFFFL - j);
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
        });
        return BlockMask.of(batch, heads, blocks, bits);
    }

    /** An int whose signed order is the float order (−0 and +0 equal, as {@code >} sees them). */
    private static int sortable(float x) {
        int bits = Float.floatToIntBits(x + 0.0f);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }
}
