package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.GateType;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;

/**
 * A 20-step run on the tiny model lowers the held-out distillation loss by ≥ 55 % (63 % observed; without gradient
 * clipping it falls to 34 %), and training is deterministic: every weight of every layer, for a seed end to end and
 * bit for bit on fixed samples.
 */
class DistillationRunTest {
    static final Path MODEL = Path.of("../models/tiny-llama-bytes");
    static final Path TRAIN = Path.of("../corpus/train-excerpt.bin");
    static final Path HELD_OUT = Path.of("../corpus/eval-moby.bin");

    @TempDir
    Path out;

    @Test
    void twentyStepsLowerHeldOutLossByFiftyFivePercent() throws Exception {
        int seq = 1024;
        DistillOptions o = DistillOptions.defaults(MODEL, TRAIN, out).withSeqLen(seq).withBatch(2).withSteps(20)
                .withLr(1e-2, 0).withSeed(7).withCheckpointEvery(10).withEngine("auto").withProgress(false);
        Distill.Result r = Distill.run(o);
        assertEquals(20, r.history().size());
        assertTrue(Files.exists(out.resolve("gates.safetensors")));
        assertTrue(Files.exists(out.resolve("checkpoint-step10.safetensors")));
        assertTrue(Files.exists(out.resolve("history.json")));

        Engine engine = Engines.byName("auto");
        try (LlamaModel model = LlamaModel.load(MODEL)) {
            ModelDims dims = ModelDims.of(model.config());
            GateSpec spec = dims.spec(GateType.DEFAULT, 64, dims.headDim());
            byte[] text = DistillationTrainer.readCorpus(HELD_OUT);
            List<GateSample[]> heldOut = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                heldOut.add(DistillationTrainer.capture(model, engine, spec,
                        DistillationTrainer.tokens(text, 20_000L * i + 5_000, seq)));
            }
            double before = DistillationTrainer.loss(GateSet.init(spec, 7), heldOut);
            GateSet trained = GateSet.load(out.resolve("gates.safetensors"), dims);
            double after = DistillationTrainer.loss(trained, heldOut);
            System.out.printf("held-out distillation loss: %.4f -> %.4f (%.1f %% lower), train loss %.4f -> %.4f, %.1f s%n",
                    before, after, 100 * (1 - after / before), r.history().getFirst().loss(),
                    r.history().getLast().loss(), r.seconds());
            assertTrue(after <= 0.45 * before, "held-out loss " + before + " -> " + after + " ("
                    + Math.round(100 * (1 - after / before)) + " % lower, need ≥ 55 %)");
        }
    }

    /**
     * Same seed, same run, bit for bit: the losses and every weight of every layer. (The CPU kernels give the same
     * bits whatever the JIT tier and thread count, cpu's DeterminismTest, so the captured activations do too.)
     */
    @Test
    void deterministicForASeed() {
        DistillOptions o = DistillOptions.defaults(MODEL, TRAIN, null).withSeqLen(256).withBatch(1).withSteps(3)
                .withLr(1e-2, 1).withSeed(3).withPoolWindows(2).withEngine("auto").withProgress(false);
        Distill.Result a = Distill.run(o);
        Distill.Result b = Distill.run(o);
        for (int i = 0; i < 3; i++) {
            double x = a.history().get(i).loss();
            assertEquals(x, b.history().get(i).loss(), 0, "loss of step " + i);
        }
        assertSameWeights(a.gates(), b.gates());
    }

    @Test
    void trainerIsBitwiseDeterministicOnFixedSamples() {
        GateSpec spec = GateSetTest.TINY.spec(GateType.DEFAULT, 64, 64);
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        List<GateSample[]> windows = new ArrayList<>();
        int nb = 6;
        for (int w = 0; w < 3; w++) {
            GateSample[] layers = new GateSample[spec.layers()];
            for (int l = 0; l < spec.layers(); l++) {
                float[] q = new float[nb * 6 * 64];
                float[] k = new float[nb * 2 * 192];
                float[] t = new float[6 * nb * nb];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) GateParameters.gaussian(r);
                }
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) GateParameters.gaussian(r);
                }
                for (int row = 0; row < 6 * nb; row++) {
                    int i = row % nb;
                    for (int j = 0; j <= i; j++) {
                        t[row * nb + j] = 1f / (i + 1);
                    }
                }
                layers[l] = new GateSample(q, k, t, nb);
            }
            windows.add(layers);
        }
        double[][] results = new double[2][];
        GateSet[] gates = new GateSet[2];
        for (int run = 0; run < 2; run++) {
            GateSet g = GateSet.init(spec, 5);
            DistillationTrainer t = new DistillationTrainer(g, new DistillationTrainer.Settings(4, 1e-2, 1, 0, 1.0),
                    AdamW.Settings.defaults(0));
            List<DistillationTrainer.StepLog> h = t.train(step -> windows, 0, null, null);
            results[run] = h.stream().mapToDouble(DistillationTrainer.StepLog::loss).toArray();
            gates[run] = g;
        }
        assertArrayEquals(results[0], results[1], 0);
        assertSameWeights(gates[0], gates[1]);
    }

    /** Every weight array of every layer, bit for bit. */
    static void assertSameWeights(GateSet a, GateSet b) {
        assertEquals(a.size(), b.size());
        List<double[]> x = DistillationTrainer.parameters(a);
        List<double[]> y = DistillationTrainer.parameters(b);
        assertEquals(x.size(), y.size());
        for (int i = 0; i < x.size(); i++) {
            assertEquals(x.get(i).length, y.get(i).length);
            for (int j = 0; j < x.get(i).length; j++) {
                if (Double.doubleToRawLongBits(x.get(i)[j]) != Double.doubleToRawLongBits(y.get(i)[j])) {
                    throw new AssertionError("parameter array " + i + " element " + j + ": " + x.get(i)[j] + " vs "
                            + y.get(i)[j]);
                }
            }
        }
    }
}
