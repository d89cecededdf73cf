package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.engine.ReferenceEngine;

/**
 * The per-row bf16 tolerance of the GPU tests ({@link Gpu#assertRowsWithinBf16}) checked on the CPU, no GPU needed:
 * a host emulation of what the tensor-core kernels round (scores accumulated in fp32 from bf16 q and k, each
 * probability rounded to bf16 before P·V, the sum of the unrounded probabilities in fp32, the output rounded to bf16)
 * stays within the bound, and the same emulation with one future key leaked into the rows of the partial last block
 * fails it, naming that block.
 */
class Bf16RowBoundTest {

    /** Causal attention as the bf16 kernels round it; {@code leak}: rows of the partial last block see key i + 1. */
    static float[] emulateKernel(float[] q, float[] k, float[] v, AttentionShape s, double scale, boolean leak) {
        int N = s.seqLen();
        int Hq = s.qHeads();
        int Hkv = s.kvHeads();
        int D = s.headDim();
        int partialFrom = N - N % 64;
        float sl = (float) (scale * SeerKernels.LOG2E);
        float[] out = new float[(int) s.qElements()];
        for (int row = 0; row < out.length / D; row++) {
            int h = row % Hq;
            int i = (row / Hq) % N;
            int b = row / (Hq * N);
            int kh = h / (Hq / Hkv);
            int last = leak && N % 64 != 0 && i >= partialFrom && i + 1 < N ? i + 1 : i;
            float[] sc = new float[last + 1];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= last; j++) {
                float dot = 0;
                for (int d = 0; d < D; d++) {
                    dot = Math.fma(q[row * D + d], k[((b * N + j) * Hkv + kh) * D + d], dot);
                }
                sc[j] = dot;
                max = Math.max(max, dot);
            }
            float l = 0;
            float[] acc = new float[D];
            for (int j = 0; j <= last; j++) {
                float p = (float) Math.pow(2, Math.fma(sc[j], sl, -max * sl));
                l += p;
                float pb = Gpu.bf16Round(p);
                for (int d = 0; d < D; d++) {
                    acc[d] = Math.fma(pb, v[((b * N + j) * Hkv + kh) * D + d], acc[d]);
                }
            }
            float inv = 1 / l;
            for (int d = 0; d < D; d++) {
                out[row * D + d] = Gpu.bf16Round(acc[d] * inv);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "B{0} N{1} Hq{2} Hkv{3} D{4} q×{5}")
    @CsvSource({"1, 333, 4, 2, 128, 2", "2, 77, 4, 2, 64, 2", "1, 200, 2, 1, 64, 1", "1, 160, 6, 3, 64, 3"})
    void emulatedKernelPassesAndAOneKeyLeakInThePartialBlockFails(int B, int N, int Hq, int Hkv, int D, float sharp) {
        Random r = new Random(N + 7L * D);
        AttentionShape shape = new AttentionShape(B, N, Hq, Hkv, D);
        float[] q = Gpu.random(r, shape.qElements());
        for (int i = 0; i < q.length; i++) {
            q[i] *= sharp;
        }
        q = Gpu.roundBf16(q);
        float[] k = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        float[] v = Gpu.roundBf16(Gpu.random(r, shape.kvElements()));
        double scale = 1 / Math.sqrt(D);
        float[] want = new float[(int) shape.qElements()];
        new ReferenceEngine().denseCausal(q, k, v, want, shape, scale);
        double[] absV = Gpu.absWeightedV(q, k, v, null, shape, 64, scale);
        String tag = "emulated B" + B + " N" + N + " Hq" + Hq + " Hkv" + Hkv + " D" + D;

        Gpu.assertRowsWithinBf16(tag, emulateKernel(q, k, v, shape, scale, false), want, absV, shape);

        // the whole-tensor relative L2 error barely notices the leak; the per-row check names the block
        float[] leaked = emulateKernel(q, k, v, shape, scale, true);
        double relL2 = Gpu.relError(leaked, want);
        System.out.printf("[seer-gpu] %s with a one-key leak in the partial block: whole-tensor rel L2 %.2e%n", tag,
                relL2);
        AssertionError e = assertThrows(AssertionError.class,
                () -> Gpu.assertRowsWithinBf16(tag + " leaked", leaked, want, absV, shape));
        assertTrue(e.getMessage().contains("a row of the partial last query block (queries " + (N - N % 64) + ".."
                + (N - 1) + ")"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"1.0, 0x1p-8", "1.5, 0x1p-8", "0.75, 0x1p-9", "3.0, 0x1p-7", "0.0, 0x1p-134"})
    void halfUlpOfBf16(double x, double half) {
        assertEquals(half, Gpu.bf16HalfUlp(x));
        if (x > 0) {   // rounding x + just under half an ulp comes back to x; x + an ulp does not
            assertEquals((float) x, Gpu.bf16Round((float) (x + 0.99 * half)));
            assertTrue(Gpu.bf16Round((float) (x + 2 * half)) != (float) x);
        }
    }
}
