package org.seerjava.gate;

import java.util.Arrays;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.DecodeOps;
import org.seerjava.reference.engine.Engine;

/**
 * Attention of a window whose first {@code prompt} tokens are prefilled densely and whose every later token is
 * decoded with sparse attention (docs/SPEC.md §7.5), computed teacher-forced in one forward pass: row t ≥ prompt
 * attends, as the decode step that appends token t does, to the blocks of keys {@code 0 … t} its selection keeps
 * plus block 0 ({@link DecodeOps#sparseDecodeRows}). Because a row's keys and values at every layer come from rows
 * computed the same way, the logits equal those of prefilling the prompt and decoding the rest one token at a time
 * (within float32 rounding; the runtime's {@code SparseDecodingTest} compares them).
 *
 * <p>Selections: {@link #gate} walks the rows in order through a K-compression cache filled with the prompt's keys
 * and one push per row, scoring each row's gate query against it (exactly the decode loop's gate work);
 * {@link #sinkRecent} keeps the {@code budget / B} most recent blocks (the current one included), so that with the
 * forced block 0 it is the fixed sink-plus-recent pattern of the same budget; {@link #oracle} applies the rule to each
 * row's decode distillation target (§7.7) instead of gate scores: the blocks a decode gate that had learnt its target
 * exactly would keep.
 */
public final class SparseDecodePolicy implements AttentionPolicy {
    private final Engine engine;
    private final DecodeOps ops;
    private final DecodeGateSet gates;
    private final DecodeSelectionRule rule;
    private final int blockSize;
    private final int prompt;
    private final long[] attended;
    private final long[] cached;
    private final boolean oracle;
    private final String name;

    private SparseDecodePolicy(Engine engine, DecodeGateSet gates, DecodeSelectionRule rule, int blockSize,
                               int prompt, int layers, boolean oracle, String name) {
        if (engine == null || rule == null) {
            throw new IllegalArgumentException("sparse decoding needs an engine and a selection rule");
        }
        if (prompt < 1) {
            throw new IllegalArgumentException("the prompt must hold at least one token, got " + prompt);
        }
        this.engine = engine;
        this.ops = DecodeOps.of(engine);
        this.gates = gates;
        this.rule = rule;
        this.blockSize = blockSize;
        this.prompt = prompt;
        this.attended = new long[layers];
        this.cached = new long[layers];
        this.oracle = oracle;
        this.name = name;
    }

    /**
     * Rows from {@code prompt} on select blocks with the decode gates and the rule.
     *
     * @param engine an engine with {@link DecodeOps}
     * @param gates  decode gates of every layer
     * @param rule   token budget or threshold
     * @param prompt tokens prefilled densely, ≥ 1
     * @return the policy
     */
    public static SparseDecodePolicy gate(Engine engine, DecodeGateSet gates, DecodeSelectionRule rule, int prompt) {
        if (gates == null) {
            throw new IllegalArgumentException("decode gates must not be null");
        }
        return new SparseDecodePolicy(engine, gates, rule, gates.spec().blockSize(), prompt, gates.size(), false,
                "gate " + rule);
    }

    /**
     * Rows from {@code prompt} keep the {@code tokenBudget / blockSize} most recent blocks, and block 0.
     *
     * @return the policy
     */
    public static SparseDecodePolicy sinkRecent(Engine engine, int tokenBudget, int blockSize, int prompt,
                                                int layers) {
        if (blockSize < 1 || layers < 1) {
            throw new IllegalArgumentException("block size and layers must be ≥ 1, got " + blockSize + ", " + layers);
        }
        return new SparseDecodePolicy(engine, null, new DecodeSelectionRule.TokenBudget(tokenBudget), blockSize,
                prompt, layers, false, "sink-recent " + tokenBudget);
    }

    /**
     * Rows from {@code prompt} select with the rule on their decode target {@code GT[kh, t, :]} (docs/SPEC.md §7.7:
     * per KV head the largest attention probability of the group's heads in each strictly earlier block,
     * normalised), computed from the layer's own dense attention: what a perfectly distilled decode gate would keep.
     *
     * @param engine    an engine with {@link DecodeOps}
     * @param rule      token budget or threshold (on the normalised target)
     * @param blockSize B
     * @param prompt    tokens prefilled densely, ≥ 1
     * @param layers    the model's layers
     * @return the policy
     */
    public static SparseDecodePolicy oracle(Engine engine, DecodeSelectionRule rule, int blockSize, int prompt,
                                            int layers) {
        if (blockSize < 1 || layers < 1) {
            throw new IllegalArgumentException("block size and layers must be ≥ 1, got " + blockSize + ", " + layers);
        }
        return new SparseDecodePolicy(engine, null, rule, blockSize, prompt, layers, true, "oracle " + rule);
    }

    @Override
    public void attend(int layer, LayerAttention in, float[] out) {
        AttentionShape shape = in.shape();
        if (shape.batch() != 1) {
            throw new IllegalArgumentException("sparse decoding of a window expects batch 1, got " + shape.batch());
        }
        int n = shape.seqLen();
        if (n <= prompt) {
            engine.denseCausal(in.q(), in.k(), in.v(), out, shape, in.scale());
            return;
        }
        int hq = shape.qHeads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        AttentionShape head = new AttentionShape(1, prompt, hq, hkv, d);
        float[] prefix = new float[head.qElements()];
        engine.denseCausal(Arrays.copyOf(in.q(), head.qElements()), Arrays.copyOf(in.k(), head.kvElements()),
                Arrays.copyOf(in.v(), head.kvElements()), prefix, head, in.scale());
        System.arraycopy(prefix, 0, out, 0, prefix.length);

        int nb = shape.blocks(blockSize);
        boolean[] mask = new boolean[(n - prompt) * hkv * nb];
        if (gates != null) {
            gateSelections(layer, in, mask, n, hq, hkv, d, nb);
        } else if (oracle) {
            oracleSelections(in, mask, n, hkv, nb);
        } else {
            int keep = ((DecodeSelectionRule.TokenBudget) rule).blockBudget(blockSize);
            for (int t = prompt; t < n; t++) {
                int current = t / blockSize;
                for (int kh = 0; kh < hkv; kh++) {
                    int row = ((t - prompt) * hkv + kh) * nb;
                    for (int j = Math.max(0, current - keep + 1); j <= current; j++) {
                        mask[row + j] = true;
                    }
                    mask[row + current] = true;
                }
            }
        }
        for (int t = prompt; t < n; t++) {
            int blocks = t / blockSize + 1;
            for (int kh = 0; kh < hkv; kh++) {
                int row = ((t - prompt) * hkv + kh) * nb;
                for (int j = 0; j < blocks; j++) {
                    attended[layer] += mask[row + j] || j == 0 ? 1 : 0;
                }
            }
            cached[layer] += (long) hkv * blocks;
        }
        ops.sparseDecodeRows(in.q(), in.k(), in.v(), mask, prompt, out, shape, blockSize, in.scale());
    }

    /** The decode loop's gate work, row by row: push the row's key, score its gate query, select. */
    private void gateSelections(int layer, LayerAttention in, boolean[] mask, int n, int hq, int hkv, int d, int nb) {
        DecodeGateWeights w = gates.weights(layer);
        CompressedKeyCache cache = ops.kCompressionCache(w, 1, n);
        cache.prefill(Arrays.copyOf(in.kPre(), prompt * hkv * d), prompt);
        float[] qGate = new float[hkv * w.hiddenSize()];
        float[] scores = new float[hkv * nb];
        for (int t = prompt; t < n; t++) {
            cache.push(Arrays.copyOfRange(in.kPre(), t * hkv * d, (t + 1) * hkv * d));
            ops.decodeGateQuery(w, Arrays.copyOfRange(in.qPre(), t * hq * d, (t + 1) * hq * d), qGate, 1, t);
            int blocks = cache.blocks();
            float[] s = blocks == nb ? scores : new float[hkv * blocks];
            cache.scores(qGate, null, s);
            boolean[] sel = ops.decodeSelect(s, 1, hkv, blocks, blockSize, null, rule);
            for (int kh = 0; kh < hkv; kh++) {
                System.arraycopy(sel, kh * blocks, mask, ((t - prompt) * hkv + kh) * nb, blocks);
            }
        }
    }

    /** The rule applied to each row's decode target, computed with the layer's dense attention. */
    private void oracleSelections(LayerAttention in, boolean[] mask, int n, int hkv, int nb) {
        AttentionShape shape = in.shape();
        float[] dense = new float[shape.qElements()];
        float[] target = new float[hkv * n * nb];
        ops.attentionWithDecodeTarget(in.q(), in.k(), in.v(), dense, target, shape, blockSize, in.scale());
        for (int t = prompt; t < n; t++) {
            int blocks = t / blockSize + 1;
            float[] s = new float[hkv * blocks];
            for (int kh = 0; kh < hkv; kh++) {
                System.arraycopy(target, (kh * n + t) * nb, s, kh * blocks, blocks);
            }
            boolean[] sel = ops.decodeSelect(s, 1, hkv, blocks, blockSize, null, rule);
            for (int kh = 0; kh < hkv; kh++) {
                System.arraycopy(sel, kh * blocks, mask, ((t - prompt) * hkv + kh) * nb, blocks);
            }
        }
    }

    /** Blocks attended ÷ blocks cached over the decoded rows of every window so far (1 before any). */
    public double density() {
        long a = 0;
        long c = 0;
        for (int l = 0; l < attended.length; l++) {
            a += attended[l];
            c += cached[l];
        }
        return c == 0 ? 1.0 : (double) a / c;
    }

    /** The same per layer. */
    public double[] densityPerLayer() {
        double[] out = new double[attended.length];
        for (int l = 0; l < out.length; l++) {
            out[l] = cached[l] == 0 ? 1.0 : (double) attended[l] / cached[l];
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " after " + prompt + " (" + engine.name() + ")";
    }
}
