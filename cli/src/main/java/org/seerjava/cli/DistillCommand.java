package org.seerjava.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.seerjava.gate.Distill;
import org.seerjava.gate.DistillOptions;
import org.seerjava.gate.DistillationTrainer;
import org.seerjava.reference.GateType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code seer distill}: self-distillation of AttnGates on a frozen model. */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Train AttnGates by self-distillation: the model is frozen, each layer's dense attention is "
                + "2-D max-pooled per block into a target, and the gate learns it with the official KL loss "
                + "(AdamW, warm-up + cosine, clipping at 1.0). Writes gates.safetensors in the official naming."},
        footer = {"", "Examples:",
                "  seer distill                     # 100 steps, 4 × 2,048 bytes per step",
                "  seer distill --steps 600 --seq-len 4096 --windows 48 --out work/gates-4k",
                "  seer distill --gate-type Qavg_Kmaxmin --lr 5e-4 --seed 7",
                "  # on the GPU:",
                "  seer distill --backend cuda --model ~/models/Llama-3.2-1B --seq-len 8192 \\",
                "      --steps 500"})
final class DistillCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (default: models/tiny-llama-bytes).")
    Path model;

    @Option(names = "--corpus", paramLabel = "FILE", description = "Training text (default: corpus/train-excerpt.bin).")
    Path corpus;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: work/distill).")
    Path out;

    @Option(names = "--gate-type", defaultValue = "Qavg_Kmaxminavg", description = "Gate type (default: ${DEFAULT-VALUE}).")
    String gateType;

    @Option(names = "--block-size", defaultValue = "64", description = "Block size (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--gate-hidden", defaultValue = "0", description = "Gate hidden size; 0 = head dim (default).")
    int gateHidden;

    @Option(names = "--seq-len", defaultValue = "2048", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--batch", defaultValue = "4", description = "Windows per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--steps", defaultValue = "100", description = "Optimiser steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--warmup", defaultValue = "20",
            description = "Warm-up steps, fewer than --steps (default: ${DEFAULT-VALUE}; clipped to steps / 5 when "
                    + "--steps is not larger).")
    int warmup;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--windows", defaultValue = "0",
            description = "0: fresh random windows every step; N: capture N windows once and replay them (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Checkpoint every N steps (0: never).")
    int checkpointEvery;

    @Option(names = "--backend", defaultValue = "${sys:seer.backend:-auto}", description = "Engine (default: -Dseer.backend, else auto); cuda runs the"
            + " model, the capture and the gate's forward and backward on the GPU (bf16 model, fp32 gate math).")
    String backend;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    /** Every option checked before anything is read, created or printed; bad values exit 2. */
    void checkOptions() {
        OptionChecks c = new OptionChecks(spec);
        try {
            GateType.parse(gateType);
        } catch (IllegalArgumentException e) {
            throw c.bad("--gate-type: " + e.getMessage());
        }
        c.atLeast("--block-size", blockSize, 1);
        c.atLeast("--gate-hidden", gateHidden, 0);
        c.inRange("--seq-len", seqLen, blockSize, DemoCommand.MAX_CONTEXT);
        c.atLeast("--batch", batch, 1);
        c.atLeast("--steps", steps, 1);
        c.positive("--lr", lr);
        c.atLeast("--warmup", warmup, 0);
        if (warmup >= steps && spec.commandLine().getParseResult().hasMatchedOption("--warmup")) {
            throw c.bad("--warmup " + warmup + " must be less than --steps " + steps + ": the learning rate rises"
                    + " from 0 during the warm-up, so no step would train at the peak --lr (and with --steps 1, none"
                    + " would train at all)");
        }
        c.nonNegative("--weight-decay", weightDecay);
        c.atLeast("--windows", windows, 0);
        c.atLeast("--checkpoint-every", checkpointEvery, 0);
        c.backend("--backend", backend);
        c.outputDirectory("--out", Seer.orDefault(out, "work/distill"));
    }

    @Override
    public Integer call() {
        checkOptions();
        Path outDir = Seer.orDefault(out, "work/distill");
        PrintWriter w = spec.commandLine().getOut();
        int warmupSteps = warmup;
        if (warmup >= steps) {                  // the default warm-up (an explicit one was refused above)
            warmupSteps = steps / 5;
            PrintWriter err = spec.commandLine().getErr();
            err.printf("note: the default warm-up (%d steps) is not shorter than --steps %d: warm-up clipped to %d"
                    + " steps%n", warmup, steps, warmupSteps);
            err.flush();
        }
        DistillOptions o = new DistillOptions(Seer.orDefault(model, "models/tiny-llama-bytes"),
                Seer.orDefault(corpus, "corpus/train-excerpt.bin"),
                outDir, gateType, blockSize, gateHidden, seqLen, batch, steps,
                lr, warmupSteps, weightDecay, 1.0, seed, checkpointEvery, windows, backend, !noProgress);
        // cuda: the whole distillation on the GPU (model forward, capture, gate forward/backward); else the float32
        // model on the host with the engine's attention
        Distill.Result r = backend.equals("cuda") ? org.seerjava.runtime.cuda.CudaDistill.run(o) : Distill.run(o);
        DistillationTrainer.StepLog first = r.history().getFirst();
        DistillationTrainer.StepLog last = r.history().getLast();
        w.printf(Locale.ROOT, "distilled %d steps in %.1f s: loss %.4f -> %.4f%n", r.history().size(), r.seconds(),
                first.loss(), last.loss());
        w.println("gates: " + r.gateFile());
        return 0;
    }
}
