package org.seerjava.gate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.seerjava.cpu.Parallel;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.DistillationLoss;
import org.seerjava.reference.engine.Engine;

/**
 * Self-distillation of the AttnGates of a frozen model (docs/SPEC.md §6).
 *
 * <p><b>Capture, then update.</b> The model is frozen and its forward pass during training is dense (the gate's
 * output does not feed back into the model), and the gate needs from each layer only the pre-RoPE q, k and the
 * pooled attention target. So each training window is run through the model once with a {@link CapturePolicy}
 * (dense attention + pooled target in one engine pass, pre-RoPE q/k pooled per block), and the gate's forward,
 * loss and backward then run on the captured {@link GateSample}s in float64 ({@link GateMath}, with the reference's
 * {@code AttnGate.backward}). This gives exactly the loss and gradients of the official trainer (whose forward is
 * the same dense pass, with gradients reaching only the gate), at a fraction of the cost, and it lets a captured
 * window be revisited ({@code poolWindows} &gt; 0) without running the model again.
 *
 * <p>Per step: {@code loss = 10 · Σ_layers mean_windows KL_mean(log_softmax(logits[r0:]), target[r0:])} (the
 * mean over windows equals PyTorch's 'mean' over a batch), global gradient-norm clipping, AdamW, learning rate by
 * {@link LrSchedule}.
 */
public final class DistillationTrainer {

    /**
     * Optimisation settings.
     *
     * @param steps       optimiser steps
     * @param lr          peak learning rate
     * @param warmup      linear warm-up steps
     * @param weightDecay AdamW decoupled weight decay
     * @param maxGradNorm global gradient-norm clip (≤ 0: no clipping)
     */
    public record Settings(int steps, double lr, int warmup, double weightDecay, double maxGradNorm) {
        public Settings {
            if (steps <= 0 || !(lr > 0) || warmup < 0 || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("need steps > 0, lr > 0, warmup >= 0, weight decay >= 0; got "
                        + steps + ", " + lr + ", " + warmup + ", " + weightDecay);
            }
        }
    }

    /** One logged step. */
    public record StepLog(int step, double lr, double loss, double gradNorm, double seconds, double tokensPerSecond) {
        /** This step's log with the time since training began and the tokens trained on by then. */
        public StepLog timed(double seconds, long tokens) {
            return new StepLog(step, lr, loss, gradNorm, seconds, seconds > 0 ? tokens / seconds : 0);
        }

        /** The progress line of the step, with {@code average}, the running average of the loss. */
        public String progressLine(double average) {
            return String.format(Locale.ROOT, "loss %.4f (avg %.4f) lr %.2e |g| %.3f %.0f tok/s", loss, average, lr,
                    gradNorm, tokensPerSecond);
        }
    }

    /** Loss (×10, summed over layers, averaged over windows) and its gradient per parameter array. */
    public record BatchResult(double loss, double[] layerLosses, List<double[]> gradients) {
    }

    /** Supplies the windows of each step: a list of captured windows (each one {@link GateSample} per layer). */
    @FunctionalInterface
    public interface BatchSource {
        List<GateSample[]> batch(int step);
    }

    /** Called after each step (e.g. to write checkpoints). */
    @FunctionalInterface
    public interface StepListener {
        void afterStep(StepLog log, GateSet gates);
    }

    private final GateSet gates;
    private final Settings settings;
    private final AdamW optimizer;
    private final LrSchedule schedule;

    /** A trainer that updates {@code gates} in place. */
    public DistillationTrainer(GateSet gates, Settings settings, AdamW.Settings adam) {
        this.gates = gates;
        this.settings = settings;
        this.optimizer = new AdamW(parameters(gates), adam);
        this.schedule = new LrSchedule(settings.lr(), settings.warmup(), settings.steps());
    }

    /** A trainer with the optimisation settings of a distillation run's options (AdamW's defaults otherwise). */
    public DistillationTrainer(GateSet gates, DistillOptions o) {
        this(gates, new Settings(o.steps(), o.lr(), o.warmup(), o.weightDecay(), o.maxGradNorm()),
                AdamW.Settings.defaults(o.weightDecay()));
    }

    public GateSet gates() {
        return gates;
    }

    public LrSchedule schedule() {
        return schedule;
    }

    /** The trainable arrays in a fixed order: per layer W_q (when present), then W_k. */
    public static List<double[]> parameters(GateSet gates) {
        List<double[]> list = new ArrayList<>();
        for (GateParameters p : gates.layers()) {
            if (p.wq() != null) {
                list.add(p.wq());
            }
            list.add(p.wk());
        }
        return list;
    }

    /**
     * Runs the model once over {@code tokens} with dense attention, capturing every layer's {@link GateSample}.
     */
    public static GateSample[] capture(LlamaModel model, Engine engine, GateSpec spec, int[] tokens) {
        CapturePolicy policy = new CapturePolicy(engine, spec);
        model.forward(tokens, policy, tokens.length - 1);
        return policy.samples();
    }

    /**
     * The training loss and its gradients over a batch of captured windows: {@code 10 · Σ_ℓ mean_w loss_{w,ℓ}}.
     * Windows and layers run in parallel on the project's thread pool; the sums are taken in a fixed order, so the result is deterministic.
     */
    public static BatchResult lossAndGradients(GateSet gates, List<GateSample[]> windows) {
        GateSpec spec = gates.spec();
        int layers = gates.size();
        int w = windows.size();
        if (w == 0) {
            throw new IllegalArgumentException("a batch needs at least one window");
        }
        GateMath.LossAndGradients[] parts = new GateMath.LossAndGradients[w * layers];
        Parallel.forEach(w * layers, t -> {
            GateSample s = windows.get(t / layers)[t % layers];
            parts[t] = GateMath.lossAndGradients(spec, gates.layer(t % layers), toDouble(s.qPooled()),
                    toDouble(s.kPooled()), toDouble(s.target()), 1, s.blocks());
        });
        double scale = DistillationLoss.GATE_LOSS_SCALE / w;
        double[] layerLosses = new double[layers];
        List<double[]> grads = new ArrayList<>();
        double total = 0;
        for (int l = 0; l < layers; l++) {
            GateParameters p = gates.layer(l);
            double[] gq = p.wq() == null ? null : new double[p.wq().length];
            double[] gk = new double[p.wk().length];
            double loss = 0;
            for (int i = 0; i < w; i++) {
                GateMath.LossAndGradients r = parts[i * layers + l];
                loss += r.loss();
                if (gq != null) {
                    add(gq, r.dWq(), scale);
                }
                add(gk, r.dWk(), scale);
            }
            layerLosses[l] = loss / w;
            total += loss * scale;
            if (gq != null) {
                grads.add(gq);
            }
            grads.add(gk);
        }
        return new BatchResult(total, layerLosses, grads);
    }

    /** The training loss (no gradients) of the gates on captured windows, e.g. held-out text. */
    public static double loss(GateSet gates, List<GateSample[]> windows) {
        GateSpec spec = gates.spec();
        int layers = gates.size();
        double[] parts = new double[windows.size() * layers];
        Parallel.forEach(parts.length, t -> {
            GateSample s = windows.get(t / layers)[t % layers];
            parts[t] = GateMath.loss(spec, gates.layer(t % layers), toDouble(s.qPooled()), toDouble(s.kPooled()),
                    toDouble(s.target()), 1, s.blocks());
        });
        double sum = 0;
        for (double x : parts) {
            sum += x;
        }
        return DistillationLoss.GATE_LOSS_SCALE * sum / windows.size();
    }

    /** One optimiser step on a batch: loss and gradients, then {@link #update}. The log has no time yet. */
    public StepLog step(int step, List<GateSample[]> batch) {
        BatchResult r = lossAndGradients(gates, batch);
        return update(step, r.loss(), r.gradients());
    }

    /**
     * The optimiser's part of a step, once the loss and the gradients of a batch are known (from
     * {@link #lossAndGradients}, or computed on a device in the order of {@link #parameters}): global gradient-norm
     * clipping when {@code maxGradNorm} &gt; 0, the step's learning rate, AdamW. The log has no time yet
     * ({@link StepLog#timed}).
     */
    public StepLog update(int step, double loss, List<double[]> gradients) {
        double norm = settings.maxGradNorm() > 0 ? AdamW.clipGradNorm(gradients, settings.maxGradNorm())
                : AdamW.gradNorm(gradients);
        double lr = schedule.at(step);
        optimizer.step(gradients, lr);
        return new StepLog(step, lr, loss, norm, 0, 0);
    }

    /**
     * Trains for {@code settings.steps()} steps.
     *
     * @param tokensPerStep tokens of the windows each step trains on (for the tokens/s figure)
     * @return the loss history, one entry per step
     */
    public List<StepLog> train(BatchSource source, long tokensPerStep, Progress progress, StepListener listener) {
        List<StepLog> history = new ArrayList<>();
        long start = System.nanoTime();
        long tokens = 0;
        double ema = Double.NaN;
        for (int s = 0; s < settings.steps(); s++) {
            List<GateSample[]> batch = source.batch(s);
            tokens += tokensPerStep;
            StepLog log = step(s, batch).timed((System.nanoTime() - start) / 1e9, tokens);
            history.add(log);
            ema = Double.isNaN(ema) ? log.loss() : 0.9 * ema + 0.1 * log.loss();
            if (progress != null) {
                progress.update(s + 1, log.progressLine(ema));
            }
            if (listener != null) {
                listener.afterStep(log, gates);
            }
        }
        return history;
    }

    /** Uniform random window offsets in {@code [0, corpusLength − length]}, deterministic for a seed. */
    public static long[] randomOffsets(long corpusLength, int length, int count, SplittableRandom random) {
        if (corpusLength < length) {
            throw new IllegalArgumentException("corpus has " + corpusLength + " tokens, shorter than a window of "
                    + length);
        }
        long[] offsets = new long[count];
        for (int i = 0; i < count; i++) {
            offsets[i] = random.nextLong(corpusLength - length + 1);
        }
        return offsets;
    }

    /** Byte tokens of a corpus file slice (a token is one byte, 0..255). */
    public static int[] tokens(byte[] corpus, long offset, int length) {
        if (offset < 0 || length < 0 || offset > corpus.length - length) {      // no overflow for any offset
            throw new IllegalArgumentException("window [" + offset + ", " + (offset + length)
                    + ") is outside the corpus of " + corpus.length + " bytes");
        }
        int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = corpus[(int) offset + i] & 0xFF;
        }
        return t;
    }

    /** Reads a corpus file. */
    public static byte[] readCorpus(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read corpus " + file + ": " + e.getMessage(), e);
        }
    }

    /** Metadata describing a training run, stored in checkpoints. */
    public static Map<String, String> metadata(Map<String, Object> values) {
        Map<String, String> m = new LinkedHashMap<>();
        values.forEach((k, v) -> m.put(k, String.valueOf(v)));
        return m;
    }

    static double[] toDouble(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i];
        }
        return y;
    }

    private static void add(double[] acc, double[] x, double scale) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += x[i] * scale;
        }
    }

}
