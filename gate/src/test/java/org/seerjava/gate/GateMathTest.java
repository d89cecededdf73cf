package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.AttnGate;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pooling;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.io.SafeTensors;

/** The trainer's gate math against the reference AttnGate, the golden loss/gradients, and finite differences. */
class GateMathTest {
    private static final Engine REF = new ReferenceEngine();

    private static double[] random(int n, double std, SplittableRandom r) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = std * GateParameters.gaussian(r);
        }
        return x;
    }

    private static GateSpec spec(String type, int block, int hidden, int qHeads, int kvHeads, int headDim) {
        return GateSpec.of(GateType.parse(type), block, hidden, 1, qHeads, kvHeads, headDim,
                RopeConfig.of(10000, headDim));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Qavg_Kmaxminavg:32", "Qavg_Kmaxminavg:16", "Qmaxavg_Kmin:16", "Qavg_Kmax:16"})
    void forwardFromPooledIsBitIdenticalToReference(String c) {
        String type = c.split(":")[0];
        int hidden = Integer.parseInt(c.split(":")[1]);
        GateSpec spec = spec(type, 16, hidden, 4, 2, 16);
        SplittableRandom r = new SplittableRandom(3);
        int n = 70;
        AttentionShape shape = spec.shape(2, n);
        double[] q = random(shape.qElements(), 1, r);
        double[] k = random(shape.kvElements(), 1, r);
        GateParameters p = GateParameters.init(spec, 0.3, r);
        AttnGate gate = new AttnGate(shape, spec.gate(), p.wq(), p.wk());
        AttnGate.Forward ref = gate.forward(q, k);
        int nb = shape.blocks(16);
        GateType t = spec.gate().type();
        double[] qp = new double[2 * nb * 4 * t.qDup() * 16];
        double[] kp = new double[2 * nb * 2 * t.kDup() * 16];
        Pooling.pool(q, qp, 2, n, 4, 16, 16, t.qPools());
        Pooling.pool(k, kp, 2, n, 2, 16, 16, t.kPools());
        AttnGate.Forward mine = GateMath.forward(spec, p, qp, kp, 2, nb);
        assertArrayEquals(ref.logits(), mine.logits(), 0.0);
        assertArrayEquals(ref.kGate(), mine.kGate(), 0.0);
    }

    /** Acceptance 3: the trainer's loss and gradients equal the golden (official) ones. */
    @ParameterizedTest
    @ValueSource(strings = {"golden-small-gqa", "golden-partial-block", "golden-batch2"})
    void lossAndGradientsMatchGolden(String name) throws Exception {
        Path file = Path.of("../golden-data/" + name + ".safetensors");
        try (SafeTensors st = SafeTensors.open(file)) {
            JsonNode c = new ObjectMapper().readTree(st.metadata().get("case"));
            int b = c.get("batch").asInt();
            int n = c.get("seq_len").asInt();
            int hq = c.get("num_q_heads").asInt();
            int hkv = c.get("num_kv_heads").asInt();
            int d = c.get("head_dim").asInt();
            int block = c.get("block_size").asInt();
            int hidden = c.get("gate_hidden").asInt();
            GateType type = GateType.parse(c.get("gate_type").asText());
            RopeConfig rope = RopeConfig.of(c.get("gate_rope_theta").asDouble(), d);
            GateSpec spec = new GateSpec(new GateConfig(type, block, hidden, false, rope), 1, hq, hkv, d);
            double[] wq = spec.hasQLinear() ? toDouble(st.floats("weight.mask_linear_q.weight", spec.wqShape()))
                    : null;
            double[] wk = toDouble(st.floats("weight.mask_linear_k.weight", spec.wkShape()));
            GateSet gates = new GateSet(spec, List.of(new GateParameters(wq, wk)));

            // Capture each sequence of the batch as the trainer does: engine pooling + fused target.
            float[] q = st.floats("q");
            float[] k = st.floats("k");
            float[] qr = st.floats("q_rope");
            float[] kr = st.floats("k_rope");
            float[] v = st.floats("v");
            int nb = Math.ceilDiv(n, block);
            List<GateSample[]> windows = new ArrayList<>();
            AttentionShape one = new AttentionShape(1, n, hq, hkv, d);
            float[] gtAll = st.floats("gt.pooled_attention");
            for (int s = 0; s < b; s++) {
                float[] qs = slice(q, s, one.qElements());
                float[] ks = slice(k, s, one.kvElements());
                float[] out = new float[one.qElements()];
                float[] target = new float[hq * nb * nb];
                REF.attentionWithPooledTarget(slice(qr, s, one.qElements()), slice(kr, s, one.kvElements()),
                        slice(v, s, one.kvElements()), out, target, one, block, 1.0 / Math.sqrt(d));
                float[] gt = slice(gtAll, s, hq * nb * nb);
                for (int i = 0; i < gt.length; i++) {
                    assertEquals(gt[i], target[i], 2e-6, "target " + i);
                }
                float[] qp = new float[nb * hq * type.qDup() * d];
                float[] kp = new float[nb * hkv * type.kDup() * d];
                REF.pool(qs, qp, 1, n, hq, d, block, type.qPools());
                REF.pool(ks, kp, 1, n, hkv, d, block, type.kPools());
                windows.add(new GateSample[] {new GateSample(qp, kp, target, nb)});
            }
            DistillationTrainer.BatchResult r = DistillationTrainer.lossAndGradients(gates, windows);
            double expectedLoss = st.floats("loss.kl")[0];
            assertEquals(10 * expectedLoss, r.loss(), 1e-5 * Math.abs(10 * expectedLoss), "loss ×10");
            assertEquals(expectedLoss, r.layerLosses()[0], 1e-5 * Math.abs(expectedLoss), "layer loss");
            int at = 0;
            if (spec.hasQLinear()) {
                assertRelative("grad W_q", toDouble(st.floats("grad.mask_linear_q.weight")), r.gradients().get(at++),
                        10, 1e-4);
            }
            assertRelative("grad W_k", toDouble(st.floats("grad.mask_linear_k.weight")), r.gradients().get(at), 10,
                    1e-4);
        }
    }

    /** Acceptance 3: the analytic gradients agree with central finite differences of the loss. */
    @ParameterizedTest
    @ValueSource(strings = {"Qavg_Kmaxminavg:16", "Qavg_Kmaxminavg:8", "Qmaxmin_Kavg:8"})
    void gradientsMatchFiniteDifferences(String c) {
        String type = c.split(":")[0];
        int hidden = Integer.parseInt(c.split(":")[1]);
        GateSpec spec = spec(type, 8, hidden, 4, 2, 16);
        SplittableRandom r = new SplittableRandom(5);
        int nb = 6;
        GateType t = spec.gate().type();
        double[] qp = random(nb * 4 * t.qDup() * 16, 1, r);
        double[] kp = random(nb * 2 * t.kDup() * 16, 1, r);
        double[] target = new double[4 * nb * nb];
        for (int row = 0; row < 4 * nb; row++) {
            int i = row % nb;
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                target[row * nb + j] = (j == i - 1) ? 0 : r.nextDouble();   // some exact zeros in the target
                sum += target[row * nb + j];
            }
            for (int j = 0; j <= i; j++) {
                target[row * nb + j] = sum == 0 ? (j == i ? 1 : 0) : target[row * nb + j] / sum;
            }
        }
        GateParameters p = GateParameters.init(spec, 0.2, r);
        GateMath.LossAndGradients g = GateMath.lossAndGradients(spec, p, qp, kp, target, 1, nb);
        List<double[]> params = new ArrayList<>();
        List<double[]> grads = new ArrayList<>();
        if (p.wq() != null) {
            params.add(p.wq());
            grads.add(g.dWq());
        }
        params.add(p.wk());
        grads.add(g.dWk());
        double eps = 1e-5;
        int checked = 0;
        for (int a = 0; a < params.size(); a++) {
            double[] w = params.get(a);
            for (int i = 0; i < w.length; i += Math.max(1, w.length / 40)) {
                double keep = w[i];
                w[i] = keep + eps;
                double up = GateMath.loss(spec, p, qp, kp, target, 1, nb);
                w[i] = keep - eps;
                double down = GateMath.loss(spec, p, qp, kp, target, 1, nb);
                w[i] = keep;
                double fd = (up - down) / (2 * eps);
                double an = grads.get(a)[i];
                assertEquals(fd, an, 1e-7 + 1e-5 * Math.abs(fd), "param " + a + " index " + i);
                checked++;
            }
        }
        assertTrue(checked > 40);
    }

    private static void assertRelative(String what, double[] expected, double[] actual, double scale, double tol) {
        assertEquals(expected.length, actual.length, what + " length");
        double num = 0;
        double den = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i] * scale;
            num += (actual[i] - e) * (actual[i] - e);
            den += e * e;
        }
        double rel = Math.sqrt(num / den);
        assertTrue(rel <= tol, what + ": relative error " + rel + " > " + tol);
    }

    static float[] slice(float[] x, int index, int size) {
        float[] y = new float[size];
        System.arraycopy(x, index * size, y, 0, size);
        return y;
    }

    static double[] toDouble(float[] x) {
        return DistillationTrainer.toDouble(x);
    }

    @Test
    void lossOfMeanBatchEqualsMeanOfLosses() {
        GateSpec spec = spec("Qavg_Kmaxminavg", 8, 16, 2, 1, 16);
        SplittableRandom r = new SplittableRandom(9);
        GateParameters p = GateParameters.init(spec, 0.1, r);
        int nb = 4;
        double[] qp = random(2 * nb * 2 * 16, 1, r);
        double[] kp = random(2 * nb * 1 * 48, 1, r);
        double[] target = new double[2 * 2 * nb * nb];
        for (int row = 0; row < 2 * 2 * nb; row++) {
            int i = row % nb;
            for (int j = 0; j <= i; j++) {
                target[row * nb + j] = 1.0 / (i + 1);
            }
        }
        double both = GateMath.loss(spec, p, qp, kp, target, 2, nb);
        double first = GateMath.loss(spec, p, java.util.Arrays.copyOfRange(qp, 0, qp.length / 2),
                java.util.Arrays.copyOfRange(kp, 0, kp.length / 2), java.util.Arrays.copyOfRange(target, 0,
                        target.length / 2), 1, nb);
        double second = GateMath.loss(spec, p, java.util.Arrays.copyOfRange(qp, qp.length / 2, qp.length),
                java.util.Arrays.copyOfRange(kp, kp.length / 2, kp.length), java.util.Arrays.copyOfRange(target,
                        target.length / 2, target.length), 1, nb);
        assertEquals(both, (first + second) / 2, 1e-12);
    }
}
