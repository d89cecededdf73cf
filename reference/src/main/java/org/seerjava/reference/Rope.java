package org.seerjava.reference;

/**
 * Rotary position embedding, GPT-NeoX "rotate-half" (non-interleaved) convention.
 *
 * <p>For a head vector x of which the first {@code dim = rotaryDim} channels rotate, with
 * {@code half = dim/2} and angle {@code a_k = p · invFreq[k]} at position p:
 * <pre>
 *   x'[k]        = x[k] · cos a_k − x[k + half] · sin a_k
 *   x'[k + half] = x[k + half] · cos a_k + x[k] · sin a_k          for k &lt; half
 * </pre>
 * i.e. {@code x' = x·cos + rotate_half(x)·sin} with {@code rotate_half([x1, x2]) = [−x2, x1]}. Channels at or
 * beyond {@code dim} are unchanged.
 *
 * <p>{@code invFreq[k] = θ^(−2k/dim)}, optionally rescaled by {@link RopeConfig.Scaling.Llama3}.
 */
public final class Rope {
    private final RopeConfig config;
    private final double[] invFreq;

    /** RoPE for the given settings. */
    public Rope(RopeConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("rope config must not be null");
        }
        this.config = config;
        this.invFreq = inverseFrequencies(config);
    }

    /** The settings. */
    public RopeConfig config() {
        return config;
    }

    /** A copy of invFreq[k], k &lt; rotaryDim/2. */
    public double[] inverseFrequencies() {
        return invFreq.clone();
    }

    /**
     * invFreq[k] = θ^(−2k/dim), then the scaling rule. Llama 3 (transformers {@code _compute_llama3_parameters}):
     * with wavelength λ = 2π / invFreq, λ_low = original / lowFreqFactor, λ_high = original / highFreqFactor:
     * λ &gt; λ_low → invFreq / factor; λ &lt; λ_high → invFreq; otherwise
     * (1 − s)·invFreq/factor + s·invFreq with s = (original/λ − lowFreqFactor) / (highFreqFactor − lowFreqFactor).
     */
    public static double[] inverseFrequencies(RopeConfig config) {
        int half = config.rotaryDim() / 2;
        double[] inv = new double[half];
        for (int k = 0; k < half; k++) {
            inv[k] = 1.0 / Math.pow(config.theta(), (2.0 * k) / config.rotaryDim());
        }
        if (config.scaling() instanceof RopeConfig.Scaling.Llama3 l3) {
            double lowWavelen = l3.originalMaxPositions() / l3.lowFreqFactor();
            double highWavelen = l3.originalMaxPositions() / l3.highFreqFactor();
            for (int k = 0; k < half; k++) {
                double wavelen = 2 * Math.PI / inv[k];
                if (wavelen > lowWavelen) {
                    inv[k] = inv[k] / l3.factor();
                } else if (wavelen >= highWavelen) {
                    double s = (l3.originalMaxPositions() / wavelen - l3.lowFreqFactor())
                            / (l3.highFreqFactor() - l3.lowFreqFactor());
                    inv[k] = (1 - s) * inv[k] / l3.factor() + s * inv[k];
                }
            }
        }
        return inv;
    }

    /**
     * Rotates {@code x[offset, offset + rotaryDim)} in place to position {@code position}.
     *
     * @param sign +1 rotates forward (apply RoPE); −1 rotates backward (the transpose, used by gradients)
     */
    public void rotate(double[] x, int offset, double position, int sign) {
        int half = invFreq.length;
        for (int k = 0; k < half; k++) {
            double angle = position * invFreq[k];
            double cos = Math.cos(angle);
            double sin = sign * Math.sin(angle);
            double x1 = x[offset + k];
            double x2 = x[offset + k + half];
            x[offset + k] = x1 * cos - x2 * sin;
            x[offset + k + half] = x2 * cos + x1 * sin;
        }
    }

    /**
     * Applies RoPE in place to {@code x [batch, seqLen, heads, dim]}: token t of every sequence is rotated to
     * {@code positions[t]}.
     *
     * @throws IllegalArgumentException when {@code dim < rotaryDim} or the sizes do not match
     */
    public void apply(double[] x, int batch, int seqLen, int heads, int dim, int[] positions) {
        Checks.positive("batch", batch);
        Checks.positive("seqLen", seqLen);
        Checks.positive("heads", heads);
        Checks.positive("dim", dim);
        if (dim < config.rotaryDim()) {
            throw new IllegalArgumentException("head dim " + dim + " is smaller than the rotary dim "
                    + config.rotaryDim());
        }
        Checks.length("x", x, (long) batch * seqLen * heads * dim);
        if (positions == null || positions.length != seqLen) {
            throw new IllegalArgumentException("positions must have seqLen = " + seqLen + " entries, got "
                    + (positions == null ? "null" : positions.length));
        }
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seqLen; t++) {
                for (int h = 0; h < heads; h++) {
                    rotate(x, ((b * seqLen + t) * heads + h) * dim, positions[t], +1);
                }
            }
        }
    }

    /** Positions 0, 1, …, n−1. */
    public static int[] positions(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        return p;
    }

    /**
     * The gate's block RoPE: every pooled vector of block {@code block} is rotated by the position of the block's
     * first token, {@code block · blockSize}; {@code sign} = −1 rotates back (Rᵀ, for gradients).
     *
     * @param qGate {@code [batch, nb, qHeads, dg]}, rotated in place
     * @param kGate {@code [batch, nb, keyHeads, dg]}, rotated in place
     */
    public void rotateBlocks(double[] qGate, double[] kGate, int batch, int nb, int qHeads, int keyHeads, int dg,
                             int blockSize, int sign) {
        for (int b = 0; b < batch; b++) {
            for (int block = 0; block < nb; block++) {
                double position = (double) block * blockSize;
                for (int h = 0; h < qHeads; h++) {
                    rotate(qGate, ((b * nb + block) * qHeads + h) * dg, position, sign);
                }
                for (int kh = 0; kh < keyHeads; kh++) {
                    rotate(kGate, ((b * nb + block) * keyHeads + kh) * dg, position, sign);
                }
            }
        }
    }
}
