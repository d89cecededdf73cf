package org.seerjava.reference.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;

/** Block selection; semantics of {@link org.seerjava.reference.BlockSelection#select}. */
public interface SelectionOps {
    /** A mask {@code [batch, heads, blocks, blocks]} from the scores laid out the same way. */
    BlockMask select(float[] scores, int batch, int heads, int blocks, SelectionRule rule);

    /**
     * One mask {@code [1, heads, nb_b, nb_b]} per sequence of a varlen batch from the packed scores
     * {@code Σ_b [heads, nb_b, nb_b]}; semantics of {@link org.seerjava.reference.VarlenPrefill#select}. The default
     * checks the arguments once ({@link EngineArgs#selectVarlen}) and runs {@link #select} on each sequence.
     */
    default List<BlockMask> selectVarlen(float[] scores, VarlenBatch batch, int heads, int blockSize,
                                         SelectionRule rule) {
        EngineArgs.SCALAR.selectVarlen(scores, batch, heads, blockSize, rule);
        int[] cuMaps = batch.cuMaps(heads, blockSize);
        List<BlockMask> masks = new ArrayList<>(batch.sequences());
        for (int b = 0; b < batch.sequences(); b++) {
            masks.add(select(Arrays.copyOfRange(scores, cuMaps[b], cuMaps[b + 1]), 1, heads, batch.blocks(b, blockSize),
                    rule));
        }
        return List.copyOf(masks);
    }
}
