package org.seerjava.gate;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.seerjava.reference.GateType;

/**
 * Options of {@link Distill#run}.
 *
 * @param modelDir        Hugging Face model directory (config.json + safetensors)
 * @param corpus          training text (raw bytes; one byte = one token)
 * @param outputDir       where the final gates ({@code gates.safetensors}), checkpoints and the loss history go;
 *                        null keeps everything in memory
 * @param gateType        gate type name, e.g. {@code Qavg_Kmaxminavg}
 * @param blockSize       gate block size B
 * @param gateHidden      gate hidden size Dg; 0 means the model's head_dim (no Q linear for {@code Qavg_*})
 * @param seqLen          tokens per training window
 * @param batch           windows per optimiser step
 * @param steps           optimiser steps
 * @param lr              peak learning rate
 * @param warmup          linear warm-up steps
 * @param weightDecay     AdamW weight decay
 * @param maxGradNorm     global gradient-norm clip
 * @param seed            seed of the initial weights and of the window offsets
 * @param checkpointEvery write {@code checkpoint-step{N}.safetensors} every N steps (0: never)
 * @param poolWindows     0: every step runs the model on {@code batch} fresh random windows; n &gt; 0: n random
 *                        windows are captured once and each step draws {@code batch} of them (replay, no model
 *                        pass per step)
 * @param engine          engine name ({@code auto}, {@code reference}, {@code cpu}, {@code cuda})
 * @param progress        print a progress bar on stderr
 */
public record DistillOptions(Path modelDir, Path corpus, Path outputDir, String gateType, int blockSize,
                             int gateHidden, int seqLen, int batch, int steps, double lr, int warmup,
                             double weightDecay, double maxGradNorm, long seed, int checkpointEvery,
                             int poolWindows, String engine, boolean progress) {

    public DistillOptions {
        if (modelDir == null || corpus == null) {
            throw new IllegalArgumentException("model directory and corpus must be given");
        }
        atLeast("blockSize", blockSize, 1);
        atLeast("gateHidden", gateHidden, 0);
        atLeast("seqLen (at least one block)", seqLen, blockSize);
        atLeast("batch", batch, 1);
        atLeast("steps", steps, 1);
        atLeast("warmup", warmup, 0);
        atLeast("checkpointEvery", checkpointEvery, 0);
        atLeast("poolWindows", poolWindows, 0);
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("lr must be finite and > 0, got " + lr);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        }
        if (Double.isNaN(maxGradNorm)) {
            throw new IllegalArgumentException("maxGradNorm must be a number (<= 0: no clipping), got NaN");
        }
        if (gateType == null) {
            gateType = "Qavg_Kmaxminavg";
        }
        if (engine == null) {
            engine = "auto";
        }
    }

    private static void atLeast(String field, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(field + " must be at least " + min + ", got " + value);
        }
    }

    /**
     * The official recipe's settings scaled to a small run: {@code Qavg_Kmaxminavg}, block 64, hidden = head_dim,
     * 2,048 tokens, batch 4, 100 steps, lr 1e-3, 20 warm-up steps, no weight decay, clip 1.0, seed 0, fresh windows.
     */
    public static DistillOptions defaults(Path modelDir, Path corpus, Path outputDir) {
        return new DistillOptions(modelDir, corpus, outputDir, "Qavg_Kmaxminavg", 64, 0, 2048, 4, 100, 1e-3, 20, 0,
                1.0, 0, 0, 0, "auto", true);
    }

    /**
     * The run of docs/ACCURACY.md (section 1 gives its time): 32 windows of 8,192 tokens
     * captured once, 500 steps of batch 4, lr 1e-2, 20 warm-up steps, checkpoints every 100 steps.
     */
    public static DistillOptions recipe8k(Path modelDir, Path corpus, Path outputDir) {
        return defaults(modelDir, corpus, outputDir).withSeqLen(8192).withBatch(4).withSteps(500).withLr(1e-2, 20)
                .withPoolWindows(32).withCheckpointEvery(100);
    }

    /** The gates' shape on a model of these dimensions: this gate type and block size, hidden = head_dim when 0. */
    public GateSpec gateSpec(ModelDims dims) {
        return dims.spec(GateType.parse(gateType), blockSize, gateHidden == 0 ? dims.headDim() : gateHidden);
    }

    /** The random source of the training windows' offsets (the pool's, or each step's fresh windows). */
    public SplittableRandom windowRandom() {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 1);
    }

    /** The random source that picks each batch's windows from the pool. */
    public SplittableRandom poolPickRandom() {
        return new SplittableRandom(seed * 31 + 7);
    }

    public DistillOptions withSeqLen(int v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, v, batch, steps, lr,
                warmup, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, engine, progress);
    }

    public DistillOptions withBatch(int v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, v, steps, lr,
                warmup, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, engine, progress);
    }

    public DistillOptions withSteps(int v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, v, lr,
                warmup, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, engine, progress);
    }

    public DistillOptions withLr(double v, int warmupSteps) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                v, warmupSteps, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, engine, progress);
    }

    public DistillOptions withSeed(long v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, weightDecay, maxGradNorm, v, checkpointEvery, poolWindows, engine, progress);
    }

    public DistillOptions withPoolWindows(int v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, weightDecay, maxGradNorm, seed, checkpointEvery, v, engine, progress);
    }

    public DistillOptions withCheckpointEvery(int v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, weightDecay, maxGradNorm, seed, v, poolWindows, engine, progress);
    }

    public DistillOptions withEngine(String v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, v, progress);
    }

    public DistillOptions withProgress(boolean v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, engine, v);
    }

    public DistillOptions withOutputDir(Path v) {
        return new DistillOptions(modelDir, corpus, v, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, weightDecay, maxGradNorm, seed, checkpointEvery, poolWindows, engine, progress);
    }

    public DistillOptions withWeightDecay(double v) {
        return new DistillOptions(modelDir, corpus, outputDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmup, v, maxGradNorm, seed, checkpointEvery, poolWindows, engine, progress);
    }
}
