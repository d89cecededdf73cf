package org.seerjava.reference.decode;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.RopeConfig;

/** Decode block selection (docs/SPEC.md §7.4) and property P7. */
class DecodeSelectionTest {

    private static final DecodeSelectionRule.TokenBudget BUDGET_8_TOKENS = new DecodeSelectionRule.TokenBudget(8);

    @Test
    void p7SelectedBlocksPerKvHeadStayWithinBudgetPlusTwoOnRandomDecodeRuns() {
        Random random = new Random(31);
        int[][] heads = {{2, 1}, {4, 2}, {6, 2}, {8, 2}};
        for (int trial = 0; trial < 16; trial++) {
            int hq = heads[trial % heads.length][0];
            int hkv = heads[trial % heads.length][1];
            int dim = 4 + 2 * (trial % 3);
            int blockSize = 2 + trial % 3;
            int budgetBlocks = 1 + trial % 4;
            int batch = 1 + trial % 2;
            DecodeGateConfig config = new DecodeGateConfig(QueryHeadPooling.values()[trial % 3],
                    DecodeGateConfig.DEFAULT_K_POOLS, blockSize, dim, trial % 2 == 0, true, RopeConfig.of(1e4, dim),
                    CompressedKeyPosition.values()[trial % 2]);
            int wqElements = switch (config.queryPooling()) {
                case QProj -> hq * dim * dim;
                case QAvgProj -> hkv * dim * dim;
                case QAvg -> 0;
            };
            DecodeGate gate = new DecodeGate(hq, hkv, dim, config,
                    TinyDecodeFixture.random(random, wqElements, 1.0),
                    TinyDecodeFixture.random(random, hkv * 3 * dim * dim, 1.0),
                    config.useQkNorm() ? TinyDecodeFixture.random(random, dim, 2.0) : null,
                    config.useQkNorm() ? TinyDecodeFixture.random(random, dim, 2.0) : null);
            DecodeSelectionRule.TokenBudget rule = new DecodeSelectionRule.TokenBudget(budgetBlocks * blockSize
                    + random.nextInt(blockSize));
            KCompressionCache cache = new KCompressionCache(gate, batch);
            int prompt = 1 + random.nextInt(3 * blockSize);
            cache.prefill(TinyDecodeFixture.random(random, batch * prompt * hkv * dim, 2.0), prompt);
            for (int step = 0; step < 6 * blockSize; step++) {
                int position = cache.length();
                cache.push(TinyDecodeFixture.random(random, batch * hkv * dim, 2.0));
                double[] qGate = gate.query(TinyDecodeFixture.random(random, batch * hq * dim, 2.0), batch, position);
                int nb = cache.blocks();
                double[] scores = cache.scores(qGate, null);
                boolean[] selected = DecodeSelection.select(scores, batch, hkv, nb, blockSize, null, rule);
                boolean[] effective = DecodeSelection.effective(selected, batch, hkv, nb, blockSize, new int[batch]);
                int[] selectedCounts = DecodeSelection.countPerKvHead(selected, batch, hkv, nb);
                int[] effectiveCounts = DecodeSelection.countPerKvHead(effective, batch, hkv, nb);
                for (int row = 0; row < batch * hkv; row++) {
                    assertThat(selected[row * nb + nb - 1]).isTrue();
                    assertThat(effective[row * nb]).isTrue();
                    if (nb > budgetBlocks) {
                        assertThat(selectedCounts[row]).isBetween(budgetBlocks, budgetBlocks + 1);
                        assertThat(effectiveCounts[row]).isBetween(budgetBlocks, budgetBlocks + 2);
                    } else {
                        assertThat(selectedCounts[row]).isEqualTo(nb);
                        assertThat(effectiveCounts[row]).isEqualTo(nb);
                    }
                }
            }
        }
    }

    @Test
    void tokenBudgetTakesTheTopKScoresAndForcesTheLastBlock() {
        double[] scores = {0.1, 0.4, 0.05, 0.3, 0.15};
        // budget 8 tokens at B = 4 → 2 blocks: 1 and 3, plus the last
        assertThat(DecodeSelection.select(scores, 1, 1, 5, 4, null, BUDGET_8_TOKENS))
                .containsExactly(false, true, false, true, true);
        // a budget below one block keeps only the forced block
        assertThat(DecodeSelection.select(scores, 1, 1, 5, 4, null, new DecodeSelectionRule.TokenBudget(3)))
                .containsExactly(false, false, false, false, true);
        // equal scores prefer the lower block
        assertThat(DecodeSelection.select(new double[]{0.3, 0.3, 0.3, 0.1}, 1, 1, 4, 4, null,
                new DecodeSelectionRule.TokenBudget(4))).containsExactly(true, false, false, true);
    }

    @Test
    void tokenBudgetCoveringEveryBlockKeepsTheBlocksWithRealTokens() {
        double[] scores = {0.0, 0.0, 0.7, 0.3};
        boolean[] blockMask = DecodeGate.blockAttentionMask(new int[]{9}, 16, 4);   // blocks 0, 1 are all padding
        assertThat(blockMask).containsExactly(false, false, true, true);
        assertThat(DecodeSelection.select(scores, 1, 1, 4, 4, blockMask, new DecodeSelectionRule.TokenBudget(64)))
                .containsExactly(false, false, true, true);
        // top-k over scores, then AND with the block mask: a masked block can use up a top-k slot
        double[] flat = {0.25, 0.25, 0.25, 0.25};
        assertThat(DecodeSelection.select(flat, 1, 1, 4, 4, blockMask, BUDGET_8_TOKENS))
                .containsExactly(false, false, false, true);
    }

    @Test
    void thresholdIsStrictAndTheLastBlockIsForced() {
        double[] scores = {0.3, 0.31, 0.29, 0.1, 0.0, 0.0};
        assertThat(DecodeSelection.select(scores, 1, 2, 3, 4, null, new DecodeSelectionRule.Threshold(0.3)))
                .containsExactly(false, true, true, false, false, true);
    }

    @Test
    void effectiveAddsTheFirstRealBlockAndDropsBlocksBeforeIt() {
        boolean[] selected = {true, false, false, true, false, false, false, true};
        // batch 2, one KV head, 4 blocks of 4: sequence 0 pad 6 → first real block 1; sequence 1 pad 0
        assertThat(DecodeSelection.effective(selected, 2, 1, 4, 4, new int[]{6, 0}))
                .containsExactly(false, true, false, true, true, false, false, true);
        assertThat(DecodeSelection.firstRealBlock(6, 4)).isEqualTo(1);
    }

    @Test
    void decodeSelectionWithThePrefillGoldenThresholdAgreesWithG5() {
        // G5 step t = 10: the probabilities [0.093601, 0.854803, 0.051597]
        double[] p = {0.093601, 0.854803, 0.051597};
        assertThat(DecodeSelection.select(p, 1, 1, 3, 4, null, new DecodeSelectionRule.Threshold(0.05)))
                .containsExactly(true, true, true);
        assertThat(DecodeSelection.select(p, 1, 1, 3, 4, null, new DecodeSelectionRule.TokenBudget(12)))
                .containsExactly(true, true, true);
    }
}
