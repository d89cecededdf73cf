package org.seerjava.runtime.cuda;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.seerjava.gate.DecodeGateSet;
import org.seerjava.gate.DecodeGateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.llm.DecodeAttentionProbe;
import org.seerjava.gpu.llm.DecoderShape;
import org.seerjava.model.LlamaConfig;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelShape;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Sampler;
import org.seerjava.runtime.Session;

/**
 * The speed of SeerAttention-R decoding on the GPU (issue #20, line 5), at the Llama 3.1 8B shape with random weights
 * and untrained decode gates (only the times are meaningful; the gates' selections are arbitrary, of the budget's
 * size):
 * <ol>
 *   <li>decode attention per token (32 layer-steps, attention alone, {@link DecodeAttentionProbe}) at each context,
 *       dense and at each token budget, with the speed-up over dense;</li>
 *   <li>whole-model decode tokens/s (greedy on the device, a CUDA graph per step) at each context, dense and with
 *       the largest budget, after a dense prefill of random tokens.</li>
 * </ol>
 * Goals: sparse decode attention at the largest context with a 4,096-token budget ≥ 10× faster than dense, and
 * sparse whole-model tokens/s at the largest context within 1.3× of dense tokens/s at the smallest. Usage:
 * {@code CudaDecodeBench [attention contexts] [budgets] [model contexts] [decode tokens]}, each a comma-separated
 * list (defaults {@code 32768,131072 2048,4096 1024,131072 64}); exit status 1 when a goal is missed.
 */
public final class CudaDecodeBench {
    private CudaDecodeBench() {
    }

    /** One measured line. */
    public record Row(String what, int context, String attention, double value, String unit) {
    }

    static int[] ints(String[] args, int i, String fallback) {
        return Arrays.stream((args.length > i ? args[i] : fallback).split(",")).map(String::trim)
                .mapToInt(Integer::parseInt).toArray();
    }

    public static void main(String[] args) {
        int[] attentionContexts = ints(args, 0, "32768,131072");
        int[] budgets = ints(args, 1, "2048,4096");
        int[] modelContexts = ints(args, 2, "1024,131072");
        int decodeTokens = ints(args, 3, "64")[0];
        PrintWriter out = new PrintWriter(System.out, true);
        List<Row> rows = run(attentionContexts, budgets, modelContexts, decodeTokens, out);
        boolean pass = goals(rows, attentionContexts, budgets, modelContexts, out);
        System.exit(pass ? 0 : 1);
    }

    /** Runs both parts, printing as it goes. */
    public static List<Row> run(int[] attentionContexts, int[] budgets, int[] modelContexts, int decodeTokens,
                                PrintWriter out) {
        ModelShape shape = ModelShape.named("llama-3.1-8b");
        LlamaConfig c = shape.config();
        DecoderShape ds = DecoderShape.llama31_8b();
        List<Row> rows = new ArrayList<>();
        out.printf(Locale.ROOT, "CudaDecodeBench, Llama 3.1 8B shape (32 layers, heads 32/8, head_dim 128), random "
                + "weights and untrained decode gates (block 64): %s, %s%n", CudaContext.get(), Instant.now());
        out.println("1. decode attention of one token, 32 layer-steps (attention alone; CUDA graph, median of 10):");
        out.println("   context  attention            ms/token   µs/layer   speed-up   density");
        for (int ctx : attentionContexts) {
            DecodeAttentionProbe.Timing dense = DecodeAttentionProbe.time(ds, ctx, null, ds.layers(), 8);
            rows.add(new Row("attention", ctx, "dense", dense.millis(), "ms"));
            out.printf(Locale.ROOT, "   %7d  %-18s %10.3f %10.1f %9.2fx %9.4f%n", ctx, "dense", dense.millis(),
                    1e3 * dense.millis() / ds.layers(), 1.0, dense.density());
            for (int b : budgets) {
                DecodeAttentionProbe.Timing t = DecodeAttentionProbe.time(ds, ctx,
                        new DecodeSelectionRule.TokenBudget(b), ds.layers(), 8);
                rows.add(new Row("attention", ctx, "budget " + b, t.millis(), "ms"));
                out.printf(Locale.ROOT, "   %7d  %-18s %10.3f %10.1f %9.2fx %9.4f%n", ctx, "budget " + b, t.millis(),
                        1e3 * t.millis() / ds.layers(), dense.millis() / t.millis(), t.density());
            }
        }
        int budget = Arrays.stream(budgets).max().orElseThrow();
        out.printf(Locale.ROOT, "2. whole-model decode, greedy on the device, %d tokens after 8 warm-up steps, after a "
                + "dense prefill of random tokens:%n", decodeTokens);
        out.println("   context  decoding             tokens/s   ms/token   density");
        DecodeGateSet gates = DecodeGateSet.init(DecodeGateSpec.of(ModelDims.of(c), 64, false), 1);
        try (ModelRuntime rt = ModelRuntime.open(new ModelSource.RandomWeights(shape, 0),
                new RuntimeOptions("cuda", 0, true))) {
            SplittableRandom random = new SplittableRandom(0);
            for (int ctx : modelContexts) {
                int[] prompt = CudaModelBench.tokens(random, ctx, c.vocabSize());
                for (DecodeAttention d : List.of(DecodeAttention.dense(), DecodeAttention.tokenBudget(gates, budget))) {
                    try (Session s = rt.newSession(ctx + decodeTokens + 16, PrefillAttention.dense(), d)) {
                        Sampler greedy = Sampler.greedy();
                        int next = s.prefill(prompt, greedy);
                        for (int k = 0; k < 8; k++) {
                            next = s.decode(next, greedy);
                        }
                        long a = System.nanoTime();
                        for (int k = 0; k < decodeTokens; k++) {
                            next = s.decode(next, greedy);
                        }
                        double sec = (System.nanoTime() - a) / 1e9;
                        double tps = decodeTokens / sec;
                        String name = d instanceof DecodeAttention.Sparse ? "budget " + budget : "dense";
                        rows.add(new Row("model", ctx, name, tps, "tokens/s"));
                        out.printf(Locale.ROOT, "   %7d  %-18s %10.1f %10.3f %9.4f%n", ctx, name, tps, 1e3 / tps,
                                s.decodeDensity());
                    }
                }
            }
        }
        return rows;
    }

    private static double value(List<Row> rows, String what, int context, String attention) {
        return rows.stream().filter(r -> r.what().equals(what) && r.context() == context
                && r.attention().equals(attention)).mapToDouble(Row::value).findFirst().orElse(Double.NaN);
    }

    /** Prints the two goals (met or MISSED); true when both are met (or cannot be evaluated from these rows). */
    static boolean goals(List<Row> rows, int[] attentionContexts, int[] budgets, int[] modelContexts,
                         PrintWriter out) {
        int big = Arrays.stream(attentionContexts).max().orElseThrow();
        boolean pass = true;
        if (Arrays.stream(budgets).anyMatch(b -> b == 4096)) {
            double speedUp = value(rows, "attention", big, "dense") / value(rows, "attention", big, "budget 4096");
            boolean met = speedUp >= 10;
            pass &= met;
            out.printf(Locale.ROOT, "goal: decode attention at %d, budget 4096 vs dense: %.2fx (goal ≥ 10x): %s%n", big,
                    speedUp, met ? "met" : "MISSED");
        }
        int lo = Arrays.stream(modelContexts).min().orElseThrow();
        int hi = Arrays.stream(modelContexts).max().orElseThrow();
        int budget = Arrays.stream(budgets).max().orElseThrow();
        double ratio = value(rows, "model", lo, "dense") / value(rows, "model", hi, "budget " + budget);
        boolean met = ratio <= 1.3;
        pass &= met;
        out.printf(Locale.ROOT, "goal: tokens/s at %d dense ÷ tokens/s at %d with budget %d: %.2f (goal ≤ 1.3): %s%n",
                lo, hi, budget, ratio, met ? "met" : "MISSED");
        out.printf(Locale.ROOT, "      (dense decoding at %d: %.2f× slower than at %d)%n", hi,
                value(rows, "model", lo, "dense") / value(rows, "model", hi, "dense"), lo);
        return pass;
    }
}
