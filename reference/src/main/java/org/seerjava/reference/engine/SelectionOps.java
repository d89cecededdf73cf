package org.seerjava.reference.engine;

import org.seerjava.reference.BlockMask;
import org.seerjava.reference.SelectionRule;

/** Block selection; semantics of {@link org.seerjava.reference.BlockSelection#select}. */
public interface SelectionOps {
    /** A mask {@code [batch, heads, blocks, blocks]} from the scores laid out the same way. */
    BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule);
}
