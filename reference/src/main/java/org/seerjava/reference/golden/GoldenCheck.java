package org.seerjava.reference.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.Rope;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Floats;
import org.seerjava.reference.io.SafeTensors;

/**
 * Runs one golden case through an {@link Engine} and compares every tensor of the file with what the engine
 * computes from the case's inputs and weights. Tolerances (issue #2 acceptance 1, golden-data/README.md):
 * relative error ‖out − ref‖/‖ref‖ ≤ 1e-4 against the float32/float64 fields, masks identical, max abs ≤ 3e-2
 * against the official bf16 kernels (rows the official kernel left NaN must be zero here), KL loss within 1e-5
 * relative, weight gradients ≤ 1e-4 relative.
 */
public final class GoldenCheck {
    /** Relative tolerance against float32/float64-derived fields. */
    public static final double REL_TOL = 1e-4;
    /** Relative tolerance on the KL loss. */
    public static final double LOSS_TOL = 1e-5;
    /** Max abs tolerance against the official bf16 kernels. */
    public static final double BF16_ABS_TOL = 3e-2;

    /**
     * One comparison.
     *
     * @param caseName  golden file name
     * @param tensor    tensor compared
     * @param metric    "rel" (‖a−b‖/‖b‖), "maxabs", "mismatches" (mask entries that differ) or "rel-scalar"
     * @param error     the measured error
     * @param tolerance the bound it must not exceed
     * @param note      extra information, may be empty
     */
    public record Result(String caseName, String tensor, String metric, double error, double tolerance,
                         String note) {
        /** Whether the error is within tolerance (a NaN error fails). */
        public boolean passed() {
            return error <= tolerance;
        }
    }

    private GoldenCheck() {
    }

    /** Every {@code *.safetensors} golden file of a folder, sorted by name. */
    public static List<Path> goldenFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("golden folder " + dir + " does not exist or is not a folder");
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (files.isEmpty()) {
                throw new IllegalArgumentException("golden folder " + dir + " holds no .safetensors files");
            }
            return files;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list golden folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Runs every comparison of one golden file through {@code engine}. */
    public static List<Result> run(Path file, Engine engine) {
        try (SafeTensors st = SafeTensors.open(file)) {
            return run(st, engine);
        }
    }

    private static List<Result> run(SafeTensors st, Engine engine) {
        GoldenCase c = GoldenCase.of(st);
        AttentionShape s = c.shape();
        int B = s.batch();
        int N = s.seqLen();
        int Hq = s.qHeads();
        int Hkv = s.kvHeads();
        int D = s.headDim();
        int nb = c.blocks();
        GateConfig gate = c.gateConfig();
        List<Result> out = new ArrayList<>();
        String name = c.name();

        float[] q = st.floats("q");
        float[] k = st.floats("k");
        float[] v = st.floats("v");
        float[] wq = gate.hasQLinear(D) ? st.floats("weight.mask_linear_q.weight") : null;
        float[] wk = st.floats("weight.mask_linear_k.weight");

        // Model RoPE (the golden files carry q_rope/k_rope; we recompute them).
        Rope rope = new Rope(c.modelRope());
        double[] qRope64 = Floats.toDouble(q);
        double[] kRope64 = Floats.toDouble(k);
        rope.apply(qRope64, B, N, Hq, D, Rope.positions(N));
        rope.apply(kRope64, B, N, Hkv, D, Rope.positions(N));
        float[] qRope = Floats.toFloat(qRope64);
        float[] kRope = Floats.toFloat(kRope64);
        out.add(rel(name, "q_rope", qRope, st.floats("q_rope")));
        out.add(rel(name, "k_rope", kRope, st.floats("k_rope")));

        // Pooling.
        float[] qPooled = new float[B * nb * Hq * gate.type().qDup() * D];
        float[] kPooled = new float[B * nb * Hkv * gate.type().kDup() * D];
        engine.pool(q, qPooled, B, N, Hq, D, c.blockSize(), gate.type().qPools());
        engine.pool(k, kPooled, B, N, Hkv, D, c.blockSize(), gate.type().kPools());
        out.add(rel(name, "gate.q_pooled", qPooled, st.floats("gate.q_pooled")));
        out.add(rel(name, "gate.k_pooled", kPooled, st.floats("gate.k_pooled")));

        // Gate scores and masks.
        float[] scores = new float[B * Hq * nb * nb];
        float[] logits = new float[B * Hq * nb * nb];
        engine.gateScores(q, k, wq, wk, scores, s, gate, true);
        engine.gateScores(q, k, wq, wk, logits, s, gate, false);
        out.add(rel(name, "gate.scores", scores, st.floats("gate.scores")));
        BlockMask threshold = engine.select(scores, B, Hq, nb,
                new SelectionRule.Threshold(c.threshold(), c.lastBlockDense(), false));
        BlockMask topK = engine.select(logits, B, Hq, nb,
                new SelectionRule.TopK(c.nzRatio(), c.lastBlockDense(), false));
        out.add(mask(name, "mask.threshold", threshold, st.bytes("mask.threshold")));
        out.add(mask(name, "mask.nz_ratio", topK, st.bytes("mask.nz_ratio")));

        // Attention.
        double scale = c.softmaxScale();
        float[] dense = new float[s.qElements()];
        float[] target = new float[B * Hq * nb * nb];
        engine.attentionWithPooledTarget(qRope, kRope, v, dense, target, s, c.blockSize(), scale);
        out.add(rel(name, "attn.dense", dense, st.floats("attn.dense")));
        out.add(rel(name, "gt.pooled_attention", target, st.floats("gt.pooled_attention")));
        float[] denseOnly = new float[s.qElements()];
        engine.denseCausal(qRope, kRope, v, denseOnly, s, scale);
        out.add(rel(name, "attn.dense (denseCausal)", denseOnly, st.floats("attn.dense")));
        float[] sparse = new float[s.qElements()];
        engine.blockSparse(qRope, kRope, v, threshold, sparse, s, c.blockSize(), scale);
        out.add(rel(name, "attn.sparse_threshold", sparse, st.floats("attn.sparse_threshold")));

        // Loss and gradients.
        float[] dLogits = new float[logits.length];
        double loss = engine.distillationLoss(logits, target, dLogits, B, Hq, nb);
        double goldenLoss = st.floats("loss.kl")[0];
        out.add(new Result(name, "loss.kl", "rel-scalar", Math.abs(loss - goldenLoss) / Math.abs(goldenLoss),
                LOSS_TOL, String.format("ours %.9g, golden %.9g", loss, goldenLoss)));
        AttnGate reference = new AttnGate(s, gate, wq == null ? null : Floats.toDouble(wq), Floats.toDouble(wk));
        AttnGate.Gradients grads = reference.backward(reference.forward(Floats.toDouble(q), Floats.toDouble(k)),
                Floats.toDouble(dLogits));
        out.add(rel(name, "grad.mask_linear_k.weight", Floats.toFloat(grads.wk()),
                st.floats("grad.mask_linear_k.weight")));
        if (grads.wq() != null) {
            out.add(rel(name, "grad.mask_linear_q.weight", Floats.toFloat(grads.wq()),
                    st.floats("grad.mask_linear_q.weight")));
        }

        // Against the official bf16 kernels.
        if (st.contains("official.dense_bf16")) {
            out.add(maxAbs(name, "official.dense_bf16", dense, st.floats("official.dense_bf16")));
        }
        if (st.contains("official.gt_pooled_bf16")) {
            out.add(maxAbs(name, "official.gt_pooled_bf16", target, st.floats("official.gt_pooled_bf16")));
        }
        if (st.contains("official.sparse_threshold_bf16")) {
            out.add(officialSparse(name, sparse, st.floats("official.sparse_threshold_bf16"), D));
        }
        return out;
    }

    /**
     * The varlen operations of {@code engine} on a golden file (docs/SPEC.md §11): a varlen batch of a prefix of P
     * tokens of sequence 0 (P = (⌊N / bs⌋ − 1)·bs + 7: full blocks and a partial one), then the file's B sequences, so
     * that they start at a packed offset that is not a multiple of the block. The golden sequences must give the file's tensors
     * (pooled q and k, gate scores, both masks, dense attention with the pooled target, dense and block-sparse
     * attention); the prefix must give the file's first P attention rows of sequence 0 and its rows of the prefix's
     * full blocks in the gate scores and the pooled target (causality: nothing there depends on later tokens).
     */
    public static List<Result> runVarlen(Path file, Engine engine) {
        try (SafeTensors st = SafeTensors.open(file)) {
            return runVarlen(st, engine);
        }
    }

    private static List<Result> runVarlen(SafeTensors st, Engine engine) {
        GoldenCase c = GoldenCase.of(st);
        AttentionShape s = c.shape();
        int B = s.batch();
        int N = s.seqLen();
        int Hq = s.qHeads();
        int Hkv = s.kvHeads();
        int D = s.headDim();
        int bs = c.blockSize();
        int nb = c.blocks();
        int prefix = (N / bs - 1) * bs + 7;
        if (N / bs < 2 || bs <= 7) {
            throw new IllegalArgumentException("golden case " + c.name() + " (N = " + N + ", block " + bs
                    + ") is too short for a prefix of whole blocks and a partial one");
        }
        int[] lengths = new int[B + 1];
        Arrays.fill(lengths, N);
        lengths[0] = prefix;
        VarlenShape vs = new VarlenShape(VarlenBatch.ofLengths(lengths), Hq, Hkv, D);
        VarlenBatch batch = vs.batch();
        GateConfig gate = c.gateConfig();
        String name = c.name() + " varlen";
        List<Result> out = new ArrayList<>();

        float[] q = withPrefix(st.floats("q"), prefix, Hq * D);
        float[] k = withPrefix(st.floats("k"), prefix, Hkv * D);
        float[] v = withPrefix(st.floats("v"), prefix, Hkv * D);
        float[] qRope = withPrefix(st.floats("q_rope"), prefix, Hq * D);
        float[] kRope = withPrefix(st.floats("k_rope"), prefix, Hkv * D);
        float[] wq = gate.hasQLinear(D) ? st.floats("weight.mask_linear_q.weight") : null;
        float[] wk = st.floats("weight.mask_linear_k.weight");
        int nbPrefix = batch.blocks(0, bs);
        int[] cuBlocks = batch.cuBlocks(bs);
        int[] cuMaps = batch.cuMaps(Hq, bs);

        // Pooling: the golden sequences' block rows follow the prefix's.
        int qFeatures = Hq * gate.type().qDup() * D;
        int kFeatures = Hkv * gate.type().kDup() * D;
        float[] qPooled = new float[cuBlocks[B + 1] * qFeatures];
        float[] kPooled = new float[cuBlocks[B + 1] * kFeatures];
        engine.poolVarlen(q, qPooled, batch, Hq, D, bs, gate.type().qPools());
        engine.poolVarlen(k, kPooled, batch, Hkv, D, bs, gate.type().kPools());
        out.add(rel(name, "gate.q_pooled", tail(qPooled, nbPrefix * qFeatures), st.floats("gate.q_pooled")));
        out.add(rel(name, "gate.k_pooled", tail(kPooled, nbPrefix * kFeatures), st.floats("gate.k_pooled")));

        // Gate scores and masks.
        float[] scores = new float[cuMaps[B + 1]];
        float[] logits = new float[cuMaps[B + 1]];
        engine.gateScoresVarlen(q, k, wq, wk, scores, vs, gate, true);
        engine.gateScoresVarlen(q, k, wq, wk, logits, vs, gate, false);
        float[] goldenScores = st.floats("gate.scores");
        out.add(rel(name, "gate.scores", tail(scores, cuMaps[1]), goldenScores));
        out.add(rel(name, "gate.scores (prefix rows)", fullBlockRows(scores, Hq, nbPrefix, prefix / bs),
                goldenRows(goldenScores, Hq, nb, nbPrefix, prefix / bs)));
        List<BlockMask> threshold = engine.selectVarlen(scores, batch, Hq, bs,
                new SelectionRule.Threshold(c.threshold(), c.lastBlockDense(), false));
        List<BlockMask> topK = engine.selectVarlen(logits, batch, Hq, bs,
                new SelectionRule.TopK(c.nzRatio(), c.lastBlockDense(), false));
        out.add(masks(name, "mask.threshold", threshold.subList(1, B + 1), st.bytes("mask.threshold")));
        out.add(masks(name, "mask.nz_ratio", topK.subList(1, B + 1), st.bytes("mask.nz_ratio")));

        // Attention.
        double scale = c.softmaxScale();
        float[] dense = new float[vs.qElements()];
        float[] target = new float[cuMaps[B + 1]];
        engine.attentionWithPooledTargetVarlen(qRope, kRope, v, dense, target, vs, bs, scale);
        float[] goldenDense = st.floats("attn.dense");
        out.add(rel(name, "attn.dense", tail(dense, prefix * Hq * D), goldenDense));
        out.add(rel(name, "attn.dense (prefix)", Arrays.copyOf(dense, prefix * Hq * D),
                Arrays.copyOf(goldenDense, prefix * Hq * D)));
        float[] goldenTarget = st.floats("gt.pooled_attention");
        out.add(rel(name, "gt.pooled_attention", tail(target, cuMaps[1]), goldenTarget));
        out.add(rel(name, "gt.pooled_attention (prefix rows)", fullBlockRows(target, Hq, nbPrefix, prefix / bs),
                goldenRows(goldenTarget, Hq, nb, nbPrefix, prefix / bs)));
        float[] denseOnly = new float[vs.qElements()];
        engine.denseCausalVarlen(qRope, kRope, v, denseOnly, vs, scale);
        out.add(rel(name, "attn.dense (denseCausal)", tail(denseOnly, prefix * Hq * D), goldenDense));
        float[] sparse = new float[vs.qElements()];
        engine.blockSparseVarlen(qRope, kRope, v, threshold, sparse, vs, bs, scale);
        out.add(rel(name, "attn.sparse_threshold", tail(sparse, prefix * Hq * D), st.floats("attn.sparse_threshold")));
        return out;
    }

    /** The first {@code prefix} rows of sequence 0, then every sequence: {@code [prefix + B·N, width]}. */
    private static float[] withPrefix(float[] x, int prefix, int width) {
        float[] packed = new float[prefix * width + x.length];
        System.arraycopy(x, 0, packed, 0, prefix * width);
        System.arraycopy(x, 0, packed, prefix * width, x.length);
        return packed;
    }

    private static float[] tail(float[] x, int from) {
        return Arrays.copyOfRange(x, from, x.length);
    }

    /** Rows [0, rows) of each head's {@code [nb, nb]} map at the start of {@code maps}. */
    private static float[] fullBlockRows(float[] maps, int heads, int nb, int rows) {
        float[] out = new float[heads * rows * nb];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(maps, h * nb * nb, out, h * rows * nb, rows * nb);
        }
        return out;
    }

    /** Rows [0, rows) and columns [0, cols) of sequence 0's {@code [heads, nb, nb]} golden maps. */
    private static float[] goldenRows(float[] maps, int heads, int nb, int cols, int rows) {
        float[] out = new float[heads * rows * cols];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < rows; i++) {
                System.arraycopy(maps, (h * nb + i) * nb, out, (h * rows + i) * cols, cols);
            }
        }
        return out;
    }

    private static Result masks(String c, String tensor, List<BlockMask> ours, byte[] golden) {
        int mismatches = 0;
        int at = 0;
        for (BlockMask m : ours) {
            byte[] bits = m.toBytes();
            for (int i = 0; i < bits.length; i++) {
                if (at + i >= golden.length || bits[i] != golden[at + i]) {
                    mismatches++;
                }
            }
            at += bits.length;
        }
        mismatches += Math.abs(golden.length - at);
        return new Result(c, tensor, "mismatches", mismatches, 0, "");
    }

    /** ‖ours − golden‖ / ‖golden‖. */
    public static double relativeError(float[] ours, float[] golden) {
        if (ours.length != golden.length) {
            throw new IllegalArgumentException("length " + ours.length + " vs golden " + golden.length);
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < ours.length; i++) {
            double d = (double) ours[i] - golden[i];
            diff += d * d;
            norm += (double) golden[i] * golden[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    private static Result rel(String c, String tensor, float[] ours, float[] golden) {
        return new Result(c, tensor, "rel", relativeError(ours, golden), REL_TOL, "");
    }

    private static Result mask(String c, String tensor, BlockMask ours, byte[] golden) {
        byte[] bits = ours.toBytes();
        int mismatches = 0;
        for (int i = 0; i < bits.length; i++) {
            if (bits[i] != golden[i]) {
                mismatches++;
            }
        }
        return new Result(c, tensor, "mismatches", mismatches, 0,
                String.format("density %.4f", ours.density()));
    }

    private static Result maxAbs(String c, String tensor, float[] ours, float[] golden) {
        double max = 0;
        for (int i = 0; i < ours.length; i++) {
            max = Math.max(max, Math.abs((double) ours[i] - golden[i]));
        }
        return new Result(c, tensor, "maxabs", max, BF16_ABS_TOL, "");
    }

    /** Max abs over rows the official kernel wrote; its NaN rows must be zero in ours. */
    private static Result officialSparse(String c, float[] ours, float[] official, int headDim) {
        double max = 0;
        int nanRows = 0;
        for (int row = 0; row < ours.length / headDim; row++) {
            boolean nan = false;
            for (int d = 0; d < headDim; d++) {
                nan |= !Float.isFinite(official[row * headDim + d]);
            }
            if (nan) {
                nanRows++;
                for (int d = 0; d < headDim; d++) {
                    max = Math.max(max, Math.abs(ours[row * headDim + d]));   // must be exactly 0
                }
                continue;
            }
            for (int d = 0; d < headDim; d++) {
                max = Math.max(max, Math.abs((double) ours[row * headDim + d] - official[row * headDim + d]));
            }
        }
        return new Result(c, "official.sparse_threshold_bf16", "maxabs", max, BF16_ABS_TOL,
                nanRows == 0 ? "" : nanRows + " official NaN rows, zero in ours");
    }
}
