package org.seerjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.BlockSelection;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.engine.Floats;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;

/**
 * {@code kernels.BlockSelection} (threshold, top-k) through the emulator against {@link BlockSelection#select}: masks
 * identical, with ties (scores drawn from a few values, so top-k must break them towards the lower block index as
 * the reference's k rounds of argmax do), masked logits (−float32 max above the diagonal) and every combination of
 * lastBlockDense and keepDiagonal.
 */
class SelectionKernelTest {
    @Test
    void masksIdenticalToReference() {
        Random random = new Random(11);
        for (int nb : new int[] {1, 2, 5, 17, 70}) {
            int batch = 2;
            int heads = 3;
            float[] scores = new float[batch * heads * nb * nb];
            for (int i = 0; i < scores.length; i++) {
                int kBlock = i % nb;
                int qBlock = (i / nb) % nb;
                boolean masked = kBlock > qBlock && random.nextBoolean();
                scores[i] = masked ? -Float.MAX_VALUE : random.nextInt(4) / 4f;     // many ties
            }
            for (boolean dense : new boolean[] {false, true}) {
                for (boolean diagonal : new boolean[] {false, true}) {
                    for (SelectionRule rule : new SelectionRule[] {
                            new SelectionRule.Threshold(0.4, dense, diagonal),
                            new SelectionRule.Threshold(0.5, dense, diagonal),
                            new SelectionRule.TopK(0.1, dense, diagonal),
                            new SelectionRule.TopK(0.5, dense, diagonal),
                            new SelectionRule.TopK(1.0, dense, diagonal)}) {
                        ByteArray mask = new ByteArray(scores.length);
                        mask.init((byte) 7);
                        KernelEmulator.run(SeerTasks.select("select", TestData.buffer(scores), mask, batch, heads,
                                nb, rule));
                        BlockMask ref = BlockSelection.select(Floats.toDouble(scores), batch, heads, nb, rule);
                        assertThat(Buffers.toBytes(mask)).as("nb %d, %s", nb, rule).isEqualTo(ref.toBytes());
                    }
                }
            }
        }
    }

    @Test
    void topKOnCausalLogitsRanksOnlyTheCausalBlocksAndGivesTheSameMask() {
        Random random = new Random(12);
        for (int nb : new int[] {1, 3, 9, 40}) {
            float[] logits = new float[2 * nb * nb];
            for (int i = 0; i < logits.length; i++) {
                int kBlock = i % nb;
                int qBlock = (i / nb) % nb;
                logits[i] = kBlock > qBlock ? -Float.MAX_VALUE : random.nextInt(5) - 2f;    // ties below
            }
            for (SelectionRule rule : new SelectionRule[] {new SelectionRule.TopK(0.2, true, false),
                                                           new SelectionRule.TopK(0.6, false, true),
                                                           new SelectionRule.TopK(1.0, false, false)}) {
                ByteArray mask = new ByteArray(logits.length);
                KernelEmulator.run(SeerTasks.select("select", TestData.buffer(logits), mask, 1, 2, nb, rule, true));
                BlockMask ref = BlockSelection.select(Floats.toDouble(logits), 1, 2, nb, rule);
                assertThat(Buffers.toBytes(mask)).as("nb %d, %s", nb, rule).isEqualTo(ref.toBytes());
            }
        }
    }

    @Test
    void thresholdComparesInFloat64() {
        // 0.1f is 0.100000001…: above the float64 threshold 0.1, although (float) 0.1 == 0.1f
        float[] scores = {0.1f};
        ByteArray mask = new ByteArray(1);
        KernelEmulator.run(SeerTasks.select("select", TestData.buffer(scores), mask, 1, 1, 1,
                new SelectionRule.Threshold(0.1, false, false)));
        assertThat(Buffers.toBytes(mask)).containsExactly(1);
    }
}
