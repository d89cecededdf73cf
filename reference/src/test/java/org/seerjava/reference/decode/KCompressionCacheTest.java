package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;

/**
 * The K-compression cache (docs/SPEC.md §7.3), property P5 and the per-layer remainder index
 * (docs/SPEC.md §7.9 Q2).
 */
class KCompressionCacheTest {

    private record Setup(int qHeads, int kvHeads, int dim, int blockSize) {
    }

    private static final List<Setup> SETUPS = List.of(
            new Setup(2, 1, 4, 4), new Setup(4, 2, 6, 3), new Setup(3, 1, 4, 5), new Setup(8, 2, 8, 4),
            new Setup(3, 3, 2, 2));

    private static DecodeGate randomGate(Random random, Setup s, CompressedKeyPosition position, boolean qkNorm,
                                         RopeConfig.Scaling scaling) {
        DecodeGateConfig config = new DecodeGateConfig(QueryHeadPooling.QProj, DecodeGateConfig.DEFAULT_K_POOLS,
                s.blockSize(), s.dim(), qkNorm, true, new RopeConfig(500, s.dim(), scaling), position);
        int g = s.qHeads() / s.kvHeads();
        double[] wq = TinyDecodeFixture.random(random, s.kvHeads() * g * s.dim() * s.dim(), 0.5);
        double[] wk = TinyDecodeFixture.random(random, s.kvHeads() * 3 * s.dim() * s.dim(), 0.5);
        double[] qn = qkNorm ? TinyDecodeFixture.random(random, s.dim(), 1.0) : null;
        double[] kn = qkNorm ? TinyDecodeFixture.random(random, s.dim(), 1.0) : null;
        return new DecodeGate(s.qHeads(), s.kvHeads(), s.dim(), config, wq, wk, qn, kn);
    }

    /** Prefill with {@code prompt} tokens of k [batch, total, Hkv, D], then push the rest one at a time. */
    private static KCompressionCache incremental(DecodeGate gate, int batch, double[] k, int total, int prompt) {
        int width = gate.kvHeads() * gate.headDim();
        KCompressionCache cache = new KCompressionCache(gate, batch);
        if (prompt > 0) {
            cache.prefill(slice(k, batch, total, width, 0, prompt), prompt);
        }
        for (int t = prompt; t < total; t++) {
            cache.push(slice(k, batch, total, width, t, t + 1));
        }
        return cache;
    }

    /** Tokens [from, to) of x [batch, total, width]: [batch, to − from, width]. */
    private static double[] slice(double[] x, int batch, int total, int width, int from, int to) {
        double[] out = new double[batch * (to - from) * width];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(x, (b * total + from) * width, out, b * (to - from) * width, (to - from) * width);
        }
        return out;
    }

    private static void assertAllClose(double[] actual, double[] expected, double tol) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within(tol));
        }
    }

    @Test
    void p5IncrementalCompressionEqualsOneShotForBlockAlignedPrompts() {
        Random random = new Random(5);
        for (Setup s : SETUPS) {
            for (boolean qkNorm : new boolean[]{false, true}) {
                RopeConfig.Scaling scaling = qkNorm ? new RopeConfig.Scaling.Llama3(8, 1, 4, 16)
                        : new RopeConfig.Scaling.None();
                DecodeGate gate = randomGate(random, s, CompressedKeyPosition.BLOCK_START, qkNorm, scaling);
                int batch = 2;
                for (int promptBlocks = 1; promptBlocks <= 3; promptBlocks++) {
                    int prompt = promptBlocks * s.blockSize();
                    for (int steps = 0; steps <= 2 * s.blockSize() + 1; steps++) {
                        int total = prompt + steps;
                        double[] k = TinyDecodeFixture.random(random, batch * total * s.kvHeads() * s.dim(), 2.0);
                        KCompressionCache stepwise = incremental(gate, batch, k, total, prompt);
                        KCompressionCache oneShot = incremental(gate, batch, k, total, total);
                        assertThat(stepwise.blocks()).isEqualTo(oneShot.blocks())
                                .isEqualTo(Math.ceilDiv(total, s.blockSize()));
                        assertThat(stepwise.remainderLength()).isEqualTo(oneShot.remainderLength());
                        assertAllClose(stepwise.compressed(), oneShot.compressed(), 1e-12);
                        assertThat(stepwise.remainder()).containsExactly(oneShot.remainder());
                    }
                }
            }
        }
    }

    @Test
    void perLayerRemainderIndexAlsoMatchesOneShotAfterAnUnalignedPrompt() {
        // The official shared remainder index would pool a zero vector instead of prompt token 0 in layers ≥ 1
        // (docs/SPEC.md §7.9 Q2); a per-cache index pools the right tokens.
        Random random = new Random(7);
        for (Setup s : SETUPS) {
            DecodeGate gate = randomGate(random, s, CompressedKeyPosition.BLOCK_START, true,
                    new RopeConfig.Scaling.None());
            for (int prompt = 1; prompt < 3 * s.blockSize(); prompt++) {
                int total = prompt + 2 * s.blockSize();
                double[] k = TinyDecodeFixture.random(random, total * s.kvHeads() * s.dim(), 2.0);
                assertAllClose(incremental(gate, 1, k, total, prompt).compressed(),
                        incremental(gate, 1, k, total, total).compressed(), 1e-12);
            }
        }
    }

    @Test
    void cacheBuiltOnlyByPushesEqualsOneShot() {
        Random random = new Random(11);
        Setup s = new Setup(4, 2, 4, 4);
        DecodeGate gate = randomGate(random, s, CompressedKeyPosition.BLOCK_START, false, new RopeConfig.Scaling.None());
        int total = 13;
        double[] k = TinyDecodeFixture.random(random, total * s.kvHeads() * s.dim(), 1.0);
        assertAllClose(incremental(gate, 1, k, total, 0).compressed(), incremental(gate, 1, k, total, total).compressed(),
                1e-12);
    }

    @Test
    void currentTokenVariantRotatesDecodeBuiltBlocksAtTheirLastToken() {
        Random random = new Random(13);
        Setup s = new Setup(4, 2, 4, 4);
        DecodeGate gate = randomGate(random, s, CompressedKeyPosition.CURRENT_TOKEN, true, new RopeConfig.Scaling.None());
        int prompt = 5;
        int total = 16;
        int width = s.kvHeads() * s.dim();
        double[] k = TinyDecodeFixture.random(random, total * width, 1.0);
        double[] kc = incremental(gate, 1, k, total, prompt).compressed();
        int entry = s.kvHeads() * s.dim();
        for (int n = 0; n < 4; n++) {
            // block 0 was built by prefill (position 0); blocks 1..3 were completed by decode at 4n + 3
            int position = n == 0 ? 0 : n * 4 + 3;
            double[] expected = gate.compressedKeys(slice(k, 1, total, width, 4 * n, 4 * n + 4), 1, 4,
                    new int[]{position});
            assertAllClose(Arrays.copyOfRange(kc, n * entry, (n + 1) * entry), expected, 1e-12);
        }
    }

    @Test
    void promptShorterThanABlockIsOnePartialBlock() {
        DecodeGate gate = TinyDecodeFixture.gate(CompressedKeyPosition.CURRENT_TOKEN);
        KCompressionCache cache = new KCompressionCache(gate, 1);
        double[] k = TinyDecodeFixture.kNope(3);
        cache.prefill(k, 3);
        assertThat(cache.blocks()).isEqualTo(1);
        assertThat(cache.remainderLength()).isEqualTo(3);
        assertThat(cache.compressed()).containsOnly(0.0);
        assertThat(cache.remainder()).containsExactly(k);
        // the fourth token completes block 0 during decode
        double[] k4 = TinyDecodeFixture.kNope(4);
        cache.push(Arrays.copyOfRange(k4, 12, 16));
        assertThat(cache.blocks()).isEqualTo(1);
        assertAllClose(cache.compressed(), gate.compressedKeys(k4, 1, 4, new int[]{3}), 1e-12);
        // the fifth starts block 1 with a zero entry
        cache.push(new double[]{1, 2, 3, 4});
        assertThat(cache.blocks()).isEqualTo(2);
        assertThat(Arrays.copyOfRange(cache.compressed(), 4, 8)).containsOnly(0.0);
    }

    @Test
    void otherKPoolingsCompressWithTheirOwnFeatureCount() {
        DecodeGateConfig config = new DecodeGateConfig(QueryHeadPooling.QAvg, List.of(Pool.MAX, Pool.AVG), 4, 4,
                false, false, null, CompressedKeyPosition.CURRENT_TOKEN);
        double[] wk = TinyDecodeFixture.random(new Random(1), 8 * 4, 1.0);
        DecodeGate gate = new DecodeGate(2, 1, 4, config, null, wk, null, null);
        double[] k = TinyDecodeFixture.kNope(4);
        double[] kc = gate.compressedKeys(k, 1, 4, new int[]{0});
        for (int o = 0; o < 4; o++) {
            double expected = 0;
            for (int d = 0; d < 4; d++) {
                double max = Double.NEGATIVE_INFINITY;
                double avg = 0;
                for (int t = 0; t < 4; t++) {
                    max = Math.max(max, k[t * 4 + d]);
                    avg += k[t * 4 + d] / 4;
                }
                expected += max * wk[d * 4 + o] + avg * wk[(4 + d) * 4 + o];
            }
            assertThat(kc[o]).isCloseTo(expected, within(1e-12));
        }
    }

    @Test
    void prefillNeedsAnEmptyCache() {
        KCompressionCache cache = new KCompressionCache(TinyDecodeFixture.gate(CompressedKeyPosition.CURRENT_TOKEN), 1);
        cache.prefill(TinyDecodeFixture.kNope(4), 4);
        assertThatThrownBy(() -> cache.prefill(TinyDecodeFixture.kNope(4), 4))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("empty cache");
    }
}
