package org.seerjava.gpu.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGate;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.DecodeSelection;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.decode.KCompressionCache;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.decode.SparseDecodeAttention;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.Floats;

/**
 * The model runtime's SeerAttention-R decode step ({@link SparseDecoding}: {@code decode_gate_step_bf16},
 * {@code decode_scores_select}, {@code attn_sparse_decode} with its merge by the last CTA; the prefill's and a
 * continuation's {@code kcache_append_bf16}) against the float64 reference fed the same bf16 values: a prompt whose
 * last block is partial, a continuation that completes a block begun by the prompt and leaves another partial (the
 * second kernel of an append), then decode steps across block boundaries with the position read from device memory.
 * Per step: the attention output within bf16 rounding of the reference's over the reference's selection (relative
 * L2 ≤ 5e-3; the output is rounded to bf16, 2⁻⁹), and at the end the visited and cached block counts (the decode
 * density) exactly the reference's; the compressed keys within 1e-5 at the end of the prefill and of the decode.
 */
class SparseDecodeStepTest {
    /** (Hq, Hkv, D, B, pooling, qk norm, key position, K pools, rule). */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(8, 2, 128, 16, QueryHeadPooling.QProj, true, CompressedKeyPosition.CURRENT_TOKEN,
                        DecodeGateConfig.DEFAULT_K_POOLS, new DecodeSelectionRule.TokenBudget(64)),
                Arguments.of(8, 2, 128, 16, QueryHeadPooling.QProj, true, CompressedKeyPosition.CURRENT_TOKEN,
                        DecodeGateConfig.DEFAULT_K_POOLS, new DecodeSelectionRule.Threshold(0.05)),
                Arguments.of(6, 2, 64, 8, QueryHeadPooling.QAvgProj, false, CompressedKeyPosition.BLOCK_START,
                        List.of(Pool.MAX, Pool.AVG), new DecodeSelectionRule.TokenBudget(20)),
                Arguments.of(4, 4, 64, 64, QueryHeadPooling.QAvg, false, CompressedKeyPosition.CURRENT_TOKEN,
                        DecodeGateConfig.DEFAULT_K_POOLS, new DecodeSelectionRule.TokenBudget(64)));
    }

    static float[] gaussianBf16(Random r, int n, double a) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = Dev.bf16((float) (r.nextGaussian() * a));
        }
        return x;
    }

    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} B={3} {4} norm={5} {6} {8}")
    @MethodSource("cases")
    void aDecodeStepIsTheReferencesOverTheSameBf16Values(int hq, int hkv, int d, int block, QueryHeadPooling pooling,
                                                          boolean qkNorm, CompressedKeyPosition position,
                                                          List<Pool> pools, DecodeSelectionRule rule) {
        Dev.assume(false);
        Random random = new Random(hq * 31L + block);
        DecodeGateConfig config = new DecodeGateConfig(pooling, pools, block, d, qkNorm, true,
                RopeConfig.of(500_000, 2), position);
        int wqn = DecodeGateWeights.qWeightElements(config, hq, hkv, d);
        float[] norm = qkNorm ? new float[d] : null;
        if (norm != null) {
            for (int i = 0; i < d; i++) {
                norm[i] = 1f + (float) (0.3 * random.nextGaussian());
            }
        }
        DecodeGateWeights gate = new DecodeGateWeights(hq, hkv, d, config,
                wqn == 0 ? null : gaussianBf16(random, wqn, 0.1), gaussianBf16(random, hkv * pools.size() * d * d, 0.1),
                norm, norm == null ? null : norm.clone());
        DecoderShape shape = new DecoderShape(hq * d, 4 * hq * d, 1, hq, hkv, d, 256, 1e-5, false, false, false, false);
        int prompt = 45;                                     // 45 = 2·16 + 13: block 2 partial (B = 16)
        int more = 30;                                       // completes block 2 from the remainder, leaves 75 mod B
        int steps = 60;
        int total = prompt + more + steps;
        int kv = hkv * d;
        float[] kPre = gaussianBf16(random, total * kv, 1);
        float[] qPre = gaussianBf16(random, total * hq * d, 1);
        float[] q = gaussianBf16(random, total * hq * d, 1);
        float[] kCache = gaussianBf16(random, total * kv, 1);
        float[] vCache = gaussianBf16(random, total * kv, 1);
        DecodeGate ref = gate.toReference();
        KCompressionCache refCache = new KCompressionCache(ref, 1);
        double scale = 1 / Math.sqrt(d);
        long visited = 0;
        long cached = 0;
        double worst = 0;
        try (SparseDecoding sd = new SparseDecoding(new SparseDecode(List.of(gate), rule), shape, total);
             org.seerjava.gpu.Stream st = new org.seerjava.gpu.Stream();
             DeviceBuffer kPreD = Dev.bf16Buffer(kPre);
             DeviceBuffer kD = Dev.bf16Buffer(kCache);
             DeviceBuffer vD = Dev.bf16Buffer(vCache);
             DeviceBuffer qD = DeviceBuffer.allocate((long) hq * d * 2);
             DeviceBuffer outD = DeviceBuffer.allocate((long) hq * d * 2);
             DeviceBuffer pos = DeviceBuffer.allocate(4)) {
            sd.append(st, 0, kPreD.pointer(), 0, prompt, false);
            refCache.prefill(Floats.toDouble(Arrays.copyOf(kPre, prompt * kv)), prompt);
            sd.append(st, 0, kPreD.pointer() + (long) prompt * kv * 2, prompt, more, true);
            for (int t = prompt; t < prompt + more; t++) {
                refCache.push(Floats.toDouble(Arrays.copyOfRange(kPre, t * kv, (t + 1) * kv)));
            }
            st.synchronize();
            float[] afterPrefill = sd.compressedKeys(0, refCache.blocks());
            assertTrue(Dev.relError(afterPrefill, refCache.compressed()) <= 1e-5,
                    "compressed keys after prefill and continuation: " + Dev.relError(afterPrefill,
                            refCache.compressed()));
            for (int p = prompt + more; p < total; p++) {
                try (DeviceBuffer qp = Dev.bf16Buffer(Arrays.copyOfRange(qPre, p * hq * d, (p + 1) * hq * d));
                     DeviceBuffer kp = Dev.bf16Buffer(Arrays.copyOfRange(kPre, p * kv, (p + 1) * kv));
                     DeviceBuffer qq = Dev.bf16Buffer(Arrays.copyOfRange(q, p * hq * d, (p + 1) * hq * d));
                     DeviceBuffer pp = Dev.intBuffer(p)) {
                    copy(qp, sd.qPre);
                    copy(kp, sd.kPre);
                    copy(qq, qD);
                    copy(pp, pos);
                }
                sd.enqueueStep(st, 0, qD.pointer(), kD.pointer(), vD.pointer(), pos.pointer(), outD.pointer(), scale);
                st.synchronize();
                float[] got = Dev.readBf16(outD, hq * d);

                refCache.push(Floats.toDouble(Arrays.copyOfRange(kPre, p * kv, (p + 1) * kv)));
                double[] qg = ref.query(Floats.toDouble(Arrays.copyOfRange(qPre, p * hq * d, (p + 1) * hq * d)), 1, p);
                int nb = refCache.blocks();
                boolean[] sel = DecodeSelection.select(refCache.scores(qg, null), 1, hkv, nb, block, null, rule);
                boolean[] eff = DecodeSelection.effective(sel, 1, hkv, nb, block, new int[] {0});
                for (boolean e : eff) {
                    visited += e ? 1 : 0;
                }
                cached += (long) hkv * nb;
                double[] want = new double[hq * d];
                SparseDecodeAttention.forward(Floats.toDouble(Arrays.copyOfRange(q, p * hq * d, (p + 1) * hq * d)),
                        Floats.toDouble(Arrays.copyOf(kCache, (p + 1) * kv)),
                        Floats.toDouble(Arrays.copyOf(vCache, (p + 1) * kv)), new int[] {p + 1}, sel, want,
                        new AttentionShape(1, p + 1, hq, hkv, d), block, scale);
                double err = Dev.relError(got, want);
                worst = Math.max(worst, err);
                assertTrue(err <= 5e-3, "step at position " + p + ": relative error " + err);
            }
            float[] afterDecode = sd.compressedKeys(0, refCache.blocks());
            double kcErr = Dev.relError(afterDecode, refCache.compressed());
            double density = sd.density();
            System.out.printf("[seer-gpu] sparse decode step %s B=%d %s: %d steps, worst rel err %.2e, compressed keys"
                    + " %.2e, density %.4f (reference %d/%d)%n", pooling, block, rule, steps, worst, kcErr, density,
                    visited, cached);
            assertTrue(kcErr <= 1e-5, "compressed keys after decoding: " + kcErr);
            assertEquals((double) visited / cached, density, "visited ÷ cached blocks");
            sd.reset(st);
            st.synchronize();
            assertTrue(Double.isNaN(sd.density()), "density after reset");
        }
    }

    private static void copy(DeviceBuffer from, DeviceBuffer to) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            var seg = a.allocate(from.bytes());
            from.copyTo(seg);
            to.copyFrom(seg);
        }
    }
}
