package org.seerjava.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.DecodeDistill;
import org.seerjava.gate.DecodeGateSample;
import org.seerjava.gate.DecodeGateSet;
import org.seerjava.gate.DecodeGateSpec;
import org.seerjava.gate.ModelDims;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engines;

/**
 * Decode-gate distillation with the CUDA engine ({@code seer distill-decode --backend cuda}): the capture pass's
 * dense attention, decode target and key pooling run on the GPU in float32 (the model's other layers on the CPU),
 * the training step on the host in float64 as with the CPU engine. On the embedded model: one window's capture
 * against the CPU engine's (layer 0's pre-RoPE queries bit for bit, since the CPU computes them either way; the
 * later layers' queries, which follow the GPU's float32 attention, the pooled keys and the targets within 1e-5
 * relative), then six steps of {@link DecodeDistill#run} on both engines: the same
 * losses within 1e-4 relative, the gates saved in the official naming.
 */
class CudaDecodeDistillTest {
    static final Path TRAIN = CudaRuntimeTest.locate("corpus/train-excerpt.bin");

    @BeforeEach
    void gpu() {
        CudaRuntimeTest.assumeGpu();
        Assumptions.assumeTrue(CudaRequirement.skipReason(Files.isDirectory(CudaRuntimeTest.MODEL)
                && Files.isRegularFile(TRAIN) ? null : "model or corpus missing") == null, "model or corpus missing");
    }

    @Test
    void theCaptureIsTheCpuEnginesAndTrainingFollowsIt(@TempDir Path dir) throws Exception {
        int[] tokens = CudaRuntimeTest.window(40_000, 1000);            // not a multiple of the block
        try (LlamaModel m = LlamaModel.load(CudaRuntimeTest.MODEL)) {
            DecodeGateSpec spec = DecodeGateSpec.of(ModelDims.of(m.config()), 64, true);
            int[] rows = DecodeDistill.rows(tokens.length, 100, new SplittableRandom(5));
            DecodeGateSample[] cpu = DecodeDistill.capture(m, Engines.byName("cpu"), spec, tokens, rows);
            DecodeGateSample[] cuda = DecodeDistill.capture(m, Engines.byName("cuda"), spec, tokens, rows);
            assertArrayEquals(cpu[0].qNope(), cuda[0].qNope(), "layer 0's pre-RoPE queries (before any attention)");
            for (int l = 0; l < cpu.length; l++) {
                double q = CudaDistillTest.rel(cuda[l].qNope(), cpu[l].qNope());
                assertTrue(q <= 1e-5, "pre-RoPE queries of layer " + l + ": " + q);
                double k = CudaDistillTest.rel(cuda[l].kPooled(), cpu[l].kPooled());
                double t = CudaDistillTest.rel(cuda[l].target(), cpu[l].target());
                System.out.printf("[seer-runtime] decode capture layer %d: pooled keys rel %.2e, target rel %.2e%n", l,
                        k, t);
                assertTrue(k <= 1e-5, "pooled keys of layer " + l + ": " + k);
                assertTrue(t <= 1e-5, "decode target of layer " + l + ": " + t);
            }
        }
        DecodeDistill.Result[] runs = new DecodeDistill.Result[2];
        String[] engines = {"cpu", "cuda"};
        for (int e = 0; e < 2; e++) {
            runs[e] = DecodeDistill.run(new DecodeDistill.Options(CudaRuntimeTest.MODEL, TRAIN,
                    dir.resolve(engines[e]), 64, true, 1024, 64, 2, 6, 1e-2, 2, 0, 1.0, 7, 3, 0, engines[e], false));
        }
        for (int s = 0; s < 6; s++) {
            double a = runs[0].history().get(s).loss();
            double b = runs[1].history().get(s).loss();
            assertEquals(a, b, 1e-4 * Math.abs(a), "loss at step " + s);
        }
        System.out.printf("[seer-runtime] distill-decode 6 steps: loss %.5f -> %.5f (cuda), %.5f -> %.5f (cpu)%n",
                runs[1].history().getFirst().loss(), runs[1].history().getLast().loss(),
                runs[0].history().getFirst().loss(), runs[0].history().getLast().loss());
        Path file = runs[1].gateFile();
        assertTrue(Files.isRegularFile(file), "gates written: " + file);
        DecodeGateSet loaded = DecodeGateSet.load(file, ModelDims.of(org.seerjava.model.LlamaConfig.load(
                CudaRuntimeTest.MODEL.resolve("config.json"))));
        assertEquals(4, loaded.size(), "a decode gate per layer, read back by its official names");
    }
}
