package org.seerjava.cpu;

import java.util.Arrays;

/**
 * The task list: {@code units} holds unit ids (global query block · Hq + query head) and task t is
 * units[start[t] .. start[t+1]), all of one (sequence, KV head), so that they share its K/V tiles.
 */
record AttentionTasks(int[] units, int[] start, int count) {

    /**
     * Dense order: sequence by sequence, KV head by KV head, and inside a KV head the query blocks from the last (the
     * longest causal row) to the first, the g query heads of a block next to each other; consecutive units are grouped
     * into tasks (the g heads of a block, then adjacent blocks), so the workers share one head's K/V while it is hot
     * in cache and the list ends with the cheapest tasks, which even out the finish. Sparse order: inside a KV head
     * the units by kept-block count, descending.
     */
    static AttentionTasks of(KeptBlocks mask, Sequences seqs, int hq, int hkv, int unitsPerTask) {
        int g = hq / hkv;
        int[] units = new int[seqs.totalBlocks() * hq];
        int[] start = new int[units.length + 1];
        int tasks = 0;
        int at = 0;
        long[] keys = mask == null ? null : new long[g * seqs.maxBlocks()];
        for (int s = 0; s < seqs.count(); s++) {
            int nb = seqs.blocks(s);
            int first = seqs.blockStart(s);
            for (int kh = 0; kh < hkv; kh++) {
                int from = at;
                if (mask == null) {
                    for (int m = nb - 1; m >= 0; m--) {
                        for (int h = kh * g; h < kh * g + g; h++) {
                            units[at++] = (first + m) * hq + h;
                        }
                    }
                } else {
                    int i = 0;
                    for (int m = nb - 1; m >= 0; m--) {
                        for (int h = kh * g; h < kh * g + g; h++) {
                            int cost = 0;
                            for (int j = 0; j <= m; j++) {
                                if (mask.keep(s, h, m, j)) {
                                    cost++;
                                }
                            }
                            // ascending sort: the largest cost first, then the order of the dense list
                            keys[i] = ((long) (nb - cost) << 32) | i;
                            i++;
                        }
                    }
                    Arrays.sort(keys, 0, i);
                    for (int x = 0; x < i; x++) {
                        int i0 = (int) keys[x];
                        int m = nb - 1 - i0 / g;
                        int h = kh * g + i0 % g;
                        units[at++] = (first + m) * hq + h;
                    }
                }
                for (int u = from; u < at; u += unitsPerTask) {
                    start[tasks++] = u;
                }
            }
        }
        start[tasks] = at;
        return new AttentionTasks(units, start, tasks);
    }
}
