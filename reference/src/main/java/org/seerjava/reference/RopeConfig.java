package org.seerjava.reference;

/**
 * Rotary position embedding settings: base θ, rotary dimension and frequency scaling, as in Hugging Face
 * {@code rope_theta}/{@code rope_scaling} (transformers 4) or {@code rope_parameters} (transformers 5).
 *
 * @param theta     base θ ({@code rope_theta}), &gt; 1
 * @param rotaryDim channels rotated per head (even); channels at or beyond it pass through unchanged
 * @param scaling   frequency scaling: {@link Scaling.None} ({@code default}) or {@link Scaling.Llama3}
 */
public record RopeConfig(double theta, int rotaryDim, Scaling scaling) {

    public RopeConfig {
        Checks.finite("rope theta", theta);
        if (theta <= 1.0) {
            throw new IllegalArgumentException("rope theta must be > 1, got " + theta);
        }
        Checks.positive("rope rotaryDim", rotaryDim);
        if (rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rope rotaryDim must be even (rotate-half pairs channel i with i + dim/2), got "
                    + rotaryDim);
        }
        if (scaling == null) {
            throw new IllegalArgumentException("rope scaling must not be null; use Scaling.None for rope_type 'default'");
        }
    }

    /** Unscaled RoPE ({@code rope_type = "default"}). */
    public static RopeConfig of(double theta, int rotaryDim) {
        return new RopeConfig(theta, rotaryDim, new Scaling.None());
    }

    /** The same settings with another rotary dimension (the gate rotates {@code gate hidden} channels). */
    public RopeConfig withRotaryDim(int dim) {
        return new RopeConfig(theta, dim, scaling);
    }

    /** Frequency scaling of RoPE. */
    public sealed interface Scaling {
        /** {@code rope_type = "default"}: inv_freq[k] = θ^(-2k/dim). */
        record None() implements Scaling {
        }

        /**
         * {@code rope_type = "llama3"} (Llama 3.1): long wavelengths are divided by {@code factor}, short ones kept,
         * and the band between is interpolated.
         *
         * @param factor               scale factor (8 for Llama 3.1)
         * @param lowFreqFactor        low-frequency factor (1)
         * @param highFreqFactor       high-frequency factor (4)
         * @param originalMaxPositions original context length (8192)
         */
        record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions)
                implements Scaling {
            public Llama3 {
                Checks.finite("llama3 factor", factor);
                if (factor <= 0) {
                    throw new IllegalArgumentException("llama3 rope factor must be > 0, got " + factor);
                }
                if (!(highFreqFactor > lowFreqFactor) || lowFreqFactor <= 0) {
                    throw new IllegalArgumentException("llama3 rope needs 0 < low_freq_factor < high_freq_factor, got "
                            + lowFreqFactor + " and " + highFreqFactor);
                }
                Checks.positive("llama3 original_max_position_embeddings", originalMaxPositions);
            }
        }
    }
}
