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

/** Acceptance 3 of issue 5: a 20-step run on the tiny model lowers the held-out distillation loss by ≥ 30 %. */
class DistillationRunTest {
    static final Path MODEL = Path.of("../models/tiny-llama-bytes");
    static final Path TRAIN = Path.of("../corpus/train-excerpt.bin");
    static final Path HELD_OUT = Path.of("../corpus/eval-moby.bin");

    @TempDir
    Path out;

    @Test
    void twentyStepsLowerHeldOutLossByThirtyPercent() throws Exception {
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
            assertTrue(after <= 0.7 * before, "held-out loss " + before + " -> " + after);
        }
    }

    /**
     * Same seed, same run. The trainer itself is bit-for-bit deterministic (see
     * {@link #trainerIsBitwiseDeterministicOnFixedSamples}); the captured activations come from the model's and the
     * engine's Vector API code, whose float reductions can round differently once the JIT recompiles them, so the
     * end-to-end comparison allows float32 rounding of the captured activations.
     */
    @Test
    void deterministicForASeed() {
        DistillOptions o = DistillOptions.defaults(MODEL, TRAIN, null).withSeqLen(256).withBatch(1).withSteps(3)
                .withLr(1e-2, 1).withSeed(3).withPoolWindows(2).withEngine("auto").withProgress(false);
        Distill.Result a = Distill.run(o);
        Distill.Result b = Distill.run(o);
        for (int i = 0; i < 3; i++) {
            double x = a.history().get(i).loss();
            assertEquals(x, b.history().get(i).loss(), 1e-6 * Math.abs(x));
        }
        // Adam normalises each gradient coordinate, so a rounding-level difference in a near-zero gradient can move a
        // weight by up to ~lr; in practice the differences stay far below that.
        assertArrayEquals(a.gates().layer(2).wk(), b.gates().layer(2).wk(), 1e-4);
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
        for (int run = 0; run < 2; run++) {
            GateSet g = GateSet.init(spec, 5);
            DistillationTrainer t = new DistillationTrainer(g, new DistillationTrainer.Settings(4, 1e-2, 1, 0, 1.0),
                    AdamW.Settings.defaults(0));
            List<DistillationTrainer.StepLog> h = t.train(step -> windows, 0, null, null);
            results[run] = new double[] {h.get(3).loss(), g.layer(1).wk()[17], g.layer(3).wk()[12345]};
        }
        assertArrayEquals(results[0], results[1], 0);
    }
}
