package org.seerjava.gate;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.GateType;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/** Entry point of gate self-distillation: {@link #run(DistillOptions)}. */
public final class Distill {
    private Distill() {
    }

    /**
     * What a distillation run produced.
     *
     * @param gates    the trained gates
     * @param history  one entry per step
     * @param seconds  wall time of the whole run (model load, capture, training, saving)
     * @param gateFile where the final gates were written (null without an output directory)
     */
    public record Result(GateSet gates, List<DistillationTrainer.StepLog> history, double seconds, Path gateFile) {
    }

    /** Loads the model, distils fresh gates as the options say, writes them (and checkpoints) when asked. */
    public static Result run(DistillOptions o) {
        long start = System.nanoTime();
        ByteText.requireByteModel(o.modelDir(), "distill");
        Engine engine = Engines.byName(o.engine());
        try (LlamaModel model = LlamaModel.load(o.modelDir())) {
            ModelDims dims = ModelDims.of(model.config());
            GateSpec spec = dims.spec(GateType.parse(o.gateType()), o.blockSize(),
                    o.gateHidden() == 0 ? dims.headDim() : o.gateHidden());
            GateSet gates = GateSet.init(spec, o.seed());
            byte[] corpus = DistillationTrainer.readCorpus(o.corpus());
            SplittableRandom windows = new SplittableRandom(o.seed() * 0x9E3779B97F4A7C15L + 1);
            DistillationTrainer trainer = new DistillationTrainer(gates,
                    new DistillationTrainer.Settings(o.steps(), o.lr(), o.warmup(), o.weightDecay(),
                            o.maxGradNorm()), AdamW.Settings.defaults(o.weightDecay()));
            Map<String, String> meta = DistillationTrainer.metadata(metadataOf(o));

            DistillationTrainer.BatchSource source;
            long tokensPerStep;
            if (o.poolWindows() > 0) {
                List<GateSample[]> pool = new ArrayList<>();
                long[] offsets = DistillationTrainer.randomOffsets(corpus.length, o.seqLen(), o.poolWindows(),
                        windows);
                try (Progress p = o.progress() ? Progress.stderr("capture", offsets.length)
                        : Progress.silent("capture", offsets.length)) {
                    long t0 = System.nanoTime();
                    for (int i = 0; i < offsets.length; i++) {
                        pool.add(DistillationTrainer.capture(model, engine, spec,
                                DistillationTrainer.tokens(corpus, offsets[i], o.seqLen())));
                        double s = (System.nanoTime() - t0) / 1e9;
                        p.update(i + 1, String.format(java.util.Locale.ROOT, "%.0f tok/s",
                                (double) (i + 1) * o.seqLen() / s));
                    }
                }
                SplittableRandom pick = new SplittableRandom(o.seed() * 31 + 7);
                source = step -> {
                    List<GateSample[]> batch = new ArrayList<>();
                    for (int b = 0; b < o.batch(); b++) {
                        batch.add(pool.get(pick.nextInt(pool.size())));
                    }
                    return batch;
                };
            } else {
                source = step -> {
                    List<GateSample[]> batch = new ArrayList<>();
                    for (long off : DistillationTrainer.randomOffsets(corpus.length, o.seqLen(), o.batch(),
                            windows)) {
                        batch.add(DistillationTrainer.capture(model, engine, spec,
                                DistillationTrainer.tokens(corpus, off, o.seqLen())));
                    }
                    return batch;
                };
            }
            tokensPerStep = (long) o.batch() * o.seqLen();   // tokens of the windows each step trains on
            DistillationTrainer.StepListener listener = (log, g) -> {
                if (o.outputDir() != null && o.checkpointEvery() > 0 && (log.step() + 1) % o.checkpointEvery() == 0
                        && log.step() + 1 < o.steps()) {
                    Map<String, String> m = new LinkedHashMap<>(meta);
                    m.put("distill_steps", Integer.toString(log.step() + 1));
                    g.save(outputDirectory(o).resolve("checkpoint-step" + (log.step() + 1) + ".safetensors"), m);
                }
            };
            List<DistillationTrainer.StepLog> history;
            try (Progress p = o.progress() ? Progress.stderr("distil", o.steps())
                    : Progress.silent("distil", o.steps())) {
                history = trainer.train(source, tokensPerStep, p, listener);
            }
            Path gateFile = null;
            double seconds = (System.nanoTime() - start) / 1e9;
            if (o.outputDir() != null) {
                Map<String, String> m = new LinkedHashMap<>(meta);
                m.put("distill_steps", Integer.toString(o.steps()));
                m.put("distill_seconds", String.format(java.util.Locale.ROOT, "%.1f", seconds));
                gateFile = outputDirectory(o).resolve("gates.safetensors");
                gates.save(gateFile, m);
                writeHistory(outputDirectory(o).resolve("history.json"), o, history, seconds);
            }
            return new Result(gates, history, (System.nanoTime() - start) / 1e9, gateFile);
        }
    }

    private static Path outputDirectory(DistillOptions o) {
        try {
            return Files.createDirectories(o.outputDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output directory " + o.outputDir(), e);
        }
    }

    static Map<String, Object> metadataOf(DistillOptions o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq_len", o.seqLen());
        m.put("batch", o.batch());
        m.put("lr", o.lr());
        m.put("warmup", o.warmup());
        m.put("weight_decay", o.weightDecay());
        m.put("seed", o.seed());
        m.put("pool_windows", o.poolWindows());
        m.put("corpus", o.corpus().getFileName().toString());
        m.put("trainer", "seer-java DistillationTrainer");
        return m;
    }

    private static void writeHistory(Path file, DistillOptions o, List<DistillationTrainer.StepLog> history,
                                     double seconds) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("options", metadataOf(o));
        root.put("steps", o.steps());
        root.put("seconds", seconds);
        root.put("history", history);
        try {
            JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build().writeValue(file.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
