package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.DecodeGate;
import org.seerjava.reference.decode.DecodeSelection;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.decode.KCompressionCache;
import org.seerjava.reference.decode.SparseDecodeAttention;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/**
 * {@link SparseDecodePolicy#gate} against the decode loop written out with the float64 reference: the prompt's
 * rows are dense causal attention over the prompt; each later row t pushes its key into a
 * {@link KCompressionCache} filled with the prompt's keys, scores its gate query ({@link DecodeGate#query}), selects
 * with {@link DecodeSelection} and attends with {@link SparseDecodeAttention} to keys 0 … t. The realised density is
 * the blocks attended (the selection plus block 0) over the blocks cached, counted here from the reference's
 * selections, per layer and in all. Also: windows no longer than the prompt are dense, the sink-plus-recent
 * density counted by hand, and the factories' checks.
 */
class SparseDecodePolicyTest {
    static final int N = 50;
    static final int PROMPT = 17;
    static final int B = 4;
    static final AttentionShape SHAPE = new AttentionShape(1, N, 4, 2, 8);
    static final double SCALE = 0.35;

    static float[] random(Random r, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (scale * r.nextGaussian());
        }
        return x;
    }

    static double[] d(float[] x) {
        return DistillationTrainer.toDouble(x);
    }

    static double[] d(double[] floats32) {
        double[] y = new double[floats32.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) floats32[i];
        }
        return y;
    }

    static LayerAttention layer(Random r) {
        return new LayerAttention(SHAPE, random(r, SHAPE.qElements(), 1.5), random(r, SHAPE.kvElements(), 1.5),
                random(r, SHAPE.qElements(), 1), random(r, SHAPE.kvElements(), 1), random(r, SHAPE.kvElements(), 1),
                SCALE);
    }

    /** Gates of two layers with weights away from the initial ones (norm weights not all 1). */
    static DecodeGateSet gates() {
        ModelDims dims = new ModelDims(2, 4, 2, 8, RopeConfig.of(10000, 8));
        DecodeGateSet g = DecodeGateSet.init(DecodeGateSpec.of(dims, B, true), 7);
        for (DecodeGateParameters p : g.layers()) {
            for (double[] a : p.arrays()) {
                for (int i = 0; i < a.length; i++) {
                    a[i] += 0.5 * Math.sin(3 * i + a.length);
                }
            }
        }
        return g;
    }

    /**
     * The reference decode loop of one layer: fills {@code out} and returns the blocks attended per layer (the
     * selection plus block 0) and cached.
     */
    static long[] referenceLayer(DecodeGateSet gates, int l, LayerAttention in, DecodeSelectionRule rule,
                                 double[] out) {
        DecodeGateParameters p = gates.layer(l);
        DecodeGate gate = new DecodeGate(4, 2, 8, gates.config(), d(p.wq()), d(p.wk()), d(p.qNorm()), d(p.kNorm()));
        AttentionShape head = new AttentionShape(1, PROMPT, 4, 2, 8);
        double[] prefix = new double[head.qElements()];
        DenseAttention.causal(Arrays.copyOf(d(in.q()), head.qElements()), Arrays.copyOf(d(in.k()),
                head.kvElements()), Arrays.copyOf(d(in.v()), head.kvElements()), prefix, head, SCALE);
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        KCompressionCache cache = new KCompressionCache(gate, 1);
        cache.prefill(Arrays.copyOf(d(in.kPre()), PROMPT * 16), PROMPT);
        long attended = 0;
        long cached = 0;
        for (int t = PROMPT; t < N; t++) {
            cache.push(Arrays.copyOfRange(d(in.kPre()), t * 16, (t + 1) * 16));
            double[] qGate = gate.query(Arrays.copyOfRange(d(in.qPre()), t * 32, (t + 1) * 32), 1, t);
            int blocks = t / B + 1;
            assertThat(cache.blocks()).isEqualTo(blocks);
            boolean[] mask = DecodeSelection.select(cache.scores(qGate, null), 1, 2, blocks, B, null, rule);
            for (int kh = 0; kh < 2; kh++) {
                for (int j = 0; j < blocks; j++) {
                    attended += mask[kh * blocks + j] || j == 0 ? 1 : 0;
                }
            }
            cached += 2L * blocks;
            double[] row = new double[32];
            SparseDecodeAttention.forward(Arrays.copyOfRange(d(in.q()), t * 32, (t + 1) * 32),
                    Arrays.copyOf(d(in.k()), (t + 1) * 16), Arrays.copyOf(d(in.v()), (t + 1) * 16), new int[] {t + 1},
                    mask, row, new AttentionShape(1, t + 1, 4, 2, 8), B, SCALE);
            System.arraycopy(row, 0, out, t * 32, 32);
        }
        return new long[] {attended, cached};
    }

    static void assertRows(float[] got, double[] want, int from, int to) {
        for (int i = from * 32; i < to * 32; i++) {
            assertThat((double) got[i]).as("row %d element %d", i / 32, i % 32).isCloseTo(want[i], within(2e-5));
        }
    }

    @Test
    void gateRowsAreTheDecodeLoopOfTheReference() {
        DecodeGateSet gates = gates();
        DecodeSelectionRule rule = new DecodeSelectionRule.TokenBudget(12);    // 3 blocks of 4
        SparseDecodePolicy policy = SparseDecodePolicy.gate(Engines.byName("cpu"), gates, rule, PROMPT);
        assertThat(policy.density()).isEqualTo(1.0);                          // nothing decoded yet
        assertThat(policy.densityPerLayer()).containsExactly(1.0, 1.0);
        Random r = new Random(12);
        long[][] counts = new long[2][];
        for (int l = 0; l < 2; l++) {
            LayerAttention in = layer(r);
            float[] out = new float[SHAPE.qElements()];
            policy.attend(l, in, out);
            double[] want = new double[SHAPE.qElements()];
            counts[l] = referenceLayer(gates, l, in, rule, want);
            assertRows(out, want, 0, PROMPT);
            assertRows(out, want, PROMPT, N);
        }
        assertThat(policy.densityPerLayer()).containsExactly(new double[] {(double) counts[0][0] / counts[0][1],
                (double) counts[1][0] / counts[1][1]}, within(1e-15));
        assertThat(policy.density()).isCloseTo((double) (counts[0][0] + counts[1][0])
                / (counts[0][1] + counts[1][1]), within(1e-15));
        assertThat(policy.density()).isBetween(0.3, 0.8);
        assertThat(policy.toString()).isEqualTo("gate " + rule + " after 17 (cpu)");
    }

    @Test
    void aThresholdRuleSelectsAsTheReferenceDoes() {
        DecodeGateSet gates = gates();
        DecodeSelectionRule rule = new DecodeSelectionRule.Threshold(0.1);
        SparseDecodePolicy policy = SparseDecodePolicy.gate(Engines.byName("cpu"), gates, rule, PROMPT);
        LayerAttention in = layer(new Random(13));
        float[] out = new float[SHAPE.qElements()];
        policy.attend(1, in, out);
        double[] want = new double[SHAPE.qElements()];
        long[] counts = referenceLayer(gates, 1, in, rule, want);
        assertRows(out, want, 0, N);
        assertThat(policy.densityPerLayer()).containsExactly(new double[] {1.0, (double) counts[0] / counts[1]},
                within(1e-15));
    }

    @Test
    void aWindowNoLongerThanThePromptIsDense() {
        Engine cpu = Engines.byName("cpu");
        AttentionShape shape = new AttentionShape(1, PROMPT, 4, 2, 8);
        Random r = new Random(14);
        float[] q = random(r, shape.qElements(), 1);
        float[] k = random(r, shape.kvElements(), 1);
        float[] v = random(r, shape.kvElements(), 1);
        for (SparseDecodePolicy p : new SparseDecodePolicy[] {SparseDecodePolicy.gate(cpu, gates(),
                new DecodeSelectionRule.TokenBudget(4), PROMPT), SparseDecodePolicy.sinkRecent(cpu, 4, B, PROMPT, 2),
                SparseDecodePolicy.oracle(cpu, new DecodeSelectionRule.TokenBudget(4), B, PROMPT, 2)}) {
            float[] out = new float[shape.qElements()];
            p.attend(0, new LayerAttention(shape, q, k, q, k, v, SCALE), out);
            double[] want = new double[shape.qElements()];
            DenseAttention.causal(d(q), d(k), d(v), want, shape, SCALE);
            for (int i = 0; i < want.length; i++) {
                assertThat((double) out[i]).as(p + " [%d]", i).isCloseTo(want[i], within(1e-5));
            }
            assertThat(p.density()).isEqualTo(1.0);
        }
    }

    @Test
    void sinkRecentAttendsToTheLastBlocksOfTheBudgetAndBlockZero() {
        SparseDecodePolicy policy = SparseDecodePolicy.sinkRecent(Engines.byName("cpu"), 8, B, PROMPT, 2);
        Random r = new Random(15);
        LayerAttention in = layer(r);
        float[] out = new float[SHAPE.qElements()];
        policy.attend(1, in, out);
        // row t: blocks current − 1 and current (2 = 8 / 4), plus block 0; out of t / 4 + 1 cached, per KV head
        long attended = 0;
        long cached = 0;
        for (int t = PROMPT; t < N; t++) {
            int current = t / B;
            attended += 2 * (current >= 2 ? 3 : current + 1);
            cached += 2 * (current + 1);
        }
        assertThat(policy.densityPerLayer()).containsExactly(new double[] {1.0, (double) attended / cached},
                within(1e-15));
        assertThat(policy.density()).isCloseTo((double) attended / cached, within(1e-15));
        double[] want = new double[SHAPE.qElements()];
        DenseAttention.causal(d(in.q()), d(in.k()), d(in.v()), want, SHAPE, SCALE);
        assertRows(out, want, 0, PROMPT);                                     // the prompt: dense
        assertThat(policy.toString()).isEqualTo("sink-recent 8 after 17 (cpu)");
        // a budget of one block: the current block and block 0
        SparseDecodePolicy one = SparseDecodePolicy.sinkRecent(Engines.byName("cpu"), 4, B, 48, 1);
        one.attend(0, in, new float[SHAPE.qElements()]);
        assertThat(one.density()).isCloseTo(2 * 2.0 / (2 * 13), within(1e-15));   // rows 48, 49 in block 12
    }

    @Test
    void theFactoriesCheckTheirArguments() {
        Engine cpu = Engines.byName("cpu");
        DecodeSelectionRule rule = new DecodeSelectionRule.TokenBudget(4);
        assertThatThrownBy(() -> SparseDecodePolicy.gate(cpu, null, rule, 1))
                .hasMessage("decode gates must not be null");
        assertThatThrownBy(() -> SparseDecodePolicy.gate(null, gates(), rule, 1))
                .hasMessage("sparse decoding needs an engine and a selection rule");
        assertThatThrownBy(() -> SparseDecodePolicy.oracle(cpu, null, 4, 1, 1))
                .hasMessage("sparse decoding needs an engine and a selection rule");
        assertThatThrownBy(() -> SparseDecodePolicy.gate(cpu, gates(), rule, 0))
                .hasMessage("the prompt must hold at least one token, got 0");
        assertThat(SparseDecodePolicy.gate(cpu, gates(), rule, 1).toString()).endsWith(" after 1 (cpu)");
        for (int[] bad : new int[][] {{0, 1}, {1, 0}}) {
            String m = "block size and layers must be ≥ 1, got " + bad[0] + ", " + bad[1];
            assertThatThrownBy(() -> SparseDecodePolicy.sinkRecent(cpu, 4, bad[0], 1, bad[1])).hasMessage(m);
            assertThatThrownBy(() -> SparseDecodePolicy.oracle(cpu, rule, bad[0], 1, bad[1])).hasMessage(m);
        }
        assertThat(SparseDecodePolicy.sinkRecent(cpu, 4, 1, 1, 1).densityPerLayer()).containsExactly(1.0);
        assertThat(SparseDecodePolicy.oracle(cpu, rule, 1, 1, 1).densityPerLayer()).containsExactly(1.0);
        AttentionShape two = new AttentionShape(2, 20, 4, 2, 8);
        assertThatThrownBy(() -> SparseDecodePolicy.sinkRecent(cpu, 4, B, 5, 1).attend(0, new LayerAttention(two,
                new float[two.qElements()], new float[two.kvElements()], new float[two.qElements()],
                new float[two.kvElements()], new float[two.kvElements()], SCALE), new float[two.qElements()]))
                .hasMessage("sparse decoding of a window expects batch 1, got 2");
    }
}
