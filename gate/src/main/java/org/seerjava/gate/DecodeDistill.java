package org.seerjava.gate;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.seerjava.cpu.Parallel;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.DistillationLoss;
import org.seerjava.reference.decode.DecodeGateTraining;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.io.AtomicFiles;

/**
 * Self-distillation of SeerAttention-R decode gates on a frozen model (docs/SPEC.md §7.7): each training window
 * runs once through the model (float32, on the CPU) with dense attention, capturing per layer the pre-RoPE queries of
 * the rows that count (the second half of the window, as the official script's {@code loss_slice_ratio = 0.5},
 * optionally a random subset of them), the pooled keys and the decode target ({@link DecodeCapturePolicy}; the
 * attention, target and pooling on the options' engine, the GPU with {@code cuda}); then every step computes, on the
 * host in float64,
 * <pre>
 *   loss = 10 · Σ_layers mean_windows KL_mean(log_softmax(gate logits of the rows), target rows)
 * </pre>
 * with its gradient ({@link DecodeGateMath}), clips the global gradient norm, and takes an AdamW step with a linear
 * warm-up and cosine decay ({@link LrSchedule}). The model being frozen, capturing once and training on the captures
 * gives the loss and gradients of running the model every step.
 */
public final class DecodeDistill {
    private DecodeDistill() {
    }

    /**
     * Options.
     *
     * @param modelDir        Hugging Face model directory
     * @param corpus          training text (raw bytes, one byte a token)
     * @param outputDir       where {@code decode-gates.safetensors}, checkpoints and {@code decode-history.json} go;
     *                        null keeps everything in memory
     * @param blockSize       gate block size B
     * @param qkNorm          RMSNorm on the gate query and keys (the official training script's setting: on)
     * @param seqLen          tokens per training window
     * @param rows            query rows per window drawn from its second half (0: all of them)
     * @param batch           windows per step
     * @param steps           optimiser steps
     * @param lr              peak learning rate
     * @param warmup          warm-up steps
     * @param weightDecay     AdamW weight decay
     * @param maxGradNorm     global gradient-norm clip (≤ 0: none)
     * @param seed            seed of the initial weights, the windows and the rows
     * @param windows         windows captured once and replayed (each step draws {@code batch} of them)
     * @param checkpointEvery write a checkpoint every N steps (0: never)
     * @param engine          engine of the capture's attention, decode target and key pooling ({@code cpu},
     *                        {@code cuda} on a GPU, {@code reference}, {@code auto})
     * @param progress        progress bars on stderr
     */
    public record Options(Path modelDir, Path corpus, Path outputDir, int blockSize, boolean qkNorm, int seqLen,
                          int rows, int batch, int steps, double lr, int warmup, double weightDecay,
                          double maxGradNorm, long seed, int windows, int checkpointEvery, String engine,
                          boolean progress) {
        public Options {
            if (modelDir == null || corpus == null) {
                throw new IllegalArgumentException("model directory and corpus must be given");
            }
            if (blockSize <= 0 || seqLen < 2 * blockSize || rows < 0 || batch <= 0 || steps <= 0 || !(lr > 0)
                    || warmup < 0 || warmup >= steps || !(weightDecay >= 0) || windows <= 0 || checkpointEvery < 0) {
                throw new IllegalArgumentException("bad decode distillation options: block " + blockSize + ", seq "
                        + seqLen + " (≥ 2 blocks), rows " + rows + ", batch " + batch + ", steps " + steps + ", lr " + lr
                        + ", warmup " + warmup + " (< steps), wd " + weightDecay + ", windows " + windows
                        + ", checkpointEvery " + checkpointEvery);
            }
            if (engine == null) {
                engine = "auto";
            }
        }
    }

    /** One logged step. */
    public record StepLog(int step, double lr, double loss, double gradNorm, double seconds) {
    }

    /**
     * What a run produced.
     *
     * @param gates    the trained gates
     * @param history  one entry per step
     * @param seconds  wall time of the whole run
     * @param gateFile where the gates were written (null without an output directory)
     */
    public record Result(DecodeGateSet gates, List<StepLog> history, double seconds, Path gateFile) {
    }

    /** Loss ×10 summed over layers and averaged over windows, and its gradient per trainable array. */
    public record BatchResult(double loss, List<double[]> gradients) {
    }

    /** The trainable arrays in a fixed order: per layer {@link DecodeGateParameters#arrays()}. */
    public static List<double[]> parameters(DecodeGateSet gates) {
        List<double[]> list = new ArrayList<>();
        for (DecodeGateParameters p : gates.layers()) {
            list.addAll(p.arrays());
        }
        return list;
    }

    /** The rows that count: the second half of a window of {@code seqLen}, or {@code count} of them at random. */
    public static int[] rows(int seqLen, int count, SplittableRandom random) {
        int from = seqLen / 2;
        int all = seqLen - from;
        if (count == 0 || count >= all) {
            int[] r = new int[all];
            for (int i = 0; i < all; i++) {
                r[i] = from + i;
            }
            return r;
        }
        int[] pool = new int[all];
        for (int i = 0; i < all; i++) {
            pool[i] = from + i;
        }
        for (int i = 0; i < count; i++) {                       // partial Fisher–Yates
            int j = i + random.nextInt(all - i);
            int t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
        }
        int[] r = Arrays.copyOf(pool, count);
        Arrays.sort(r);
        return r;
    }

    /** Runs the model once over {@code tokens} with dense attention, capturing every layer's sample of {@code rows}. */
    public static DecodeGateSample[] capture(LlamaModel model, Engine engine, DecodeGateSpec spec, int[] tokens,
                                             int[] rows) {
        DecodeCapturePolicy policy = new DecodeCapturePolicy(engine, spec, rows);
        model.forward(tokens, policy, tokens.length - 1);
        return policy.samples();
    }

    /**
     * The training loss {@code 10 · Σ_ℓ mean_w loss_{w,ℓ}} and its gradients over captured windows; windows and
     * layers run in parallel, sums in a fixed order (deterministic).
     */
    public static BatchResult lossAndGradients(DecodeGateSet gates, List<DecodeGateSample[]> windows) {
        DecodeGateSpec spec = gates.spec();
        int layers = gates.size();
        int w = windows.size();
        if (w == 0) {
            throw new IllegalArgumentException("a batch needs at least one window");
        }
        DecodeGateMath.LossAndGradients[] parts = new DecodeGateMath.LossAndGradients[w * layers];
        Parallel.forEach(w * layers, t -> parts[t] = DecodeGateMath.lossAndGradients(spec,
                gates.layer(t % layers), windows.get(t / layers)[t % layers]));
        double scale = DistillationLoss.GATE_LOSS_SCALE / w;
        double total = 0;
        List<double[]> grads = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            List<double[]> acc = new ArrayList<>();
            for (double[] a : gates.layer(l).arrays()) {
                acc.add(new double[a.length]);
            }
            for (int i = 0; i < w; i++) {
                DecodeGateMath.LossAndGradients r = parts[i * layers + l];
                total += r.loss() * scale;
                DecodeGateTraining.Gradients g = r.gradients();
                int k = 0;
                for (double[] part : new double[][] {g.wq(), g.wk(), g.qNorm(), g.kNorm()}) {
                    if (part != null) {
                        double[] a = acc.get(k++);
                        for (int j = 0; j < a.length; j++) {
                            a[j] += part[j] * scale;
                        }
                    }
                }
            }
            grads.addAll(acc);
        }
        return new BatchResult(total, grads);
    }

    /** The training loss (no gradients) of the gates on captured windows, e.g. held-out text. */
    public static double loss(DecodeGateSet gates, List<DecodeGateSample[]> windows) {
        int layers = gates.size();
        double[] parts = new double[windows.size() * layers];
        Parallel.forEach(parts.length, t -> parts[t] = DecodeGateMath.loss(gates.spec(), gates.layer(t % layers),
                windows.get(t / layers)[t % layers]));
        double sum = 0;
        for (double x : parts) {
            sum += x;
        }
        return DistillationLoss.GATE_LOSS_SCALE * sum / windows.size();
    }

    /** Loads the model, captures the windows, trains fresh gates, writes them when an output directory is given. */
    public static Result run(Options o) {
        long start = System.nanoTime();
        ByteText.requireByteModel(o.modelDir(), "distill-decode");
        Engine engine = Engines.byName(o.engine());
        try (LlamaModel model = LlamaModel.load(o.modelDir())) {
            DecodeGateSpec spec = DecodeGateSpec.of(ModelDims.of(model.config()), o.blockSize(), o.qkNorm());
            DecodeGateSet gates = DecodeGateSet.init(spec, o.seed());
            byte[] corpus = DistillationTrainer.readCorpus(o.corpus());
            SplittableRandom random = new SplittableRandom(o.seed() * 0x9E3779B97F4A7C15L + 3);
            long[] offsets = DistillationTrainer.randomOffsets(corpus.length, o.seqLen(), o.windows(), random);
            List<DecodeGateSample[]> pool = new ArrayList<>();
            try (Progress p = o.progress() ? Progress.stderr("capture", offsets.length)
                    : Progress.silent("capture", offsets.length)) {
                for (int i = 0; i < offsets.length; i++) {
                    pool.add(capture(model, engine, spec, DistillationTrainer.tokens(corpus, offsets[i], o.seqLen()),
                            rows(o.seqLen(), o.rows(), random)));
                    p.update(i + 1, "window " + (i + 1));
                }
            }
            List<double[]> params = parameters(gates);
            AdamW adam = new AdamW(params, AdamW.Settings.defaults(o.weightDecay()));
            LrSchedule schedule = new LrSchedule(o.lr(), o.warmup(), o.steps());
            SplittableRandom pick = new SplittableRandom(o.seed() * 31 + 11);
            Map<String, String> meta = metadata(o);
            List<StepLog> history = new ArrayList<>();
            long trainStart = System.nanoTime();
            try (Progress p = o.progress() ? Progress.stderr("distil", o.steps())
                    : Progress.silent("distil", o.steps())) {
                double ema = Double.NaN;
                for (int s = 0; s < o.steps(); s++) {
                    List<DecodeGateSample[]> batch = new ArrayList<>();
                    for (int b = 0; b < o.batch(); b++) {
                        batch.add(pool.get(pick.nextInt(pool.size())));
                    }
                    BatchResult r = lossAndGradients(gates, batch);
                    double norm = o.maxGradNorm() > 0 ? AdamW.clipGradNorm(r.gradients(), o.maxGradNorm())
                            : AdamW.clipGradNorm(r.gradients(), Double.MAX_VALUE);
                    double lr = schedule.at(s);
                    adam.step(r.gradients(), lr);
                    double seconds = (System.nanoTime() - trainStart) / 1e9;
                    history.add(new StepLog(s, lr, r.loss(), norm, seconds));
                    ema = Double.isNaN(ema) ? r.loss() : 0.9 * ema + 0.1 * r.loss();
                    p.update(s + 1, String.format(Locale.ROOT, "loss %.4f (avg %.4f) lr %.2e |g| %.3f", r.loss(), ema,
                            lr, norm));
                    if (o.outputDir() != null && o.checkpointEvery() > 0 && (s + 1) % o.checkpointEvery() == 0
                            && s + 1 < o.steps()) {
                        Map<String, String> m = new LinkedHashMap<>(meta);
                        m.put("distill_steps", Integer.toString(s + 1));
                        gates.save(directory(o).resolve("decode-checkpoint-step" + (s + 1) + ".safetensors"), m);
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Path gateFile = null;
            if (o.outputDir() != null) {
                Map<String, String> m = new LinkedHashMap<>(meta);
                m.put("distill_steps", Integer.toString(o.steps()));
                m.put("distill_seconds", String.format(Locale.ROOT, "%.1f", seconds));
                gateFile = directory(o).resolve("decode-gates.safetensors");
                gates.save(gateFile, m);
                writeHistory(directory(o).resolve("decode-history.json"), o, history, seconds);
            }
            return new Result(gates, history, seconds, gateFile);
        }
    }

    private static Path directory(Options o) {
        try {
            return Files.createDirectories(o.outputDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output directory " + o.outputDir(), e);
        }
    }

    static Map<String, String> metadata(Options o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq_len", o.seqLen());
        m.put("rows_per_window", o.rows() == 0 ? "all of the second half" : o.rows());
        m.put("batch", o.batch());
        m.put("lr", o.lr());
        m.put("warmup", o.warmup());
        m.put("weight_decay", o.weightDecay());
        m.put("seed", o.seed());
        m.put("windows", o.windows());
        m.put("corpus", o.corpus().getFileName().toString());
        m.put("trainer", "seer-java DecodeDistill");
        return DistillationTrainer.metadata(m);
    }

    private static void writeHistory(Path file, Options o, List<StepLog> history, double seconds) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("options", metadata(o));
        root.put("steps", o.steps());
        root.put("seconds", seconds);
        root.put("history", history);
        JsonMapper mapper = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
        AtomicFiles.write(file, (java.io.OutputStream out) -> mapper.writeValue(out, root));
    }
}
