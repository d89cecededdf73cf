package org.seerjava.gate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.seerjava.model.LlamaModel;
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
            GateSpec spec = o.gateSpec(dims);
            GateSet gates = GateSet.init(spec, o.seed());
            byte[] corpus = DistillationTrainer.readCorpus(o.corpus());
            SplittableRandom windows = o.windowRandom();
            DistillationTrainer trainer = new DistillationTrainer(gates, o);
            DistillOutput output = new DistillOutput(o, "seer-java DistillationTrainer");

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
                SplittableRandom pick = o.poolPickRandom();
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
            DistillationTrainer.StepListener listener = (log, g) -> output.afterStep(g, log.step() + 1);
            List<DistillationTrainer.StepLog> history;
            try (Progress p = o.progress() ? Progress.stderr("distil", o.steps())
                    : Progress.silent("distil", o.steps())) {
                history = trainer.train(source, tokensPerStep, p, listener);
            }
            Path gateFile = output.finish(gates, history, (System.nanoTime() - start) / 1e9);
            return new Result(gates, history, (System.nanoTime() - start) / 1e9, gateFile);
        }
    }
}
