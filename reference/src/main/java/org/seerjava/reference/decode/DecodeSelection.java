package org.seerjava.reference.decode;

import org.seerjava.reference.Checks;

/**
 * Decode block selection per batch element b and KV head kh (docs/SPEC.md §7.4); the g query heads of a group
 * share it.
 * <pre>
 *   token_budget, k = tokenBudget / B:
 *       nb ≤ k → sel[n] = blockMask[n]
 *       else   → sel[n] = (n ∈ top-k_n score[n]) ∧ blockMask[n]       (ties: lower block index first)
 *   threshold t: sel[n] = score[n] &gt; t
 *   always:      sel[nb − 1] = true                                    (the current, partial or just completed block)
 * </pre>
 * The decode kernel additionally visits the first block holding a real token, {@code leftPad / B}
 * ({@code first_block_unmasked}), so the blocks actually attended are {@link #effective}:
 * {@code sel ∪ {leftPad/B} ∪ {nb − 1}}. With no padding and nb &gt; k that is between k and k + 2 blocks.
 * Sparsity profiling counts {@code sel} only.
 */
public final class DecodeSelection {
    private DecodeSelection() {
    }

    /**
     * Selects blocks from gate scores {@code [batch, Hkv, nb]}; returns the gate mask {@code [batch, Hkv, nb]}
     * with the last block forced.
     *
     * @param blockAttentionMask {@code [batch, nb]} ({@link DecodeGate#blockAttentionMask}); null means every block
     *                           holds a real token
     * @throws IllegalArgumentException on wrong sizes, a missing rule or a NaN score
     */
    public static boolean[] select(double[] scores, int batch, int kvHeads, int blocks, int blockSize,
                                   boolean[] blockAttentionMask, DecodeSelectionRule rule) {
        Checks.positive("batch", batch);
        Checks.positive("kvHeads (Hkv)", kvHeads);
        Checks.positive("blocks", blocks);
        Checks.positive("blockSize", blockSize);
        if (rule == null) {
            throw new IllegalArgumentException("decode selection rule must not be null");
        }
        Checks.noNaN("scores", Checks.length("scores [batch, Hkv, nb]", scores, (long) batch * kvHeads * blocks));
        if (blockAttentionMask != null && blockAttentionMask.length != (long) batch * blocks) {
            throw new IllegalArgumentException("blockAttentionMask [batch, nb] has " + blockAttentionMask.length
                    + " elements, expected " + (long) batch * blocks);
        }
        boolean[] selected = new boolean[batch * kvHeads * blocks];
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < kvHeads; kh++) {
                int row = (b * kvHeads + kh) * blocks;
                switch (rule) {
                    case DecodeSelectionRule.TokenBudget t -> {
                        int budget = t.blockBudget(blockSize);
                        if (blocks <= budget) {
                            for (int n = 0; n < blocks; n++) {
                                selected[row + n] = true;
                            }
                        } else {
                            selectTopK(scores, row, blocks, budget, selected);
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

    /** Marks the k largest of {@code scores[row, row + blocks)}; equal scores prefer the lower index. */
    private static void selectTopK(double[] scores, int row, int blocks, int k, boolean[] selected) {
        for (int pick = 0; pick < Math.min(k, blocks); pick++) {
            int best = -1;
            for (int n = 0; n < blocks; n++) {
                if (!selected[row + n] && (best < 0 || scores[row + n] > scores[row + best])) {
                    best = n;
                }
            }
            selected[row + best] = true;
        }
    }

    /** The first block holding a real token of a left-padded sequence, {@code leftPad / B}. */
    public static int firstRealBlock(int leftPad, int blockSize) {
        Checks.nonNegative("leftPad", leftPad);
        Checks.positive("blockSize", blockSize);
        return leftPad / blockSize;
    }

    /**
     * The blocks the decode kernel attends to, {@code [batch, Hkv, nb]}: the selection, the first real block
     * {@code leftPad[b] / B} and the last block. Blocks before the first real block are never visited, even when
     * selected.
     *
     * @param leftPad pad tokens of each sequence ({@code Lmax − cache_seqlens[b]}), in {@code [0, nb·B)}
     */
    public static boolean[] effective(boolean[] selected, int batch, int kvHeads, int blocks, int blockSize,
                                      int[] leftPad) {
        Checks.positive("batch", batch);
        Checks.positive("kvHeads (Hkv)", kvHeads);
        Checks.positive("blocks", blocks);
        Checks.positive("blockSize", blockSize);
        if (selected == null || selected.length != (long) batch * kvHeads * blocks) {
            throw new IllegalArgumentException("selected [batch, Hkv, nb] has "
                    + (selected == null ? "null" : selected.length) + " elements, expected "
                    + (long) batch * kvHeads * blocks);
        }
        if (leftPad == null || leftPad.length != batch) {
            throw new IllegalArgumentException("leftPad must have batch = " + batch + " entries, got "
                    + (leftPad == null ? "null" : leftPad.length));
        }
        boolean[] visited = new boolean[selected.length];
        for (int b = 0; b < batch; b++) {
            int first = firstRealBlock(leftPad[b], blockSize);
            if (first >= blocks) {
                throw new IllegalArgumentException("leftPad[" + b + "] = " + leftPad[b] + " leaves no real token in "
                        + blocks + " blocks of " + blockSize);
            }
            for (int kh = 0; kh < kvHeads; kh++) {
                int row = (b * kvHeads + kh) * blocks;
                for (int n = first; n < blocks; n++) {
                    visited[row + n] = selected[row + n] || n == first || n == blocks - 1;
                }
            }
        }
        return visited;
    }

    /** Selected blocks per (b, kh): {@code counts[b·Hkv + kh] = Σ_n mask[b, kh, n]}. */
    public static int[] countPerKvHead(boolean[] mask, int batch, int kvHeads, int blocks) {
        Checks.positive("batch", batch);
        Checks.positive("kvHeads (Hkv)", kvHeads);
        Checks.positive("blocks", blocks);
        if (mask == null || mask.length != (long) batch * kvHeads * blocks) {
            throw new IllegalArgumentException("mask [batch, Hkv, nb] has " + (mask == null ? "null" : mask.length)
                    + " elements, expected " + (long) batch * kvHeads * blocks);
        }
        int[] counts = new int[batch * kvHeads];
        for (int row = 0; row < batch * kvHeads; row++) {
            for (int n = 0; n < blocks; n++) {
                counts[row] += mask[row * blocks + n] ? 1 : 0;
            }
        }
        return counts;
    }
}
