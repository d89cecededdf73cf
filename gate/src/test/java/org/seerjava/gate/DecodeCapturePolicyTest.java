package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.DecodeTarget;
import org.seerjava.reference.engine.Engines;

/**
 * The decode distillation capture of one layer against the float64 reference: the output is dense causal attention,
 * the kept rows' decode target is {@link DecodeTarget}'s rows, the pooled keys are the pre-RoPE keys pooled per block
 * ({@link Pooling}, the gate's K pools), the queries are the kept rows' pre-RoPE queries; N = 42 with blocks of 8 (a
 * partial last block), GQA 4/2, rows chosen from anywhere up to the last.
 */
class DecodeCapturePolicyTest {
    static final ModelDims DIMS = new ModelDims(2, 4, 2, 8, RopeConfig.of(10000, 8));

    @Test
    void eachLayerKeepsItsRowsPooledKeysAndTargetAndAttendsDensely() {
        DecodeGateSpec spec = DecodeGateSpec.of(DIMS, 8, true);
        int[] rows = {3, 20, 21, 41};
        DecodeCapturePolicy policy = new DecodeCapturePolicy(Engines.byName("cpu"), spec, rows);
        rows[0] = 5;                                                        // the policy keeps its own copy
        AttentionShape shape = new AttentionShape(1, 42, 4, 2, 8);
        Random r = new Random(8);
        LayerAttention[] in = new LayerAttention[2];
        float[][] out = new float[2][shape.qElements()];
        for (int layer = 1; layer >= 0; layer--) {
            in[layer] = new LayerAttention(shape, CapturePolicyTest.random(r, shape.qElements()),
                    CapturePolicyTest.random(r, shape.kvElements()), CapturePolicyTest.random(r, shape.qElements()),
                    CapturePolicyTest.random(r, shape.kvElements()), CapturePolicyTest.random(r, shape.kvElements()),
                    0.35);
            policy.attend(layer, in[layer], out[layer]);
        }
        DecodeGateSample[] samples = policy.samples();
        int nb = 6;
        int[] kept = {3, 20, 21, 41};
        for (int layer = 0; layer < 2; layer++) {
            LayerAttention a = in[layer];
            DecodeGateSample s = samples[layer];
            double[] dense = new double[shape.qElements()];
            DenseAttention.causal(CapturePolicyTest.d(a.q()), CapturePolicyTest.d(a.k()), CapturePolicyTest.d(a.v()),
                    dense, shape, 0.35);
            CapturePolicyTest.assertClose(out[layer], dense, 1e-5, "output");
            double[] target = new double[2 * 42 * nb];
            DecodeTarget.compute(CapturePolicyTest.d(a.q()), CapturePolicyTest.d(a.k()), target, shape, 8, 0.35);
            double[] rowsTarget = new double[2 * 4 * nb];
            double[] q = new double[4 * 4 * 8];
            for (int i = 0; i < 4; i++) {
                for (int kh = 0; kh < 2; kh++) {
                    System.arraycopy(target, (kh * 42 + kept[i]) * nb, rowsTarget, (kh * 4 + i) * nb, nb);
                }
                for (int e = 0; e < 32; e++) {
                    q[i * 32 + e] = a.qPre()[kept[i] * 32 + e];
                }
            }
            CapturePolicyTest.assertClose(s.target(), rowsTarget, 1e-5, "target");
            CapturePolicyTest.assertClose(s.qNope(), q, 0, "queries");
            double[] kp = new double[nb * 2 * 3 * 8];
            Pooling.pool(CapturePolicyTest.d(a.kPre()), kp, 1, 42, 2, 8, 8, spec.gate().kPools());
            CapturePolicyTest.assertClose(s.kPooled(), kp, 1e-6, "pooled keys");
            assertThat(s.positions()).containsExactly(kept);
            assertThat(s.blocks()).isEqualTo(nb);
        }
        samples[1] = null;
        assertThat(policy.samples()[1]).isNotNull();
    }

    @Test
    void rowsOutsideTheWindowMissingLayersAndBatchesAreRefused() {
        DecodeGateSpec spec = DecodeGateSpec.of(DIMS, 8, false);
        assertThatThrownBy(() -> new DecodeCapturePolicy(Engines.byName("cpu"), spec, new int[0]))
                .hasMessage("capture needs at least one query row");
        assertThatThrownBy(() -> new DecodeCapturePolicy(Engines.byName("cpu"), spec, null))
                .hasMessage("capture needs at least one query row");
        AttentionShape shape = new AttentionShape(1, 20, 4, 2, 8);
        LayerAttention in = new LayerAttention(shape, new float[shape.qElements()], new float[shape.kvElements()],
                new float[shape.qElements()], new float[shape.kvElements()], new float[shape.kvElements()], 0.35);
        DecodeCapturePolicy outside = new DecodeCapturePolicy(Engines.byName("cpu"), spec, new int[] {10, 20});
        assertThatThrownBy(() -> outside.attend(0, in, new float[shape.qElements()]))
                .hasMessage("row 20 is outside a window of 20");
        DecodeCapturePolicy last = new DecodeCapturePolicy(Engines.byName("cpu"), spec, new int[] {19});
        last.attend(1, in, new float[shape.qElements()]);
        assertThatThrownBy(last::samples).isInstanceOf(IllegalStateException.class)
                .hasMessage("layer 0 was not captured");
        last.attend(0, in, new float[shape.qElements()]);
        assertThat(last.samples()[0].positions()).containsExactly(19);
        AttentionShape two = new AttentionShape(2, 20, 4, 2, 8);
        assertThatThrownBy(() -> last.attend(0, new LayerAttention(two, new float[two.qElements()],
                new float[two.kvElements()], new float[two.qElements()], new float[two.kvElements()],
                new float[two.kvElements()], 0.35), new float[two.qElements()]))
                .hasMessage("capture expects batch 1, got 2");
    }
}
