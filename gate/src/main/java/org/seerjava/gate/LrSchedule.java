package org.seerjava.gate;

/**
 * Linear warm-up then cosine decay to 0, as Hugging Face {@code get_cosine_schedule_with_warmup} (one half cosine
 * cycle). The learning rate of optimiser step {@code s} (0-based):
 * <pre>
 *   s &lt; warmup:  lr · s / max(1, warmup)
 *   otherwise:   lr · max(0, ½ (1 + cos(π · (s − warmup) / max(1, total − warmup))))
 * </pre>
 * As in Hugging Face, the first step of a warm-up runs at learning rate 0.
 *
 * @param peak   the peak learning rate
 * @param warmup warm-up steps
 * @param total  total steps
 */
public record LrSchedule(double peak, int warmup, int total) {
    public LrSchedule {
        if (!(peak > 0) || warmup < 0 || total <= 0) {
            throw new IllegalArgumentException("schedule needs lr > 0, warmup >= 0, steps > 0, got " + peak + ", "
                    + warmup + ", " + total);
        }
    }

    /** The learning rate of step {@code s} (0-based). */
    public double at(int s) {
        if (s < warmup) {
            return peak * s / Math.max(1, warmup);
        }
        double progress = (double) (s - warmup) / Math.max(1, total - warmup);
        return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
