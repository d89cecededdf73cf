package org.seerjava.model;

import org.seerjava.reference.RopeConfig;

/**
 * Rotary position embedding in float32, as transformers computes it for Llama-family models: the inverse
 * frequencies {@code inv_freq[k] = 1 / θ^(fl32(2k / D))} (then the llama3 rescaling, all in float32), the angle
 * {@code fl32(inv_freq[k] · fl32(position))}, and rotate-half:
 * <pre>
 *   x'[k]       = x[k]·cos − x[k + D/2]·sin
 *   x'[k + D/2] = x[k + D/2]·cos + x[k]·sin          k &lt; D/2
 * </pre>
 * Shared by the heap model ({@link LlamaModel}) and the runtime sessions so that both rotate with the same bits.
 */
public final class Rotary {
    private final float[] invFreq;

    /**
     * @param rope the model's RoPE settings (rotary dim = head_dim)
     */
    public Rotary(RopeConfig rope) {
        this.invFreq = LlamaModel.inverseFrequencies(rope);
    }

    /**
     * The inverse frequencies.
     *
     * @return a copy of inv_freq, length D/2
     */
    public float[] inverseFrequencies() {
        return invFreq.clone();
    }

    /**
     * cos and sin of the angles of positions {@code first … first + count − 1}: {@code [count, D/2]} each.
     *
     * @param first the first position
     * @param count the number of positions
     * @return {@code {cos, sin}}
     */
    public float[][] tables(int first, int count) {
        int half = invFreq.length;
        float[] cos = new float[Math.multiplyExact(count, half)];
        float[] sin = new float[cos.length];
        for (int i = 0; i < count; i++) {
            float p = (float) (first + i);
            for (int k = 0; k < half; k++) {
                float angle = invFreq[k] * p;
                cos[i * half + k] = (float) Math.cos(angle);
                sin[i * half + k] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }

    /**
     * Rotates rows {@code from … to − 1} of {@code x [rows, heads, D]} in place; row r uses row r of the tables.
     *
     * @param x      the projections
     * @param heads  heads per row
     * @param tables from {@link #tables} for these rows
     * @param from   first row
     * @param to     one past the last row
     */
    public void apply(float[] x, int heads, float[][] tables, int from, int to) {
        int half = invFreq.length;
        int d = 2 * half;
        float[] cos = tables[0];
        float[] sin = tables[1];
        for (int p = from; p < to; p++) {
            int tb = p * half;
            for (int hh = 0; hh < heads; hh++) {
                int base = (p * heads + hh) * d;
                for (int k = 0; k < half; k++) {
                    float x1 = x[base + k];
                    float x2 = x[base + k + half];
                    float c = cos[tb + k];
                    float s = sin[tb + k];
                    x[base + k] = x1 * c + (-x2) * s;
                    x[base + k + half] = x2 * c + x1 * s;
                }
            }
        }
    }
}
