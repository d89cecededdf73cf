package org.seerjava.cpu;

import java.util.Arrays;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;

/**
 * The task list: {@code units} holds unit ids ((b·Hq + h)·nb + m) and task t is units[start[t] .. start[t+1]),
 * all of one (batch, KV head), so that they share its K/V tiles.
 */
record AttentionTasks(int[] units, int[] start, int count) {

    /**
     * Dense order: KV head by KV head, and inside a KV head the query blocks from the last (the longest causal row)
     * to the first, the g query heads of a block next to each other; consecutive units are grouped into tasks (the
     * g heads of a block, then adjacent blocks), so the workers share one head's K/V while it is hot
     * in cache and the list ends with the cheapest tasks, which even out the finish. Sparse order: inside a KV head
     * the units by kept-block count, descending.
     */
    static AttentionTasks of(BlockMask mask, AttentionShape shape, int nb, int unitsPerTask) {
        int batch = shape.batch();
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int g = shape.groupSize();
        int perHead = g * nb;
        int[] units = new int[batch * hq * nb];
        int[] start = new int[units.length + 1];
        int tasks = 0;
        int at = 0;
        long[] keys = mask == null ? null : new long[perHead];
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < hkv; kh++) {
                int from = at;
                if (mask == null) {
                    for (int m = nb - 1; m >= 0; m--) {
                        for (int h = kh * g; h < kh * g + g; h++) {
                            units[at++] = (b * hq + h) * nb + m;
                        }
                    }
                } else {
                    int i = 0;
                    for (int m = nb - 1; m >= 0; m--) {
                        for (int h = kh * g; h < kh * g + g; h++) {
                            int cost = 0;
                            for (int j = 0; j <= m; j++) {
                                if (mask.keep(b, h, m, j)) {
                                    cost++;
                                }
                            }
                            // ascending sort: the largest cost first, then the order of the dense list
                            keys[i] = ((long) (nb - cost) << 32) | i;
                            i++;
                        }
                    }
                    Arrays.sort(keys);
                    for (long key : keys) {
                        int i0 = (int) key;
                        int m = nb - 1 - i0 / g;
                        int h = kh * g + i0 % g;
                        units[at++] = (b * hq + h) * nb + m;
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
