package org.seerjava.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.llm.Decoder;
import org.seerjava.gpu.llm.DecoderAttention;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LlamaModel;
import org.seerjava.reference.engine.Engines;
import org.seerjava.runtime.GenerationOptions;
import org.seerjava.runtime.GenerationResult;
import org.seerjava.runtime.Generator;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Sampler;
import org.seerjava.runtime.Session;

/**
 * The CUDA backend on the embedded model ({@code models/tiny-llama-bytes}, bf16 weights) against the float32
 * forward of module {@code model} on the CPU engine: logits over an 8,192-byte window of held-out text, prefill
 * N + decode M against one forward of N + M, greedy generation run to run, no device memory left after 100
 * open / generate / close cycles, a clear refusal when the KV cache does not fit.
 *
 * <p>Tolerance: the GPU rounds the activations that enter each matrix product and the attention (normed x, q, k, v,
 * attention output, SwiGLU output) to bf16, 8 significant bits, relative error 2⁻⁹ per rounding; the products then
 * sum hundreds of such terms with independent errors, and four layers compound them. The logits (O(10)) may
 * therefore differ by a few hundredths to a few tenths; what must not change is the model's choice: the top-1 token
 * agrees at ≥ 98 % of the positions (issue #18), and the relative L2 error of the logits stays below 2 %.
 */
class CudaRuntimeTest {
    static final Path MODEL = locate("models/tiny-llama-bytes");
    static final Path CORPUS = locate("corpus/eval-moby.bin");

    static Path locate(String rel) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve(rel))) {
                return p.resolve(rel);
            }
        }
        return Path.of(rel);
    }

    /** Skips the test, printing why, when the CUDA backend cannot run here (for every GPU test of this package); under -Dseer.requireCuda=true it fails instead. */
    static void assumeGpu() {
        String reason = CudaRequirement.skipReason(new CudaBackend().unavailableReason());
        if (reason != null) {
            System.out.println("[seer-runtime] GPU test skipped: " + reason.lines().findFirst().orElse(reason));
        }
        Assumptions.assumeTrue(reason == null, "no GPU");
    }

    @BeforeEach
    void gpu() {
        assumeGpu();
        Assumptions.assumeTrue(CudaRequirement.skipReason(Files.isDirectory(MODEL) && Files.isRegularFile(CORPUS) ? null : "embedded model or corpus missing") == null, "embedded model or corpus missing");
    }

    static int[] window(int offset, int n) throws Exception {
        byte[] b = Files.readAllBytes(CORPUS);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = b[offset + i] & 0xFF;
        }
        return t;
    }

    static ModelRuntime open() {
        return ModelRuntime.open(ModelSource.checkpoint(MODEL), RuntimeOptions.defaults().backend("cuda"));
    }

    /** The sampler's argmax of the n logits from {@code from} (a NaN among them fails the test). */
    static int argmax(float[] x, int from, int n) {
        return Sampler.argmax(Arrays.copyOfRange(x, from, from + n));
    }

    @Test
    void logitsAgreeWithTheFloat32ForwardOver8192Tokens() throws Exception {
        int n = 8192;
        int[] tok = window(100_000, n);
        float[] cpu;
        try (LlamaModel m = LlamaModel.load(MODEL)) {
            cpu = m.forward(tok, AttentionPolicy.dense(Engines.byName("cpu")), 0);
        }
        try (CudaModelRuntime rt = (CudaModelRuntime) open();
             Decoder dec = new Decoder(rt.weightsForTest(), rt.invFreqForTest(), n, Decoder.DEFAULT_CHUNK)) {
            float[] gpu = dec.prefill(tok, DecoderAttention.dense(), 0);
            int v = rt.config().vocabSize();
            double num = 0;
            double den = 0;
            double maxAbs = 0;
            int agree = 0;
            double nllCpu = 0;
            double nllGpu = 0;
            for (int t = 0; t < n; t++) {
                agree += argmax(gpu, t * v, v) == argmax(cpu, t * v, v) ? 1 : 0;
                for (int i = 0; i < v; i++) {
                    double d = gpu[t * v + i] - cpu[t * v + i];
                    num += d * d;
                    den += (double) cpu[t * v + i] * cpu[t * v + i];
                    maxAbs = Math.max(maxAbs, Math.abs(d));
                }
                if (t + 1 < n) {
                    nllCpu += nll(cpu, t * v, v, tok[t + 1]);
                    nllGpu += nll(gpu, t * v, v, tok[t + 1]);
                }
            }
            double rel = Math.sqrt(num / den);
            double bpbCpu = nllCpu / (n - 1) / Math.log(2);
            double bpbGpu = nllGpu / (n - 1) / Math.log(2);
            System.out.printf(Locale.ROOT, "[seer-runtime] tiny-llama-bytes, 8192 bytes of Moby-Dick: GPU bf16 vs CPU"
                    + " float32 logits: max abs %.4f, relative L2 %.3e, top-1 agreement %d/%d = %.2f %%, bits/byte %.4f vs"
                    + " %.4f%n", maxAbs, rel, agree, n, 100.0 * agree / n, bpbGpu, bpbCpu);
            assertTrue(agree >= 0.98 * n, "top-1 agreement " + agree + "/" + n);
            assertTrue(rel < 2e-2, "relative L2 error " + rel);
            assertTrue(Math.abs(bpbGpu - bpbCpu) < 0.01, "bits per byte " + bpbGpu + " vs " + bpbCpu);
        }
    }

    @Test
    void seerAttentionAgreesWithTheFloat32ModelWithTheReferenceGates() throws Exception {
        int n = 8192;
        int[] tok = window(100_000, n);
        Path gateFile = MODEL.resolve("reference-gates/attn_gate_weights.safetensors");
        try (LlamaModel m = LlamaModel.load(MODEL);
             CudaModelRuntime rt = (CudaModelRuntime) open()) {
            org.seerjava.gate.GateSet gates = org.seerjava.gate.GateSet.load(gateFile,
                    org.seerjava.gate.ModelDims.of(m.config()));
            int v = m.config().vocabSize();
            for (double density : new double[] {0.3, 0.1}) {
                var policy = org.seerjava.gate.SeerAttentionPolicy.gate(Engines.byName("cpu"), gates, density);
                float[] cpu = m.forward(tok, policy, 0);
                float[] gpu;
                double gpuDensity;
                try (Decoder dec = new Decoder(rt.weightsForTest(), rt.invFreqForTest(), n, Decoder.DEFAULT_CHUNK)) {
                    gpu = dec.prefill(tok, new DecoderAttention.Seer(CudaModelRuntime.layerGates(gates),
                            new org.seerjava.reference.SelectionRule.TopK(density, false, true)), 0);
                    gpuDensity = dec.prefillDensity();
                }
                int agree = 0;
                double nllCpu = 0;
                double nllGpu = 0;
                for (int t = 0; t < n; t++) {
                    agree += argmax(gpu, t * v, v) == argmax(cpu, t * v, v) ? 1 : 0;
                    if (t + 1 < n) {
                        nllCpu += nll(cpu, t * v, v, tok[t + 1]);
                        nllGpu += nll(gpu, t * v, v, tok[t + 1]);
                    }
                }
                double bpbCpu = nllCpu / (n - 1) / Math.log(2);
                double bpbGpu = nllGpu / (n - 1) / Math.log(2);
                System.out.printf(Locale.ROOT, "[seer-runtime] SeerAttention top-k %.1f with the reference gates, 8192"
                        + " bytes: GPU density %.4f; top-1 agreement with the CPU float32 model %.2f %%, bits/byte %.4f"
                        + " vs %.4f%n", density, gpuDensity, 100.0 * agree / n, bpbGpu, bpbCpu);
                assertTrue(agree >= 0.97 * n, "top-1 agreement " + agree + "/" + n);
                assertTrue(Math.abs(bpbGpu - bpbCpu) < 0.01, "bits/byte " + bpbGpu + " vs " + bpbCpu);
                assertTrue(Math.abs(gpuDensity - density) < 0.05, "density " + gpuDensity);
            }
        }
    }

    static double nll(float[] logits, int off, int v, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < v; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        return Math.log(sum) + max - logits[off + target];
    }

    @Test
    void prefillThenDecodeEqualsOneForwardAndGreedyIsDeterministic() throws Exception {
        int n = 3000;
        int m = 16;
        int[] tok = window(20_000, n + m);
        try (ModelRuntime rt = open(); Session s = rt.newSession(n + m)) {
            float[] all;
            try (Decoder dec = new Decoder(((CudaModelRuntime) rt).weightsForTest(), ((CudaModelRuntime) rt).invFreqForTest(),
                    n + m, Decoder.DEFAULT_CHUNK)) {
                all = dec.prefill(tok, DecoderAttention.dense(), n - 1);
            }
            int v = rt.config().vocabSize();
            float[] step = new float[(m + 1) * v];
            System.arraycopy(s.prefill(Arrays.copyOf(tok, n)), 0, step, 0, v);
            for (int i = 0; i < m; i++) {
                System.arraycopy(s.decode(tok[n + i]), 0, step, (i + 1) * v, v);
            }
            double num = 0;
            double den = 0;
            double maxAbs = 0;
            for (int i = 0; i < step.length; i++) {
                double d = step[i] - all[i];
                num += d * d;
                den += (double) all[i] * all[i];
                maxAbs = Math.max(maxAbs, Math.abs(d));
            }
            double rel = Math.sqrt(num / den);
            System.out.printf(Locale.ROOT, "[seer-runtime] prefill %d + decode %d vs one prefill of %d: max abs %.4f,"
                    + " relative L2 %.3e%n", n, m, n + m, maxAbs, rel);
            assertTrue(rel < 1e-2, "relative error " + rel);
            for (int i = 0; i <= m; i++) {
                assertEquals(argmax(all, i * v, v), argmax(step, i * v, v), "top-1 at position " + (n - 1 + i));
            }
            int[] prompt = Arrays.copyOf(tok, 500);
            GenerationResult[] runs = new GenerationResult[2];
            for (int r = 0; r < 2; r++) {
                s.reset();
                runs[r] = Generator.generate(s, prompt, GenerationOptions.greedy(64), token -> true);
            }
            System.out.println("[seer-runtime] greedy continuation: " + new String(toBytes(runs[0].tokens()),
                    java.nio.charset.StandardCharsets.ISO_8859_1).replace('\n', ' '));
            assertArrayEquals(runs[0].tokens(), runs[1].tokens(), "greedy generation differs run to run");
            s.reset();
            int first = s.prefill(prompt, Sampler.greedy());
            assertEquals(runs[0].tokens()[0], first);
        }
    }

    static byte[] toBytes(int[] t) {
        byte[] b = new byte[t.length];
        for (int i = 0; i < t.length; i++) {
            b[i] = (byte) t[i];
        }
        return b;
    }

    @Test
    void nothingLeaksAcross100OpenGenerateCloseCycles() throws Exception {
        int[] prompt = window(60_000, 256);
        CudaContext.get().synchronize();
        long live = DeviceBuffer.liveBytes();
        long free = CudaContext.get().memoryInfo()[0];
        for (int i = 0; i < 100; i++) {
            try (ModelRuntime rt = open(); Session s = rt.newSession(300)) {
                Generator.generate(s, prompt, GenerationOptions.greedy(8), token -> true);
            }
        }
        CudaContext.get().synchronize();
        long free2 = CudaContext.get().memoryInfo()[0];
        System.out.printf(Locale.ROOT, "[seer-runtime] 100 open/generate/close cycles of the embedded model: live device"
                + " bytes %d → %d, free %d → %d%n", live, DeviceBuffer.liveBytes(), free, free2);
        assertEquals(live, DeviceBuffer.liveBytes());
        assertTrue(free - free2 < (16L << 20), "free device memory fell by " + (free - free2));
    }

    @Test
    void aSessionThatDoesNotFitSaysBytesNeededAndFree() {
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(MODEL),
                RuntimeOptions.defaults().backend("cuda").allowBeyondMaxPositions(true))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> rt.newSession(1_500_000_000));
            System.out.println("[seer-runtime] " + e.getMessage());
            assertTrue(e.getMessage().contains("free") && e.getMessage().contains("bytes"), e.getMessage());
        }
        try (ModelRuntime rt = open()) {
            IllegalArgumentException beyond = assertThrows(IllegalArgumentException.class, () -> rt.newSession(20_000));
            System.out.println("[seer-runtime] " + beyond.getMessage());
            assertTrue(beyond.getMessage().contains("max_position_embeddings"), beyond.getMessage());
        }
    }
}
