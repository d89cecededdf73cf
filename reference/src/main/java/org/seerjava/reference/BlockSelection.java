package org.seerjava.reference;

/**
 * Turns gate scores {@code [B, H, nb, nb]} into a {@link BlockMask} (docs/SPEC.md §3):
 * <ol>
 *   <li>threshold: keep (i, j) when {@code score[i, j] > threshold}; top-k: keep the k highest scores of row i,
 *       {@code k = max(1, int((1 − √(1 − nz)) · nb))}, ties broken towards the lower block index;</li>
 *   <li>{@code lastBlockDense}: rows nb−2 and nb−1 are kept whole;</li>
 *   <li>the causal lower triangle: (i, j) is dropped when j &gt; i;</li>
 *   <li>{@code keepDiagonal}: (i, i) is added.</li>
 * </ol>
 */
public final class BlockSelection {
    private BlockSelection() {
    }

    /** k = max(1, int((1 − √(1 − nzRatio)) · blocks)). */
    public static int topKCount(double nzRatio, int blocks) {
        Checks.positive("blocks", blocks);
        if (!(nzRatio > 0 && nzRatio <= 1)) {
            throw new IllegalArgumentException("nzRatio must be in (0, 1], got " + nzRatio);
        }
        int k = (int) ((1 - Math.sqrt(1 - nzRatio)) * blocks);
        return Math.max(1, k);
    }

    /**
     * Selects blocks from {@code scores [batch, heads, blocks, blocks]}.
     *
     * @throws IllegalArgumentException when the sizes do not match or a score is NaN
     */
    public static BlockMask select(double[] scores, int batch, int heads, int blocks, SelectionRule rule) {
        long n = Checks.blockMap(batch, heads, blocks);
        if (rule == null) {
            throw new IllegalArgumentException("selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores", scores, n));
        byte[] bits = new byte[scores.length];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int qBlock = 0; qBlock < blocks; qBlock++) {
                int row = (bh * blocks + qBlock) * blocks;
                switch (rule) {
                    case SelectionRule.Threshold t -> {
                        for (int kBlock = 0; kBlock < blocks; kBlock++) {
                            bits[row + kBlock] = (byte) (scores[row + kBlock] > t.threshold() ? 1 : 0);
                        }
                    }
                    case SelectionRule.TopK t -> selectTopK(scores, row, blocks, t.k(blocks), bits);
                }
                if (rule.lastBlockDense() && qBlock >= blocks - 2) {
                    for (int kBlock = 0; kBlock < blocks; kBlock++) {
                        bits[row + kBlock] = 1;
                    }
                }
                for (int kBlock = qBlock + 1; kBlock < blocks; kBlock++) {
                    bits[row + kBlock] = 0;
                }
                if (rule.keepDiagonal()) {
                    bits[row + qBlock] = 1;
                }
            }
        }
        return BlockMask.adopt(batch, heads, blocks, bits);
    }

    /** Marks the k largest of {@code scores[row, row + blocks)}; equal scores prefer the lower index. */
    private static void selectTopK(double[] scores, int row, int blocks, int k, byte[] bits) {
        for (int pick = 0; pick < Math.min(k, blocks); pick++) {
            int best = -1;
            for (int kBlock = 0; kBlock < blocks; kBlock++) {
                if (bits[row + kBlock] == 0 && (best < 0 || scores[row + kBlock] > scores[row + best])) {
                    best = kBlock;
                }
            }
            bits[row + best] = 1;
        }
    }
}
