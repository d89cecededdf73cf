package org.seerjava.reference.engine;

import java.util.List;
import org.seerjava.reference.Pool;

/** Sequence pooling per block; semantics of {@link org.seerjava.reference.Pooling#pool}. */
public interface PoolingOps {
    /** Pools {@code x [batch, seqLen, heads, dim]} into {@code out [batch, nb, heads, dim·pools.size()]}. */
    void pool(float[] x, float[] out, int batch, int seqLen, int heads, int dim, int blockSize, List<Pool> pools);
}
