package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.seerjava.cpu.TestData.relativeError;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.SelectionRule;
import org.seerjava.reference.golden.GoldenCase;
import org.seerjava.reference.io.SafeTensors;

/** The CPU engine on the golden files produced by the official implementation (golden-data/README.md). */
class GoldenTest {
    private static final CpuEngine CPU = new CpuEngine();
    private static final double TOL = 1e-5;

    private static float[] liveEntries(float[] maps, int nb) {
        float[] live = maps.clone();
        for (int i = 0; i < live.length; i++) {
            if (i % nb > (i / nb) % nb) {
                live[i] = 0;
            }
        }
        return live;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"golden-small-gqa", "golden-partial-block", "golden-batch2"})
    void everyOperationMatchesTheGoldenTensors(String name) {
        Path file = Path.of("../golden-data/" + name + ".safetensors");
        Assumptions.assumeTrue(Files.exists(file), "golden file " + file + " is missing");
        try (SafeTensors st = SafeTensors.open(file)) {
            GoldenCase c = GoldenCase.of(st);
            AttentionShape shape = c.shape();
            int bs = c.blockSize();
            GateType type = c.gateType();
            GateConfig config = c.gateConfig();
            boolean lastBlockDense = c.lastBlockDense();
            double scale = c.softmaxScale();
            int batch = shape.batch();
            int hq = shape.qHeads();
            int nb = shape.blocks(bs);

            float[] q = st.floats("q");
            float[] k = st.floats("k");
            float[] v = st.floats("v");
            float[] qRope = st.floats("q_rope");
            float[] kRope = st.floats("k_rope");
            float[] wq = st.contains("weight.mask_linear_q.weight") ? st.floats("weight.mask_linear_q.weight") : null;
            float[] wk = st.floats("weight.mask_linear_k.weight");

            // pooling
            float[] qPooled = new float[st.floats("gate.q_pooled").length];
            float[] kPooled = new float[st.floats("gate.k_pooled").length];
            CPU.pool(q, qPooled, batch, shape.seqLen(), hq, shape.headDim(), bs, type.qPools());
            CPU.pool(k, kPooled, batch, shape.seqLen(), shape.kvHeads(), shape.headDim(), bs, type.kPools());
            assertThat(relativeError(qPooled, st.floats("gate.q_pooled"))).isLessThanOrEqualTo(TOL);
            assertThat(relativeError(kPooled, st.floats("gate.k_pooled"))).isLessThanOrEqualTo(TOL);

            // gate scores (softmax) and masks
            float[] goldenScores = st.floats("gate.scores");
            float[] scores = new float[goldenScores.length];
            CPU.gateScores(q, k, wq, wk, scores, shape, config, true);
            assertThat(relativeError(liveEntries(scores, nb), liveEntries(goldenScores, nb))).isLessThanOrEqualTo(1e-4);
            BlockMask threshold = CPU.select(goldenScores, batch, hq, nb,
                    new SelectionRule.Threshold(c.threshold(), lastBlockDense, false));
            BlockMask topK = CPU.select(goldenScores, batch, hq, nb,
                    new SelectionRule.TopK(c.nzRatio(), lastBlockDense, false));
            assertThat(threshold).isEqualTo(BlockMask.of(batch, hq, nb, st.bytes("mask.threshold")));
            assertThat(topK).isEqualTo(BlockMask.of(batch, hq, nb, st.bytes("mask.nz_ratio")));

            // dense, sparse, fused distillation pass
            float[] dense = new float[shape.qElements()];
            CPU.denseCausal(qRope, kRope, v, dense, shape, scale);
            assertThat(relativeError(dense, st.floats("attn.dense"))).isLessThanOrEqualTo(TOL);
            float[] sparse = new float[shape.qElements()];
            CPU.blockSparse(qRope, kRope, v, threshold, sparse, shape, bs, scale);
            assertThat(relativeError(sparse, st.floats("attn.sparse_threshold"))).isLessThanOrEqualTo(TOL);
            float[] fused = new float[shape.qElements()];
            float[] target = new float[batch * hq * nb * nb];
            CPU.attentionWithPooledTarget(qRope, kRope, v, fused, target, shape, bs, scale);
            assertThat(relativeError(fused, st.floats("attn.dense"))).isLessThanOrEqualTo(TOL);
            assertThat(relativeError(target, st.floats("gt.pooled_attention"))).isLessThanOrEqualTo(TOL);
            if (st.contains("official.dense_bf16")) {
                float[] official = st.floats("official.dense_bf16");
                double maxAbs = 0;
                for (int i = 0; i < official.length; i++) {
                    maxAbs = Math.max(maxAbs, Math.abs(official[i] - dense[i]));
                }
                assertThat(maxAbs).as("vs the official bf16 kernel").isLessThanOrEqualTo(3e-2);
            }

            // the KL loss on the gate's masked logits
            float[] logits = new float[goldenScores.length];
            CPU.gateScores(q, k, wq, wk, logits, shape, config, false);
            double loss = CPU.distillationLoss(logits, st.floats("gt.pooled_attention"), null, batch, hq, nb);
            double golden = st.floats("loss.kl")[0];
            assertThat(Math.abs(loss - golden)).isLessThanOrEqualTo(1e-4 * Math.abs(golden));
        }
    }
}
