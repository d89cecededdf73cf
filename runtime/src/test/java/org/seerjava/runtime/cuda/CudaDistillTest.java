package org.seerjava.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.seerjava.gate.CapturePolicy;
import org.seerjava.gate.Distill;
import org.seerjava.gate.DistillOptions;
import org.seerjava.gate.GateSample;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.GateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.gpu.llm.Decoder;
import org.seerjava.gpu.llm.GateTraining.LayerCapture;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.Metrics;
import org.seerjava.reference.GateType;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeOptions;

/**
 * Gate distillation on the GPU against the CPU trainer on the embedded model: the device's capture (bf16 model,
 * fused target kernel, pooling) against {@link CapturePolicy} on the float32 model, and the held-out bits per byte of
 * gates distilled on the GPU against gates distilled on the CPU with the same steps and windows (within 0.002 at
 * densities 0.2 and 0.1, issue #18), both evaluated by the CPU engine.
 */
class CudaDistillTest {
    static final Path MODEL = CudaRuntimeTest.MODEL;
    static final Path TRAIN = CudaRuntimeTest.locate("corpus/train-excerpt.bin");

    @BeforeEach
    void gpu() {
        CudaRuntimeTest.assumeGpu();
        Assumptions.assumeTrue(CudaRequirement.skipReason(Files.isDirectory(MODEL) && Files.isRegularFile(TRAIN) ? null : "model or corpus missing") == null, "model or corpus missing");
    }

    static double rel(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < b.length; i++) {
            double d = a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void captureMatchesTheCpuCapture() throws Exception {
        int[] tok = CudaRuntimeTest.window(50_000, 2048);
        Engine cpu = Engines.byName("cpu");
        try (LlamaModel m = LlamaModel.load(MODEL);
             CudaModelRuntime rt = CudaModelRuntime.open(ModelSource.checkpoint(MODEL), new RuntimeOptions("cuda", 0, false));
             Decoder dec = new Decoder(rt.weightsForTest(), rt.invFreqForTest(), 2048, Decoder.DEFAULT_CHUNK)) {
            ModelDims dims = ModelDims.of(m.config());
            GateSpec spec = dims.spec(GateType.DEFAULT, 64, dims.headDim());
            GateSample[] want = captureCpu(m, cpu, spec, tok);
            List<LayerCapture> got = CudaDistill.capture(dec, spec, tok);
            try {
                double worstQ = 0;
                double worstK = 0;
                double worstT = 0;
                for (int l = 0; l < want.length; l++) {
                    worstQ = Math.max(worstQ, rel(got.get(l).qPooled().toFloats(), want[l].qPooled()));
                    worstK = Math.max(worstK, rel(got.get(l).kPooled().toFloats(), want[l].kPooled()));
                    worstT = Math.max(worstT, rel(got.get(l).target().toFloats(), want[l].target()));
                    assertEquals(want[l].blocks(), got.get(l).blocks());
                }
                System.out.printf(Locale.ROOT, "[seer-runtime] GPU capture vs CPU capture, 2048 tokens, 4 layers: worst"
                        + " relative L2 error pooled q %.2e, pooled k %.2e, target %.2e%n", worstQ, worstK, worstT);
                assertTrue(worstQ < 2e-2 && worstK < 2e-2 && worstT < 5e-2, "capture differs");
            } finally {
                got.forEach(LayerCapture::close);
            }
        }
    }

    static GateSample[] captureCpu(LlamaModel m, Engine engine, GateSpec spec, int[] tok) {
        CapturePolicy p = new CapturePolicy(engine, spec);
        m.forward(tok, p, tok.length - 1);
        return p.samples();
    }

    @Test
    void gpuDistillationMatchesTheCpuTrainer() throws Exception {
        Path dir = Files.createTempDirectory("seer-distill");
        DistillOptions base = DistillOptions.defaults(MODEL, TRAIN, null).withSteps(100).withSeqLen(2048).withBatch(4)
                .withPoolWindows(16).withProgress(false);
        long t0 = System.nanoTime();
        Distill.Result cpu = Distill.run(base.withEngine("cpu").withOutputDir(dir.resolve("cpu")));
        double cpuSec = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        Distill.Result gpu = CudaDistill.run(base.withOutputDir(dir.resolve("gpu")));
        double gpuSec = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "[seer-runtime] distillation, 100 steps of 4 × 2048 bytes (16 windows): CPU %.1f s,"
                + " loss %.4f → %.4f; GPU %.1f s, loss %.4f → %.4f%n", cpuSec, cpu.history().getFirst().loss(),
                cpu.history().getLast().loss(), gpuSec, gpu.history().getFirst().loss(), gpu.history().getLast().loss());
        assertEquals(cpu.history().getFirst().loss(), gpu.history().getFirst().loss(),
                5e-2 * cpu.history().getFirst().loss(), "first-step loss");
        Engine engine = Engines.byName("cpu");
        try (LlamaModel m = LlamaModel.load(MODEL)) {
            for (double density : new double[] {0.2, 0.1}) {
                double[] bpb = new double[2];
                GateSet[] sets = {cpu.gates(), gpu.gates()};
                for (int g = 0; g < 2; g++) {
                    double nats = 0;
                    long count = 0;
                    for (int w = 0; w < 2; w++) {
                        int[] tok = CudaRuntimeTest.window(120_000 + w * 30_000, 8192);
                        float[] logits = m.forward(tok, SeerAttentionPolicy.gate(engine, sets[g], density), 0);
                        int[] targets = new int[tok.length - 1];
                        System.arraycopy(tok, 1, targets, 0, targets.length);
                        float[] head = java.util.Arrays.copyOf(logits, targets.length * m.config().vocabSize());
                        Metrics.CrossEntropy ce = Metrics.crossEntropy(head, m.config().vocabSize(), targets);
                        nats += ce.nats();
                        count += ce.tokens();
                    }
                    bpb[g] = nats / count / Math.log(2);
                }
                System.out.printf(Locale.ROOT, "[seer-runtime] held-out bits/byte at density %.1f (2 × 8192 bytes of"
                        + " Moby-Dick): CPU-distilled gates %.4f, GPU-distilled %.4f, difference %.4f%n", density, bpb[0],
                        bpb[1], bpb[1] - bpb[0]);
                assertTrue(Math.abs(bpb[1] - bpb[0]) <= 0.002, "bits/byte differ by " + (bpb[1] - bpb[0]));
            }
        }
    }
}
