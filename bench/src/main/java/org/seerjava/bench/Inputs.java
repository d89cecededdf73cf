package org.seerjava.bench;

import java.util.Random;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;

/** Deterministic benchmark inputs: Gaussian activations and random causal block masks with the diagonal kept. */
public final class Inputs {
    /** The seed of every benchmark input. */
    public static final long SEED = 20250101L;

    private Inputs() {
    }

    /** The gate of the benchmarks: the default {@code Qavg_Kmaxminavg}, block 64, Dg = 128, RoPE θ = 500000. */
    public static final GateConfig GATE = GateConfig.of(GateType.DEFAULT, 64, 128, 500000);

    /**
     * The attention problem of every CPU benchmark at sequence length n: B = 1, Hq = Hkv = 8, D = 128, q, k, v drawn
     * N(0, 1) in that order from {@code new Random(SEED + n)}, a zeroed output; {@code random} continues that stream
     * (for the gate weights).
     */
    public record Attention(AttentionShape shape, float[] q, float[] k, float[] v, float[] out, Random random) {
        /** The problem at sequence length n. */
        public static Attention of(int n) {
            AttentionShape shape = new AttentionShape(1, n, 8, 8, 128);
            Random random = new Random(SEED + n);
            float[] q = gaussian(random, shape.qElements());
            float[] k = gaussian(random, shape.kvElements());
            float[] v = gaussian(random, shape.kvElements());
            return new Attention(shape, q, k, v, new float[shape.qElements()], random);
        }

        /** K-linear weights of {@link #GATE} for this shape, N(0, 0.02²), drawn next from {@link #random}. */
        public float[] gateKWeights() {
            float[] wk = gaussian(random, GATE.kWeightElements(shape));
            for (int i = 0; i < wk.length; i++) {
                wk[i] *= 0.02f;
            }
            return wk;
        }
    }

    /** N(0, 1) floats from {@code random}. */
    public static float[] gaussian(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    /**
     * A causal block mask {@code [batch, heads, nb, nb]} of the given density over the causal triangle (as
     * {@link BlockMask#density()} counts it): every diagonal block is kept, and per (batch, head) the remaining
     * {@code round(density · nb(nb+1)/2) − nb} blocks are drawn uniformly from the strictly lower triangle.
     */
    public static BlockMask randomCausalMask(int batch, int heads, int nb, double density, long seed) {
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("density must be in (0, 1], got " + density);
        }
        Random random = new Random(seed);
        int lower = nb * (nb - 1) / 2;
        long total = Math.round(density * nb * (nb + 1) / 2.0);
        int extra = (int) Math.max(0, Math.min(lower, total - nb));
        int[] cells = new int[lower];
        byte[] bits = new byte[Math.multiplyExact(Math.multiplyExact(batch * heads, nb), nb)];
        for (int bh = 0; bh < batch * heads; bh++) {
            int c = 0;
            for (int i = 0; i < nb; i++) {
                for (int j = 0; j < i; j++) {
                    cells[c++] = i * nb + j;
                }
            }
            for (int pick = 0; pick < extra; pick++) {       // partial Fisher–Yates
                int swap = pick + random.nextInt(lower - pick);
                int t = cells[pick];
                cells[pick] = cells[swap];
                cells[swap] = t;
                bits[bh * nb * nb + cells[pick]] = 1;
            }
            for (int i = 0; i < nb; i++) {
                bits[bh * nb * nb + i * nb + i] = 1;
            }
        }
        return BlockMask.of(batch, heads, nb, bits);
    }

    /** Causal attention FLOPs as the issue counts them (dense-equivalent): 2·N²·D·H·B. */
    public static double denseFlops(AttentionShape shape) {
        return 2.0 * shape.seqLen() * (double) shape.seqLen() * shape.headDim() * shape.qHeads() * shape.batch();
    }
}
