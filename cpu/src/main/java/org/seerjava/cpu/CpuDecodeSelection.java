package org.seerjava.cpu;

import java.util.Arrays;
import org.seerjava.reference.decode.DecodeSelection;
import org.seerjava.reference.decode.DecodeSelectionRule;

/**
 * Decode block selection ({@link DecodeSelection#select}) on float32 scores. The token budget's top-k takes the
 * k-th largest score of a row from a sorted copy (O(nb log nb) instead of the reference's k passes) and keeps every
 * block above it, then the blocks equal to it from the lowest index up: the set the reference's "largest first, ties
 * to the lower index" picks.
 */
final class CpuDecodeSelection {
    private CpuDecodeSelection() {
    }

    static boolean[] select(float[] scores, int batch, int kvHeads, int blocks, int blockSize,
                            boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        boolean[] selected = new boolean[batch * kvHeads * blocks];
        float[] sorted = new float[blocks];
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int row = (b * kvHeads + kh) * blocks;
                switch (rule) {
                    case DecodeSelectionRule.TokenBudget t -> {
                        int k = t.blockBudget(blockSize);
                        if (blocks <= k) {
                            Arrays.fill(selected, row, row + blocks, true);
                        } else if (k > 0) {
                            topK(scores, row, blocks, k, sorted, selected);
                        }
                        if (blockAttentionMask != null) {
                            for (int n = 0; n < blocks; n++) {
                                selected[row + n] &= blockAttentionMask[b * blocks + n];
                            }
                        }
                    }
                    case DecodeSelectionRule.Threshold t -> {
                        for (int n = 0; n < blocks; n++) {
                            selected[row + n] = scores[row + n] > t.threshold();
                        }
                    }
                }
                selected[row + blocks - 1] = true;
            }
        }
        return selected;
    }

    private static void topK(float[] scores, int row, int blocks, int k, float[] sorted, boolean[] selected) {
        System.arraycopy(scores, row, sorted, 0, blocks);
        Arrays.sort(sorted, 0, blocks);
        float kth = sorted[blocks - k];
        int taken = 0;
        for (int n = 0; n < blocks; n++) {
            if (scores[row + n] > kth) {
                selected[row + n] = true;
                taken++;
            }
        }
        for (int n = 0; n < blocks && taken < k; n++) {
            if (scores[row + n] == kth) {
                selected[row + n] = true;
                taken++;
            }
        }
    }
}
