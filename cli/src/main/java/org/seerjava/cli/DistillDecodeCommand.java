package org.seerjava.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.seerjava.gate.DecodeDistill;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code seer distill-decode}: self-distillation of SeerAttention-R decode gates on a frozen model. */
@Command(name = "distill-decode", mixinStandardHelpOptions = true,
        description = {"Train SeerAttention-R decode gates by self-distillation: the model is frozen, each layer's "
                + "dense attention rows are max-pooled per key block (max over the query heads of a KV group, strictly "
                + "earlier blocks, renormalised) into a target, and the gate learns it with the official KL loss on "
                + "the second half of each window (AdamW, warm-up + cosine, clipping at 1.0). Gate: Qproj, "
                + "Kmaxminavg, hidden = head_dim. Writes decode-gates.safetensors in the official naming."},
        footer = {"", "Examples:",
                "  seer distill-decode                        # 200 steps on 16 windows",
                "  seer distill-decode --seq-len 4096 --rows 1024 --steps 400 \\",
                "      --out work/decode-4k",
                "  seer distill-decode --no-qk-norm --lr 3e-3 --seed 7"})
final class DistillDecodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (default: models/tiny-llama-bytes).")
    Path model;

    @Option(names = "--corpus", paramLabel = "FILE", description = "Training text (default: corpus/train-excerpt.bin).")
    Path corpus;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: work/distill-decode).")
    Path out;

    @Option(names = "--block-size", defaultValue = "64", description = "Block size (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--no-qk-norm", description = "No RMSNorm on the gate query and keys (the official training "
            + "script uses it).")
    boolean noQkNorm;

    @Option(names = "--seq-len", defaultValue = "8192", description = "Tokens per window (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--rows", defaultValue = "512",
            description = "Query rows per window drawn from its second half; 0 = all of them (default: "
                    + "${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--windows", defaultValue = "16",
            description = "Windows captured once and replayed (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--batch", defaultValue = "4", description = "Windows per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--steps", defaultValue = "200", description = "Optimiser steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--lr", defaultValue = "1e-2", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--warmup", defaultValue = "20", description = "Warm-up steps, fewer than --steps (default: "
            + "${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Checkpoint every N steps (0: never).")
    int checkpointEvery;

    @Option(names = "--backend", defaultValue = "auto",
            description = "Engine of the capture pass: cpu, cuda, reference or auto (default: ${DEFAULT-VALUE}). "
                    + "With cuda the dense attention, the decode target and the key pooling of every layer run on "
                    + "the GPU (float32), the model's other layers on the CPU; the gate's forward and backward run in "
                    + "float64 on the CPU either way.")
    String backend;

    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;

    /** Every option value, before anything is read or written (exit 2 naming the flag). */
    void checkOptions() {
        OptionChecks c = new OptionChecks(spec);
        c.atLeast("--block-size", blockSize, 1);
        c.inRange("--seq-len", seqLen, 2L * blockSize, DemoCommand.MAX_CONTEXT);
        c.atLeast("--rows", rows, 0);
        c.atLeast("--windows", windows, 1);
        c.atLeast("--batch", batch, 1);
        c.atLeast("--steps", steps, 1);
        c.positive("--lr", lr);
        c.atLeast("--warmup", warmup, 0);
        if (warmup >= steps && spec.commandLine().getParseResult().hasMatchedOption("--warmup")) {
            throw c.bad("--warmup " + warmup + " must be less than --steps " + steps + " (the learning rate rises "
                    + "from 0 during the warm-up)");
        }
        c.nonNegative("--weight-decay", weightDecay);
        c.atLeast("--checkpoint-every", checkpointEvery, 0);
        c.backend("--backend", backend);
        if (backend.equalsIgnoreCase("tornado")) {
            throw c.bad("--backend tornado: the tornado engine does not implement the SeerAttention-R decode "
                    + "operations; use cuda, cpu, reference or auto");
        }
        c.outputDirectory("--out", Seer.orDefault(out, "work/distill-decode"));
    }

    @Override
    public Integer call() {
        checkOptions();
        int warmupSteps = warmup;
        if (warmup >= steps) {                  // the default warm-up (an explicit one was refused above)
            warmupSteps = steps / 5;
            spec.commandLine().getErr().printf("note: the default warm-up (%d steps) is not shorter than --steps %d: "
                    + "warm-up clipped to %d steps%n", warmup, steps, warmupSteps);
            spec.commandLine().getErr().flush();
        }
        DecodeDistill.Options o = new DecodeDistill.Options(Seer.orDefault(model, "models/tiny-llama-bytes"),
                Seer.orDefault(corpus, "corpus/train-excerpt.bin"), Seer.orDefault(out, "work/distill-decode"),
                blockSize, !noQkNorm, seqLen, rows, batch, steps, lr, warmupSteps, weightDecay, 1.0, seed, windows,
                checkpointEvery, backend, !noProgress);
        DecodeDistill.Result r = DecodeDistill.run(o);
        PrintWriter w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "distilled %d steps in %.1f s: loss %.4f -> %.4f%n", r.history().size(), r.seconds(),
                r.history().getFirst().loss(), r.history().getLast().loss());
        w.println("decode gates: " + r.gateFile());
        return 0;
    }
}
