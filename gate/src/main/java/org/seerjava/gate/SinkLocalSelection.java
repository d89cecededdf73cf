package org.seerjava.gate;

import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;

/**
 * A fixed pattern ("attention sink plus local window"): query block i keeps key block 0 and the k − 1 most recent
 * blocks i − k + 2 … i (the diagonal included), k = max(1, int((1 − √(1 − density)) · nb)); the diagonal is always
 * kept and the causal lower triangle applies, as for the other selections. With k = 1 a row keeps {0, i}.
 */
public final class SinkLocalSelection implements BlockSelector {
    private final double density;
    private final int blockSize;

    public SinkLocalSelection(double density, int blockSize) {
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("density must be in (0, 1], got " + density);
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be > 0, got " + blockSize);
        }
        this.density = density;
        this.blockSize = blockSize;
    }

    /** The sink-plus-local mask {@code [batch, heads, nb, nb]}. */
    public static BlockMask mask(int batch, int heads, int nb, int k) {
        byte[] bits = new byte[batch * heads * nb * nb];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int i = 0; i < nb; i++) {
                int row = (bh * nb + i) * nb;
                bits[row] = 1;
                for (int j = Math.max(0, i - k + 2); j <= i; j++) {
                    bits[row + j] = 1;
                }
                bits[row + i] = 1;
            }
        }
        return BlockMask.of(batch, heads, nb, bits);
    }

    @Override
    public BlockMask select(int layer, LayerAttention in) {
        AttentionShape shape = in.shape();
        int nb = shape.blocks(blockSize);
        return mask(shape.batch(), shape.qHeads(), nb, BlockSelector.topK(density, nb));
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public String name() {
        return "sink-local";
    }
}
