package org.seerjava.reference.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;

/**
 * The default varlen methods of the engine interfaces — what the cuda and tornado engines run until they have varlen
 * kernels — through an engine that has only the single-sequence operations (the reference's, delegated): the same bits
 * as the reference engine's own varlen operations (VarlenPrefill in float64, rounded once), and on bad input the same
 * message with the output left as it was.
 */
class DefaultVarlenMethodsTest {
    private static final ReferenceEngine REF = new ReferenceEngine();

    /** The reference's single-sequence operations, and the interfaces' default varlen methods. */
    static final Engine SINGLE_SEQUENCE_ONLY = new PerSequenceEngine(REF);

    static float[] gaussian(Random random, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * std);
        }
        return x;
    }

    @Test
    void theDefaultsGiveTheReferenceEnginesBits() {
        Random random = new Random(11);
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(70, 1, 33, 129), 4, 2, 16);
        int bs = 32;
        VarlenBatch batch = shape.batch();
        float[] q = gaussian(random, shape.qElements(), 1);
        float[] k = gaussian(random, shape.kvElements(), 1);
        float[] v = gaussian(random, shape.kvElements(), 1);
        Engine[] engines = {REF, SINGLE_SEQUENCE_ONLY};
        float[][] pooled = new float[2][batch.totalBlocks(bs) * 2 * 16 * 2];
        float[][] scores = new float[2][batch.mapElements(4, bs)];
        float[][] logits = new float[2][scores[0].length];
        float[][] dense = new float[2][shape.qElements()];
        float[][] sparse = new float[2][shape.qElements()];
        float[][] fused = new float[2][shape.qElements()];
        float[][] target = new float[2][scores[0].length];
        List<List<BlockMask>> masks = new ArrayList<>();
        GateConfig config = new GateConfig(GateType.parse("Qmax_Kminavg"), bs, 16, true, RopeConfig.of(10000, 16));
        float[] wq = gaussian(random, 4 * 16 * 16, 0.2);
        float[] wk = gaussian(random, 2 * 2 * 16 * 16, 0.2);
        List<BlockMask> given = new ArrayList<>();
        for (int b = 0; b < batch.sequences(); b++) {
            int nb = batch.blocks(b, bs);
            byte[] bits = new byte[4 * nb * nb];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = (byte) ((i % nb) <= (i / nb) % nb && random.nextBoolean() ? 1 : 0);
            }
            given.add(BlockMask.of(1, 4, nb, bits));
        }
        for (int e = 0; e < 2; e++) {
            Engine engine = engines[e];
            engine.poolVarlen(k, pooled[e], batch, 2, 16, bs, List.of(Pool.MIN, Pool.AVG));
            engine.gateScoresVarlen(q, k, wq, wk, scores[e], shape, config, true);
            engine.gateScoresVarlen(q, k, wq, wk, logits[e], shape, config, false);
            masks.add(engine.selectVarlen(logits[e], batch, 4, bs, new SelectionRule.TopK(0.3, true, false)));
            engine.denseCausalVarlen(q, k, v, dense[e], shape, 0.25);
            engine.blockSparseVarlen(q, k, v, given, sparse[e], shape, bs, 0.25);
            engine.attentionWithPooledTargetVarlen(q, k, v, fused[e], target[e], shape, bs, 0.25);
        }
        assertThat(pooled[1]).containsExactly(pooled[0]);
        assertThat(scores[1]).containsExactly(scores[0]);
        assertThat(logits[1]).containsExactly(logits[0]);
        assertThat(masks.get(1)).isEqualTo(masks.get(0));
        assertThat(masks.get(0)).hasSize(4);
        assertThat(dense[1]).containsExactly(dense[0]);
        assertThat(sparse[1]).containsExactly(sparse[0]);
        assertThat(fused[1]).containsExactly(fused[0]);
        assertThat(target[1]).containsExactly(target[0]);
        assertThat(fused[0]).containsExactly(dense[0]);
        // and the single-sequence operations agree with the varlen ones, sequence by sequence
        float[] alone = new float[shape.sequence(3).qElements()];
        REF.denseCausal(Arrays.copyOfRange(q, 104 * 64, 233 * 64), Arrays.copyOfRange(k, 104 * 32, 233 * 32),
                Arrays.copyOfRange(v, 104 * 32, 233 * 32), alone, shape.sequence(3), 0.25);
        assertThat(Arrays.copyOfRange(dense[0], 104 * 64, 233 * 64)).containsExactly(alone);
    }

    @Test
    void theDefaultsRefuseBadInputAsTheReferenceEngineDoes() {
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(5, 3), 2, 1, 4);
        float[] q = new float[8 * 8];
        float[] kv = new float[8 * 4];
        float[] nan = kv.clone();
        nan[17] = Float.NaN;
        List<BlockMask> masks = List.of(BlockMask.causal(1, 2, 2), BlockMask.causal(1, 2, 1));
        List<Consumer<Engine>> calls = List.of(
                e -> e.denseCausalVarlen(q, kv, kv, new float[9 * 8], shape, 0.5),
                e -> e.denseCausalVarlen(q, nan, kv, new float[8 * 8], shape, 0.5),
                e -> e.blockSparseVarlen(q, kv, kv, List.of(masks.get(0)), new float[8 * 8], shape, 4, 0.5),
                e -> e.blockSparseVarlen(q, kv, kv, masks, new float[8 * 8], null, 4, 0.5),
                e -> e.attentionWithPooledTargetVarlen(q, kv, kv, new float[64], new float[9], shape, 4, 0.5),
                e -> e.poolVarlen(new float[7 * 4], new float[12], shape.batch(), 1, 4, 4, List.of(Pool.MAX)),
                e -> e.selectVarlen(new float[10], shape.batch(), 2, 4, null),
                e -> e.gateScoresVarlen(q, kv, null, new float[96],
                        new float[9], shape, GateConfig.of(GateType.DEFAULT, 4, 4, 10000), true),
                e -> e.gateScoresVarlen(q, kv, null, new float[95],
                        new float[10], shape, GateConfig.of(GateType.DEFAULT, 4, 4, 10000), true));
        for (Consumer<Engine> call : calls) {
            Throwable reference = catchThrowable(() -> call.accept(REF));
            Throwable defaults = catchThrowable(() -> call.accept(SINGLE_SEQUENCE_ONLY));
            assertThat(reference).isInstanceOf(IllegalArgumentException.class);
            assertThat(defaults).isInstanceOf(IllegalArgumentException.class).hasMessage(reference.getMessage());
        }
        float[] out = new float[8 * 8];
        Arrays.fill(out, 7f);
        catchThrowable(() -> SINGLE_SEQUENCE_ONLY.denseCausalVarlen(q, nan, kv, out, shape, 0.5));
        assertThat(out).containsOnly(7f);
    }
}
