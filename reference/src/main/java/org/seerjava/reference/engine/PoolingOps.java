package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.Pool;
import org.seerjava.reference.VarlenBatch;

/** Sequence pooling per block; semantics of {@link org.seerjava.reference.Pooling#pool}. */
public interface PoolingOps {
    /** Pools {@code x [batch, seqLen, heads, dim]} into {@code out [batch, nb, heads, dim·pools.size()]}. */
    void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize, List<Pool> pools);

    /**
     * Pools a varlen batch, {@code x [total, heads, dim]} into {@code out [Σ nb_b, heads, dim·pools.size()]};
     * semantics of {@link org.seerjava.reference.VarlenPrefill#pool}. The default checks the arguments once
     * ({@link EngineArgs#poolVarlen}) and runs {@link #pool} on each sequence in turn.
     */
    default void poolVarlen(float[] x, float[] out, VarlenBatch batch, int heads, int dim, int blockSize,
                            List<Pool> pools) {
        EngineArgs.SCALAR.poolVarlen(x, out, batch, heads, dim, blockSize, pools);
        int features = heads * dim * pools.size();
        int[] cuBlocks = batch.cuBlocks(blockSize);
        for (int b = 0; b < batch.sequences(); b++) {
            float[] pooled = new float[(cuBlocks[b + 1] - cuBlocks[b]) * features];
            pool(VarlenSlices.rows(x, batch, b, heads * dim), pooled, 1, batch.length(b), heads, dim, blockSize, pools);
            System.arraycopy(pooled, 0, out, cuBlocks[b] * features, pooled.length);
        }
    }
}
