package org.seerjava.runtime.cuda;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.seerjava.gate.AdamW;
import org.seerjava.gate.Distill;
import org.seerjava.gate.DistillOptions;
import org.seerjava.gate.DistillOutput;
import org.seerjava.gate.DistillationTrainer;
import org.seerjava.gate.GateParameters;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.GateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.Progress;
import org.seerjava.gpu.llm.Decoder;
import org.seerjava.gpu.llm.DecoderAttention;
import org.seerjava.gpu.llm.GateTraining;
import org.seerjava.gpu.llm.GateTraining.LayerCapture;
import org.seerjava.reference.DistillationLoss;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeOptions;

/**
 * Gate self-distillation on the GPU ({@code seer distill --backend cuda}): the same recipe, windows and optimiser as
 * {@link Distill} (module gate), with the frozen model's forward, the fused dense attention + pooled target, the
 * pooling of the pre-RoPE q and k, and the gate's forward, loss and backward all on the device
 * ({@link Decoder} in capture mode, {@link GateTraining}); the AdamW update of the small gate weights stays on the
 * host in float64, through the CPU trainer's own {@link DistillationTrainer#update} (gradient clipping, the learning
 * rate schedule, {@link AdamW}), and the files are written by {@link DistillOutput} as the CPU trainer's are.
 */
public final class CudaDistill {
    private CudaDistill() {
    }

    /** Distils fresh gates as the options say (the options' engine is ignored: this is the cuda path). */
    public static Distill.Result run(DistillOptions o) {
        long start = System.nanoTime();
        try (CudaModelRuntime rt = CudaModelRuntime.open(ModelSource.checkpoint(o.modelDir()),
                new RuntimeOptions("cuda", 0, true))) {
            return train(rt, o, start);
        }
    }

    static Distill.Result train(CudaModelRuntime rt, DistillOptions o, long start) {
        ModelDims dims = ModelDims.of(rt.config());
        GateSpec spec = o.gateSpec(dims);
        GateSet gates = GateSet.init(spec, o.seed());
        byte[] corpus = DistillationTrainer.readCorpus(o.corpus());
        SplittableRandom windows = o.windowRandom();
        List<double[]> grads = new ArrayList<>();
        for (double[] p : DistillationTrainer.parameters(gates)) {
            grads.add(new double[p.length]);
        }
        DistillationTrainer trainer = new DistillationTrainer(gates, o);
        DistillOutput output = new DistillOutput(o, "seer-java CudaDistill (GPU)");
        List<DistillationTrainer.StepLog> history = new ArrayList<>();
        List<List<LayerCapture>> pool = new ArrayList<>();
        try (Decoder dec = new Decoder(rt.weightsForTest(), rt.invFreqForTest(), o.seqLen(), rt.prefillChunk());
             GateTraining gt = new GateTraining(spec.gate(), spec.layers(), spec.qHeads(), spec.kvHeads(),
                     spec.headDim())) {
            if (o.poolWindows() > 0) {
                long[] offsets = DistillationTrainer.randomOffsets(corpus.length, o.seqLen(), o.poolWindows(), windows);
                try (Progress p = o.progress() ? Progress.stderr("capture", offsets.length)
                        : Progress.silent("capture", offsets.length)) {
                    for (int i = 0; i < offsets.length; i++) {
                        pool.add(capture(dec, spec, DistillationTrainer.tokens(corpus, offsets[i], o.seqLen())));
                        p.update(i + 1, "");
                    }
                }
            }
            SplittableRandom pick = o.poolPickRandom();
            long tokensPerStep = (long) o.batch() * o.seqLen();
            long t0 = System.nanoTime();
            long tokens = 0;
            double ema = Double.NaN;
            try (Progress p = o.progress() ? Progress.stderr("distil", o.steps()) : Progress.silent("distil", o.steps())) {
                for (int step = 0; step < o.steps(); step++) {
                    List<List<LayerCapture>> batch = new ArrayList<>();
                    List<List<LayerCapture>> fresh = new ArrayList<>();
                    try {
                        if (o.poolWindows() > 0) {
                            for (int b = 0; b < o.batch(); b++) {
                                batch.add(pool.get(pick.nextInt(pool.size())));
                            }
                        } else {
                            for (long off : DistillationTrainer.randomOffsets(corpus.length, o.seqLen(), o.batch(),
                                    windows)) {
                                List<LayerCapture> c = capture(dec, spec, DistillationTrainer.tokens(corpus, off,
                                        o.seqLen()));
                                fresh.add(c);
                                batch.add(c);
                            }
                        }
                        tokens += tokensPerStep;
                        double loss = lossAndGradients(gt, gates, batch, grads);
                        var log = trainer.update(step, loss, grads).timed((System.nanoTime() - t0) / 1e9, tokens);
                        history.add(log);
                        ema = Double.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
                        p.update(step + 1, log.progressLine(ema));
                        output.afterStep(gates, step + 1);
                    } finally {
                        for (List<LayerCapture> c : fresh) {
                            c.forEach(LayerCapture::close);
                        }
                    }
                }
            }
        } finally {
            for (List<LayerCapture> c : pool) {
                c.forEach(LayerCapture::close);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Path gateFile = output.finish(gates, history, seconds);
        return new Distill.Result(gates, history, seconds, gateFile);
    }

    /** One window through the frozen model on the device: a capture per layer. */
    static List<LayerCapture> capture(Decoder dec, GateSpec spec, int[] tokens) {
        List<LayerCapture> sink = new ArrayList<>();
        dec.reset();
        try {
            dec.prefill(tokens, new DecoderAttention.Capture(spec.gate(), sink));
        } catch (RuntimeException e) {
            sink.forEach(LayerCapture::close);
            throw e;
        }
        dec.reset();
        return sink;
    }

    /**
     * {@code 10 · Σ_layers mean_windows KL} and its gradients (written into {@code grads}, in the order of
     * {@link DistillationTrainer#parameters}), as {@code DistillationTrainer.lossAndGradients} defines them.
     */
    static double lossAndGradients(GateTraining gt, GateSet gates, List<List<LayerCapture>> batch,
                                   List<double[]> grads) {
        int layers = gates.size();
        int w = batch.size();
        float scale = (float) (DistillationLoss.GATE_LOSS_SCALE / w);
        for (int l = 0; l < layers; l++) {
            GateParameters p = gates.layer(l);
            gt.setWeights(l, p.wq() == null ? null : p.wqFloats(), p.wkFloats());
        }
        gt.zeroGradients();
        double total = 0;
        for (int l = 0; l < layers; l++) {
            for (List<LayerCapture> window : batch) {
                total += gt.accumulate(l, window.get(l), scale) * scale;
            }
        }
        int i = 0;
        for (int l = 0; l < layers; l++) {
            if (gt.hasQLinear()) {
                copy(gt.gradientWq(l), grads.get(i++));
            }
            copy(gt.gradientWk(l), grads.get(i++));
        }
        return total;
    }

    private static void copy(float[] from, double[] into) {
        for (int i = 0; i < into.length; i++) {
            into[i] = from[i];
        }
    }
}
