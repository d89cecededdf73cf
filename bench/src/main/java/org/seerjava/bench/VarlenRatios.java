package org.seerjava.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/**
 * A varlen batch against the sum of its sequences run one at a time, on the CPU engine or another (issue #19 line 4;
 * docs/SPEC.md §11): for each call — dense causal attention, the SeerAttention prefill (gate scores, top-k selection, block-sparse
 * attention) and the fused distillation pass (dense attention with the pooled target) — a round times the varlen call
 * on the packed batch and, right before or after it (the order alternates from round to round), the single-sequence
 * call on each sequence; the table gives the medians and the median over rounds of batch time ÷ sum of the
 * sequences' times. Same JVM, same inputs (each sequence's q, k, v are the packed rows, copied out once before
 * timing). Shapes as the other CPU benchmarks: fp32, Hq = Hkv = 8, D = 128, block 64, gate {@link Inputs#GATE}.
 * Every call is timed from the host arrays to the host arrays, as a caller of the engine sees it: on {@code cuda} the
 * copies to and from the GPU are in both columns (the same bytes), and the GPU kernels run the batch in one launch
 * per attention call and the gate and selection one sequence at a time.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar org.seerjava.bench.VarlenRatios
 *     [--engine cpu|cuda|…] [--warmup W] [rounds] [N…]</pre>
 * {@code --engine}: an engine name of {@link Engines#byName} (default {@code cpu}); {@code --warmup}: untimed passes
 * of every call before the rounds (default 2).
 */
public final class VarlenRatios {
    private static final int HEADS = 8;
    private static final int D = 128;
    private static final int BLOCK = 64;
    /** Top-k density of the prefill row, with the last rows dense and the diagonal kept. */
    private static final SelectionRule RULE = new SelectionRule.TopK(0.3, true, true);

    private VarlenRatios() {
    }

    public static void main(String[] args) {
        String engineName = "cpu";
        int warmup = 2;
        List<String> positional = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--engine" -> engineName = value(args, ++i, "--engine");
                case "--warmup" -> warmup = Integer.parseInt(value(args, ++i, "--warmup"));
                default -> positional.add(args[i]);
            }
        }
        int rounds = positional.isEmpty() ? 5 : Integer.parseInt(positional.get(0));
        int[] lengths = positional.size() > 1
                ? positional.subList(1, positional.size()).stream().mapToInt(Integer::parseInt).toArray()
                : new int[] {4100, 8200, 12300, 16400};
        Engine engine = Engines.byName(engineName);
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(lengths), HEADS, HEADS, D);
        VarlenBatch batch = shape.batch();
        System.out.println("engine: " + engine.name() + ", " + engine.description() + ", warm-up " + warmup
                + ", rounds " + rounds + ", lengths "
                + Arrays.toString(lengths) + " (packed " + batch.totalTokens() + " tokens)");
        System.out.println("date: " + java.time.Instant.now() + ", load average: "
                + java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());

        Random random = new Random(Inputs.SEED);
        float[] q = Inputs.gaussian(random, shape.qElements());
        float[] k = Inputs.gaussian(random, shape.kvElements());
        float[] v = Inputs.gaussian(random, shape.kvElements());
        GateConfig gate = Inputs.GATE;
        float[] wk = Inputs.gaussian(random, gate.kWeightElements(shape.sequence(0)));
        for (int i = 0; i < wk.length; i++) {
            wk[i] *= 0.02f;
        }
        float[] out = new float[shape.qElements()];
        float[] scores = new float[batch.mapElements(HEADS, BLOCK)];
        float[] target = new float[scores.length];
        int b = batch.sequences();
        float[][] qs = new float[b][];
        float[][] ks = new float[b][];
        float[][] vs = new float[b][];
        float[][] outs = new float[b][];
        float[][] scoresOf = new float[b][];
        float[][] targets = new float[b][];
        AttentionShape[] shapes = new AttentionShape[b];
        for (int s = 0; s < b; s++) {
            shapes[s] = shape.sequence(s);
            int row = HEADS * D;
            qs[s] = Arrays.copyOfRange(q, batch.start(s) * row, (batch.start(s) + batch.length(s)) * row);
            ks[s] = Arrays.copyOfRange(k, batch.start(s) * row, (batch.start(s) + batch.length(s)) * row);
            vs[s] = Arrays.copyOfRange(v, batch.start(s) * row, (batch.start(s) + batch.length(s)) * row);
            outs[s] = new float[shapes[s].qElements()];
            int nb = shapes[s].blocks(BLOCK);
            scoresOf[s] = new float[HEADS * nb * nb];
            targets[s] = new float[HEADS * nb * nb];
        }
        double scale = shape.defaultScale();

        List<String> names = new ArrayList<>();
        List<Runnable> batched = new ArrayList<>();
        List<Runnable> single = new ArrayList<>();
        names.add("dense causal attention");
        batched.add(() -> engine.denseCausalVarlen(q, k, v, out, shape, scale));
        single.add(() -> {
            for (int s = 0; s < b; s++) {
                engine.denseCausal(qs[s], ks[s], vs[s], outs[s], shapes[s], scale);
            }
        });
        names.add("SeerAttention prefill (gate, top-k 0.3, block-sparse)");
        batched.add(() -> {
            engine.gateScoresVarlen(q, k, null, wk, scores, shape, gate, false);
            List<BlockMask> masks = engine.selectVarlen(scores, batch, HEADS, BLOCK, RULE);
            engine.blockSparseVarlen(q, k, v, masks, out, shape, BLOCK, scale);
        });
        single.add(() -> {
            for (int s = 0; s < b; s++) {
                int nb = shapes[s].blocks(BLOCK);
                engine.gateScores(qs[s], ks[s], null, wk, scoresOf[s], shapes[s], gate, false);
                BlockMask mask = engine.select(scoresOf[s], 1, HEADS, nb, RULE);
                engine.blockSparse(qs[s], ks[s], vs[s], mask, outs[s], shapes[s], BLOCK, scale);
            }
        });
        names.add("fused distillation pass (dense + pooled target)");
        batched.add(() -> engine.attentionWithPooledTargetVarlen(q, k, v, out, target, shape, BLOCK, scale));
        single.add(() -> {
            for (int s = 0; s < b; s++) {
                engine.attentionWithPooledTarget(qs[s], ks[s], vs[s], outs[s], targets[s], shapes[s], BLOCK, scale);
            }
        });

        // warm-up: every call, batched and single
        for (int w = 0; w < warmup; w++) {
            for (int c = 0; c < names.size(); c++) {
                batched.get(c).run();
                single.get(c).run();
            }
        }
        int calls = names.size();
        double[][] batchMs = new double[calls][rounds];
        double[][] sumMs = new double[calls][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int c = 0; c < calls; c++) {
                boolean batchFirst = r % 2 == 0;
                for (int turn = 0; turn < 2; turn++) {
                    boolean timeBatch = (turn == 0) == batchFirst;
                    long t0 = System.nanoTime();
                    (timeBatch ? batched : single).get(c).run();
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (timeBatch) {
                        batchMs[c][r] = ms;
                    } else {
                        sumMs[c][r] = ms;
                    }
                }
            }
        }
        System.out.println();
        System.out.println("| call | batch of " + b + ", median ms | sum of the " + b + " sequences, median ms "
                + "| batch ÷ sum, per-round median (min – max) |");
        System.out.println("|---|---|---|---|");
        for (int c = 0; c < calls; c++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = batchMs[c][r] / sumMs[c][r];
            }
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.3f (%.3f – %.3f) |%n", names.get(c),
                    median(batchMs[c]), median(sumMs[c]), median(ratio), Arrays.stream(ratio).min().orElseThrow(),
                    Arrays.stream(ratio).max().orElseThrow());
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
