package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;

/** Bad arguments fail with an {@link IllegalArgumentException} that names the argument. */
class DecodeBadInputTest {

    private static void rejects(ThrowingCallable call, String name) {
        assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(name);
    }

    private static final DecodeGateConfig TINY = DecodeGateConfig.of(4, 4, 1e4);

    private static DecodeGate tinyGate() {
        return TinyDecodeFixture.gate(CompressedKeyPosition.CURRENT_TOKEN);
    }

    private static double[] withNaN(double[] x, int at) {
        double[] y = x.clone();
        y[at] = Double.NaN;
        return y;
    }

    @Test
    void config() {
        rejects(() -> new DecodeGateConfig(null, DecodeGateConfig.DEFAULT_K_POOLS, 4, 4, false, true,
                RopeConfig.of(1e4, 4), CompressedKeyPosition.CURRENT_TOKEN), "queryPooling");
        rejects(() -> new DecodeGateConfig(QueryHeadPooling.QProj, List.of(), 4, 4, false, true,
                RopeConfig.of(1e4, 4), CompressedKeyPosition.CURRENT_TOKEN), "kPools");
        rejects(() -> new DecodeGateConfig(QueryHeadPooling.QProj, List.of(Pool.AVG, Pool.MAX), 4, 4, false, true,
                RopeConfig.of(1e4, 4), CompressedKeyPosition.CURRENT_TOKEN), "kPools");
        rejects(() -> DecodeGateConfig.of(0, 4, 1e4), "blockSize");
        rejects(() -> DecodeGateConfig.of(4, -4, 1e4), "hiddenSize");
        rejects(() -> DecodeGateConfig.of(4, 5, 1e4), "hiddenSize");
        rejects(() -> new DecodeGateConfig(QueryHeadPooling.QProj, DecodeGateConfig.DEFAULT_K_POOLS, 4, 4, false, true,
                null, CompressedKeyPosition.CURRENT_TOKEN), "rope");
        rejects(() -> TINY.withDecodeKeyPosition(null), "decodeKeyPosition");
        rejects(() -> QueryHeadPooling.parse("Qorig"), "seerattn_q_head_pooling_type");
    }

    @Test
    void gateConstruction() {
        double[] wq = TinyDecodeFixture.wqDecode();
        double[] wk = TinyDecodeFixture.wkDecode();
        rejects(() -> new DecodeGate(2, 1, 8, TINY, wq, wk, null, null), "hiddenSize (Dg) = 4 must equal headDim (D) = 8");
        rejects(() -> new DecodeGate(3, 2, 4, TINY, wq, wk, null, null), "qHeads");
        rejects(() -> new DecodeGate(0, 1, 4, TINY, wq, wk, null, null), "qHeads");
        rejects(() -> new DecodeGate(2, 1, 4, TINY, new double[31], wk, null, null), "W_q");
        rejects(() -> new DecodeGate(2, 1, 4, TINY, null, wk, null, null), "W_q");
        rejects(() -> new DecodeGate(2, 1, 4, TINY, wq, new double[36], null, null), "W_k");
        rejects(() -> new DecodeGate(2, 1, 4, TINY, withNaN(wq, 3), wk, null, null), "W_q");
        rejects(() -> new DecodeGate(2, 1, 4, TINY, wq, withNaN(wk, 0), null, null), "W_k");
        rejects(() -> new DecodeGate(2, 1, 4, TINY.withQueryPooling(QueryHeadPooling.QAvg), wq, wk, null, null),
                "W_q");
        rejects(() -> new DecodeGate(2, 1, 4, TINY.withQkNorm(true), wq, wk, null, new double[4]), "qNorm");
        rejects(() -> new DecodeGate(2, 1, 4, TINY.withQkNorm(true), wq, wk, new double[4], new double[3]), "kNorm");
        rejects(() -> new DecodeGate(2, 1, 4, TINY, wq, wk, new double[4], null), "qNorm");
    }

    @Test
    void gateInputs() {
        DecodeGate gate = tinyGate();
        rejects(() -> gate.query(new double[7], 1, 0), "qNope");
        rejects(() -> gate.query(withNaN(new double[8], 2), 1, 0), "qNope");
        rejects(() -> gate.query(new double[8], 1, -1), "position");
        rejects(() -> gate.query(new double[8], 0, 0), "batch");
        rejects(() -> gate.compressedKeys(new double[15], 1, 4, new int[]{0}), "kNope");
        rejects(() -> gate.compressedKeys(withNaN(new double[16], 5), 1, 4, new int[]{0}), "x");
        rejects(() -> gate.compressedKeys(new double[16], 1, 4, new int[]{0, 4}), "blockPositions");
        rejects(() -> gate.compressedKeys(new double[16], 1, 4, new int[]{-3}), "blockPositions[0]");
        rejects(() -> gate.logits(new double[3], new double[12], 1, 3, null), "qGate");
        rejects(() -> gate.logits(new double[4], new double[11], 1, 3, null), "kCompressed");
        rejects(() -> gate.logits(new double[4], withNaN(new double[12], 1), 1, 3, null), "kCompressed");
        rejects(() -> gate.logits(new double[4], new double[12], 1, 3, new boolean[2]), "blockAttentionMask");
        rejects(() -> DecodeGate.blockAttentionMask(new int[]{10}, 10, 4), "leftPad[0]");
        rejects(() -> DecodeGate.blockAttentionMask(null, 10, 4), "leftPad");
        rejects(() -> DecodeGate.blockAttentionMask(new int[]{0}, 10, 0), "blockSize");
    }

    @Test
    void cache() {
        rejects(() -> new KCompressionCache(null, 1), "gate");
        rejects(() -> new KCompressionCache(tinyGate(), 0), "batch");
        KCompressionCache cache = new KCompressionCache(tinyGate(), 1);
        rejects(() -> cache.prefill(new double[39], 10), "kNope");
        rejects(() -> cache.prefill(new double[0], 0), "seqLen");
        rejects(() -> cache.prefill(withNaN(new double[40], 7), 10), "kNope");
        rejects(() -> cache.push(new double[5]), "kNope");
        rejects(() -> cache.push(withNaN(new double[4], 0)), "kNope");
    }

    @Test
    void selection() {
        rejects(() -> new DecodeSelectionRule.TokenBudget(0), "tokenBudget");
        rejects(() -> new DecodeSelectionRule.TokenBudget(-64), "tokenBudget");
        rejects(() -> new DecodeSelectionRule.Threshold(Double.NaN), "threshold");
        rejects(() -> new DecodeSelectionRule.Threshold(1.5), "threshold");
        rejects(() -> new DecodeSelectionRule.Threshold(-0.1), "threshold");
        DecodeSelectionRule rule = new DecodeSelectionRule.TokenBudget(8);
        rejects(() -> DecodeSelection.select(new double[]{0.1, Double.NaN, 0.2}, 1, 1, 3, 4, null, rule), "scores");
        rejects(() -> DecodeSelection.select(new double[4], 1, 1, 3, 4, null, rule), "scores");
        rejects(() -> DecodeSelection.select(new double[3], 1, 1, 3, 4, new boolean[4], rule), "blockAttentionMask");
        rejects(() -> DecodeSelection.select(new double[3], 1, 1, 3, 4, null, null), "rule");
        rejects(() -> DecodeSelection.select(new double[3], 1, 1, 3, 0, null, rule), "blockSize");
        rejects(() -> DecodeSelection.effective(new boolean[3], 1, 1, 3, 4, new int[2]), "leftPad");
        rejects(() -> DecodeSelection.effective(new boolean[3], 1, 1, 3, 4, new int[]{12}), "leftPad[0]");
        rejects(() -> DecodeSelection.effective(new boolean[2], 1, 1, 3, 4, new int[1]), "selected");
        rejects(() -> DecodeSelection.countPerKvHead(new boolean[2], 1, 1, 3), "mask");
        rejects(() -> DecodeSelection.firstRealBlock(-1, 4), "leftPad");
    }

    @Test
    void attention() {
        AttentionShape shape = new AttentionShape(1, 8, 2, 1, 4);
        double[] q = new double[8];
        double[] kv = new double[32];
        boolean[] mask = new boolean[2];
        double[] out = new double[8];
        int[] lens = {8};
        rejects(() -> SparseDecodeAttention.forward(new double[7], kv, kv, lens, mask, out, shape, 4, 0.5), "q");
        rejects(() -> SparseDecodeAttention.forward(withNaN(q, 1), kv, kv, lens, mask, out, shape, 4, 0.5), "q");
        rejects(() -> SparseDecodeAttention.forward(q, new double[31], kv, lens, mask, out, shape, 4, 0.5), "kCache");
        rejects(() -> SparseDecodeAttention.forward(q, kv, withNaN(kv, 9), lens, mask, out, shape, 4, 0.5), "vCache");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, new int[]{0}, mask, out, shape, 4, 0.5),
                "cacheSeqLens[0]");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, new int[]{9}, mask, out, shape, 4, 0.5),
                "cacheSeqLens[0]");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, new int[]{8, 8}, mask, out, shape, 4, 0.5),
                "cacheSeqLens");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, lens, new boolean[3], out, shape, 4, 0.5), "mask");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, lens, mask, new double[9], shape, 4, 0.5), "out");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, lens, mask, out, shape, 4, 0.0), "scale");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, lens, mask, out, shape, 4, Double.NaN), "scale");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, lens, mask, out, shape, 0, 0.5), "blockSize");
        rejects(() -> SparseDecodeAttention.forward(q, kv, kv, lens, mask, out, null, 4, 0.5), "shape");
    }

    @Test
    void target() {
        AttentionShape shape = new AttentionShape(1, 8, 2, 1, 4);
        double[] q = new double[64];
        double[] k = new double[32];
        double[] target = new double[16];
        rejects(() -> DecodeTarget.compute(withNaN(q, 0), k, target, shape, 4, 0.5), "q");
        rejects(() -> DecodeTarget.compute(q, withNaN(k, 31), target, shape, 4, 0.5), "k");
        rejects(() -> DecodeTarget.compute(q, new double[30], target, shape, 4, 0.5), "k");
        rejects(() -> DecodeTarget.compute(q, k, new double[17], shape, 4, 0.5), "target");
        rejects(() -> DecodeTarget.compute(q, k, target, shape, 0, 0.5), "blockSize");
        rejects(() -> DecodeTarget.compute(q, k, target, shape, 4, -1), "scale");
        rejects(() -> DecodeTarget.headMaxima(q, k, new double[16], shape, 4, 0.5), "maxima");
    }
}
