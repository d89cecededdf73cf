package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.seerjava.model.LayerAttention;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.DenseAttention;
import org.seerjava.reference.GateType;
import org.seerjava.reference.PooledAttentionTarget;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.engine.Engines;

/**
 * The distillation capture of one layer against the float64 reference: the layer's output is dense causal
 * attention, the target is the pooled attention map ({@link PooledAttentionTarget}), the gate inputs are the
 * pre-RoPE q and k pooled as the gate type says ({@link Pooling}); N = 40 with blocks of 16 (a partial last block),
 * GQA 4/2, a gate type with two q pools and three k pools.
 */
class CapturePolicyTest {
    static final ModelDims DIMS = new ModelDims(2, 4, 2, 8, RopeConfig.of(10000, 8));

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    static double[] d(float[] x) {
        return DistillationTrainer.toDouble(x);
    }

    static void assertClose(float[] got, double[] want, double tol, String what) {
        assertThat(got).as(what).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat((double) got[i]).as("%s [%d]", what, i).isCloseTo(want[i],
                    org.assertj.core.api.Assertions.within(tol));
        }
    }

    @Test
    void eachLayerKeepsItsPooledInputsAndTargetAndAttendsDensely() {
        GateType type = GateType.parse("Qmaxavg_Kmaxminavg");
        GateSpec spec = DIMS.spec(type, 16, 8);
        AttentionShape shape = new AttentionShape(1, 40, 4, 2, 8);
        CapturePolicy policy = new CapturePolicy(Engines.byName("cpu"), spec);
        Random r = new Random(3);
        LayerAttention[] in = new LayerAttention[2];
        float[][] out = new float[2][shape.qElements()];
        for (int layer = 1; layer >= 0; layer--) {                            // any order
            in[layer] = new LayerAttention(shape, random(r, shape.qElements()), random(r, shape.kvElements()),
                    random(r, shape.qElements()), random(r, shape.kvElements()), random(r, shape.kvElements()),
                    0.35);
            policy.attend(layer, in[layer], out[layer]);
        }
        GateSample[] samples = policy.samples();
        assertThat(samples).hasSize(2);
        for (int layer = 0; layer < 2; layer++) {
            LayerAttention a = in[layer];
            double[] dense = new double[shape.qElements()];
            DenseAttention.causal(d(a.q()), d(a.k()), d(a.v()), dense, shape, 0.35);
            assertClose(out[layer], dense, 1e-5, "output");
            double[] target = new double[4 * 3 * 3];
            PooledAttentionTarget.compute(d(a.q()), d(a.k()), target, shape, 16, 0.35);
            assertClose(samples[layer].target(), target, 1e-5, "target");
            double[] qp = new double[3 * 4 * 2 * 8];
            Pooling.pool(d(a.qPre()), qp, 1, 40, 4, 8, 16, type.qPools());
            assertClose(samples[layer].qPooled(), qp, 1e-6, "pooled q");
            double[] kp = new double[3 * 2 * 3 * 8];
            Pooling.pool(d(a.kPre()), kp, 1, 40, 2, 8, 16, type.kPools());
            assertClose(samples[layer].kPooled(), kp, 1e-6, "pooled k");
            assertThat(samples[layer].blocks()).isEqualTo(3);
        }
        samples[0] = null;                                                   // a copy: the policy keeps its own
        assertThat(policy.samples()[0]).isNotNull();
    }

    @Test
    void aLayerNotCapturedAndABatchOfTwoAreRefused() {
        GateSpec spec = DIMS.spec(GateType.DEFAULT, 16, 8);
        CapturePolicy policy = new CapturePolicy(Engines.byName("cpu"), spec);
        AttentionShape one = new AttentionShape(1, 20, 4, 2, 8);
        Random r = new Random(5);
        policy.attend(0, new LayerAttention(one, random(r, one.qElements()), random(r, one.kvElements()),
                random(r, one.qElements()), random(r, one.kvElements()), random(r, one.kvElements()), 0.35),
                new float[one.qElements()]);
        assertThatThrownBy(policy::samples).isInstanceOf(IllegalStateException.class)
                .hasMessage("layer 1 was not captured");
        AttentionShape two = new AttentionShape(2, 20, 4, 2, 8);
        assertThatThrownBy(() -> policy.attend(1, new LayerAttention(two, new float[two.qElements()],
                new float[two.kvElements()], new float[two.qElements()], new float[two.kvElements()],
                new float[two.kvElements()], 0.35), new float[two.qElements()]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("capture expects batch 1, got 2");
        CapturePolicy fresh = new CapturePolicy(Engines.byName("cpu"), spec);
        assertThatThrownBy(fresh::samples).hasMessage("layer 0 was not captured");
    }
}
