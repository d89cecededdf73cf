package org.seerjava.tornado.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The gate's block RoPE, the kernel form of {@link org.seerjava.reference.Rope#rotateBlocks}: every vector of
 * block i is rotated to the position of the block's first token, i·B, rotate-half style:
 * <pre>
 *   x'[k]        = x[k] · cos a_k − x[k + half] · sin a_k
 *   x'[k + half] = x[k + half] · cos a_k + x[k] · sin a_k,      a_k = i·B · invFreq[k],  k &lt; half
 * </pre>
 * The (cos, sin) pairs come from a table computed once on the host in float64 ({@code table [nb, half, 2]}), as
 * the CUDA form {@code rope_blocks_table} reads them.
 */
public final class Rope {
    private Rope() {
    }

    /**
     * Rotates {@code x [rows = batch·nb, heads, dim]} in place; row r belongs to block {@code r % nb}.
     *
     * @param table {@code [nb, half, 2]}: cos and sin of {@code block · blockSize · invFreq[k]}
     * @param half  rotary dim / 2 (the first {@code 2·half} channels rotate)
     */
    public static void rotateBlocks(FloatArray x, FloatArray table, int rows, int nb, int heads, int dim, int half) {
        for (@Parallel int i = 0; i < rows * heads * half; i++) {
            int k = i % half;
            int vector = i / half;                   // (row, head)
            int block = (vector / heads) % nb;
            float cos = table.get((block * half + k) * 2);
            float sin = table.get((block * half + k) * 2 + 1);
            int base = vector * dim;
            float x1 = x.get(base + k);
            float x2 = x.get(base + k + half);
            x.set(base + k, x1 * cos - x2 * sin);
            x.set(base + k + half, x2 * cos + x1 * sin);
        }
    }
}
