package org.seerjava.cpu;

import java.util.List;
import org.seerjava.reference.BlockMask;

/**
 * Which key blocks the query block {@code m} of query head {@code h} in sequence {@code s} keeps: one mask
 * {@code [B, Hq, nb, nb]} of a batch, or one mask {@code [1, Hq, nb_s, nb_s]} per sequence of a varlen batch.
 */
@FunctionalInterface
interface KeptBlocks {
    boolean keep(int s, int h, int m, int j);

    /** The mask of a batch; null (every causal block) for null. */
    static KeptBlocks of(BlockMask mask) {
        return mask == null ? null : mask::keep;
    }

    /** One mask per sequence. */
    static KeptBlocks of(List<BlockMask> masks) {
        BlockMask[] perSequence = masks.toArray(new BlockMask[0]);
        return (s, h, m, j) -> perSequence[s].keep(0, h, m, j);
    }
}
