package org.seerjava.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.seerjava.cpu.CpuEngine;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.SelectionRule;

/**
 * Side-by-side timing on a shared machine: per N, the calls dense, sparse at each density, gate and distillation
 * pass are run in turn, round after round, so that a change of background load hits all of them alike; the table
 * gives each call's median and best time, the ratio of its median to dense's, and the median over rounds of its time
 * divided by the same round's dense time (the steadier figure, since a round's calls run within seconds of each
 * other); for the sparse densities below 1 it checks issue #3's line 3, time ≤ 1.15·ρ·dense + gate, on those per-round
 * ratios. Same setup as the JMH benchmarks
 * (fp32, B = 1, H = 8, D = 128, block 64, random causal masks with the diagonal kept, fixed seed).
 *
 * <p>Each round also times {@link PeakFma}, a pure FMA loop on the engine's thread count, right before dense
 * attention: the median over rounds of (dense GFLOP/s ÷ probe GFLOP/s) says what fraction of the cores' momentary
 * FMA rate the kernel reaches, a figure the host's minute-to-minute swings largely cancel out of; with
 * {@code -Dseer.bench.nominalPeak=GFLOPS} (a nominal rate of the probe on this machine) it is also given scaled to
 * that rate. The probe's threads also time themselves: the slowest and fastest thread's rate and their sum
 * (the cores here often run at different speeds in the same second, and a dynamically balanced kernel gets the sum,
 * while the probe call's own rate is set by its slowest thread), and dense GFLOP/s ÷ that sum.
 *
 * <pre>java --add-modules jdk.incubator.vector [-Dseer.bench.nominalPeak=GFLOPS] -cp bench/target/benchmarks.jar org.seerjava.bench.CpuRatios [rounds] [N…]</pre>
 */
public final class CpuRatios {
    private static final double[] DENSITIES = {1.0, 0.5, 0.3, 0.1};
    /** A nominal rate of the FMA probe on this machine in GFLOP/s, or NaN: {@code -Dseer.bench.nominalPeak}. */
    private static final double NOMINAL_PEAK = Double.parseDouble(System.getProperty("seer.bench.nominalPeak", "NaN"));

    private CpuRatios() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        List<Integer> sizes = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            sizes.add(Integer.parseInt(args[i]));
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1024, 4096, 8192);
        }
        CpuEngine engine = new CpuEngine();
        System.out.println("engine: " + engine.description() + ", rounds " + rounds);
        System.out.println("date: " + java.time.Instant.now() + ", load average: "
                + java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.println();
        System.out.println("| N | call | density | median ms | best ms | dense-eq GFLOP/s (median / best) "
                + "| executed GFLOP/s (median) | median / dense median | per-round ratio to dense (median) "
                + "| sparse limit 1.15·ρ + gate |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (int n : sizes) {
            run(engine, n, rounds);
        }
    }

    private static void run(CpuEngine engine, int n, int rounds) {
        Inputs.Attention in = Inputs.Attention.of(n);
        AttentionShape shape = in.shape();
        int nb = shape.blocks(64);
        float[] q = in.q();
        float[] k = in.k();
        float[] v = in.v();
        float[] out = in.out();
        GateConfig config = Inputs.GATE;
        float[] wk = in.gateKWeights();
        float[] scores = new float[8 * nb * nb];
        float[] target = new float[8 * nb * nb];
        SelectionRule rule = new SelectionRule.Threshold(5e-4, true, true);
        BlockMask[] masks = new BlockMask[DENSITIES.length];
        for (int i = 0; i < masks.length; i++) {
            masks[i] = Inputs.randomCausalMask(1, 8, nb, DENSITIES[i], Inputs.SEED);
        }
        int gate = 1 + masks.length;           // call indices: dense, the sparse densities, gate, distillation, probe
        int distillation = gate + 1;
        int probe = distillation + 1;
        String[] names = new String[probe + 1];
        Runnable[] calls = new Runnable[names.length];
        names[0] = "dense";
        calls[0] = () -> engine.denseCausal(q, k, v, out, shape, shape.defaultScale());
        for (int i = 0; i < masks.length; i++) {
            BlockMask mask = masks[i];
            names[1 + i] = "sparse";
            calls[1 + i] = () -> engine.blockSparse(q, k, v, mask, out, shape, 64, shape.defaultScale());
        }
        names[gate] = "gate (pool + scores + select)";
        calls[gate] = () -> {
            engine.gateScores(q, k, null, wk, scores, shape, config, true);
            engine.select(scores, 1, 8, nb, rule);
        };
        names[distillation] = "distillation pass";
        calls[distillation] = () -> engine.attentionWithPooledTarget(q, k, v, out, target, shape, 64,
                shape.defaultScale());
        PeakFma peak = new PeakFma(CpuEngine.threads(), Math.min(2e10, Inputs.denseFlops(shape) / 4));
        names[probe] = "FMA probe (" + CpuEngine.threads() + " threads)";
        calls[probe] = peak::run;

        // warm-up: every call until the JIT has settled (at least 3 s in all, at least twice each)
        long warmEnd = System.nanoTime() + 3_000_000_000L;
        for (int w = 0; w < 2 || System.nanoTime() < warmEnd; w++) {
            for (Runnable c : calls) {
                c.run();
            }
        }
        double[][] ms = new double[calls.length][rounds];
        int[] order = new int[calls.length];              // the probe right before dense, then the rest
        order[0] = probe;
        for (int c = 0; c < probe; c++) {
            order[c + 1] = c;
        }
        double[] capacity = new double[rounds];           // Σ of the probe threads' own rates, per round
        double[] slowest = new double[rounds];
        double[] fastest = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            for (int c : order) {
                long t0 = System.nanoTime();
                calls[c].run();
                ms[c][r] = (System.nanoTime() - t0) / 1e6;
                if (c == probe) {
                    double[] own = peak.threadRates();
                    capacity[r] = peak.capacity();
                    slowest[r] = Arrays.stream(own).min().orElseThrow();
                    fastest[r] = Arrays.stream(own).max().orElseThrow();
                }
            }
        }
        peak.close();
        double flops = Inputs.denseFlops(shape);
        double denseMedian = median(ms[0]);
        double[] perRound = new double[calls.length];     // median over rounds of (call time ÷ that round's dense time)
        for (int c = 0; c < calls.length; c++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = ms[c][r] / ms[0][r];
            }
            perRound[c] = median(ratio);
        }
        for (int c = 0; c < calls.length; c++) {
            double med = median(ms[c]);
            double best = Arrays.stream(ms[c]).min().orElseThrow();
            boolean attention = c < gate || c == distillation;
            boolean sparse = c >= 1 && c < gate;
            double density = sparse ? masks[c - 1].density() : 1.0;
            String dens = sparse ? String.format(Locale.ROOT, "%.3f", density) : "";
            double callFlops = c == probe ? peak.flops() : flops;
            String gf = attention || c == probe
                    ? String.format(Locale.ROOT, "%.0f / %.0f", callFlops / med / 1e6, callFlops / best / 1e6) : "";
            String exec = attention ? String.format(Locale.ROOT, "%.0f", flops * density / med / 1e6) : "";
            // issue #3, line 3: sparse time ≤ 1.15 · ρ · dense time + gate time, here as ratios to dense per round
            double limit = 1.15 * density + perRound[gate];
            String check = sparse && density < 1 ? String.format(Locale.ROOT, "%.3f %s", limit,
                    perRound[c] <= limit ? "holds" : "exceeded") : "";
            System.out.printf(Locale.ROOT, "| %d | %s | %s | %.1f | %.1f | %s | %s | %.3f | %.3f | %s |%n", n, names[c],
                    dens, med, best, gf, exec, med / denseMedian, perRound[c], check);
        }
        double[] share = new double[rounds];
        double[] ofCapacity = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            share[r] = (flops / ms[0][r]) / (peak.flops() / ms[probe][r]);
            ofCapacity[r] = (flops / ms[0][r] / 1e6) / capacity[r];
        }
        double fraction = median(share);
        System.out.printf(Locale.ROOT,
                "| %d | FMA probe, each thread on its own: slowest / fastest / sum (medians) | | | | %.0f / %.0f / %.0f "
                        + "| | | | |%n", n, median(slowest), median(fastest), median(capacity));
        if (Double.isNaN(NOMINAL_PEAK)) {
            System.out.printf(Locale.ROOT, "| %d | dense ÷ FMA probe, per-round median | | %.3f | | | | | | |%n", n,
                    fraction);
        } else {
            System.out.printf(Locale.ROOT,
                    "| %d | dense ÷ FMA probe, per-round median (scaled to %.0f GFLOP/s) | | %.3f | | %.0f | | | | |%n",
                    n, NOMINAL_PEAK, fraction, fraction * NOMINAL_PEAK);
        }
        System.out.printf(Locale.ROOT,
                "| %d | dense ÷ sum of the probe threads' own rates, per-round median | | %.3f | | | | | | |%n",
                n, median(ofCapacity));
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
