package org.seerjava.gpu.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.gpu.AttentionKernel;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;

/**
 * The decode attention (split keys, then a combine) against causal attention computed on the host in double on the
 * same bf16 values; and the prefill attention kernels writing their output over q (what the decoder does to save a
 * buffer of the prompt's size) against the same kernels with a separate output.
 */
class AttentionKernelsTest {
    @BeforeEach
    void gpu() {
        Dev.assume(false);
    }

    /** out[t, h] over keys 0 .. p0 + t, in double. */
    static double[] hostAttention(float[] q, float[] k, float[] v, int tokens, int hq, int hkv, int d, int p0) {
        double[] out = new double[tokens * hq * d];
        int g = hq / hkv;
        double scale = 1 / Math.sqrt(d);
        for (int t = 0; t < tokens; t++) {
            int keys = p0 + t + 1;
            for (int h = 0; h < hq; h++) {
                int kh = h / g;
                double[] sc = new double[keys];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < keys; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) {
                        dot += (double) q[(t * hq + h) * d + e] * k[(j * hkv + kh) * d + e];
                    }
                    sc[j] = dot * scale;
                    max = Math.max(max, sc[j]);
                }
                double sum = 0;
                for (int j = 0; j < keys; j++) {
                    sc[j] = Math.exp(sc[j] - max);
                    sum += sc[j];
                }
                for (int j = 0; j < keys; j++) {
                    for (int e = 0; e < d; e++) {
                        out[(t * hq + h) * d + e] += sc[j] / sum * v[(j * hkv + kh) * d + e];
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"1, 0, 4, 4, 64, 1", "1, 1, 6, 2, 64, 7", "1, 63, 8, 1, 128, 33", "1, 1000, 32, 8, 128, 33",
            "3, 200, 6, 2, 64, 5", "5, 77, 32, 8, 128, 2", "2, 4095, 4, 2, 128, 64", "64, 100, 8, 2, 64, 1"})
    void decodeAttentionMatchesTheHost(int tokens, int p0, int hq, int hkv, int d, int splits) {
        Random r = new Random(tokens * 1000L + p0 + d);
        int keys = p0 + tokens;
        float[] q = Dev.uniform(r, tokens * hq * d, 2f);
        float[] k = Dev.uniform(r, keys * hkv * d, 2f);
        float[] v = Dev.uniform(r, keys * hkv * d, 1f);
        double[] want = hostAttention(q, k, v, tokens, hq, hkv, d, p0);
        try (Stream s = new Stream(); DeviceBuffer qb = Dev.bf16Buffer(q); DeviceBuffer kb = Dev.bf16Buffer(k);
             DeviceBuffer vb = Dev.bf16Buffer(v); DeviceBuffer pos = Dev.intBuffer(p0 - 1);
             DeviceBuffer ml = DeviceBuffer.allocate((long) tokens * hq * splits * 8);
             DeviceBuffer po = DeviceBuffer.allocate((long) tokens * hq * splits * d * 4);
             DeviceBuffer out = DeviceBuffer.allocate((long) tokens * hq * d * 2)) {
            out.fill((byte) 0xFF);
            ModelKernels.decodeAttention(s, qb.pointer(), kb.pointer(), vb.pointer(), pos.pointer(), 1, ml.pointer(),
                    po.pointer(), out.pointer(), tokens, hq, hkv, d, splits, 1 / Math.sqrt(d));
            s.synchronize();
            float[] got = Dev.readBf16(out, tokens * hq * d);
            double err = Dev.relError(got, want);
            System.out.printf("[seer-gpu] decode attention T%d after %d, %d/%d D%d, %d splits: rel err %.2e%n", tokens,
                    p0, hq, hkv, d, splits, err);
            assertTrue(err < 4e-3, "relative error " + err);
            // in place: the output over q gives the same bits
            ModelKernels.decodeAttention(s, qb.pointer(), kb.pointer(), vb.pointer(), pos.pointer(), 1, ml.pointer(),
                    po.pointer(), qb.pointer(), tokens, hq, hkv, d, splits, 1 / Math.sqrt(d));
            s.synchronize();
            assertArrayEquals(got, Dev.readBf16(qb, tokens * hq * d), "in-place decode attention");
        }
    }

    @ParameterizedTest
    @CsvSource({"dense, 1000, 64", "dense, 8192, 128", "dense, 333, 128", "sparse, 1000, 128", "sparse, 2049, 64",
            "target, 1000, 128", "target, 8200, 64"})
    void prefillKernelsMayWriteOverQ(String mode, int n, int d) {
        Random r = new Random(n + d);
        int hq = 8;
        int hkv = 2;
        int nb = Math.ceilDiv(n, 64);
        float[] q = Dev.uniform(r, n * hq * d, 2f);
        float[] k = Dev.uniform(r, n * hkv * d, 2f);
        float[] v = Dev.uniform(r, n * hkv * d, 1f);
        byte[] mask = new byte[hq * nb * nb];
        for (int i = 0; i < mask.length; i++) {
            int qb = (i / nb) % nb;
            int kb = i % nb;
            mask[i] = (byte) (kb == qb || (kb < qb && r.nextDouble() < 0.3) ? 1 : 0);
        }
        float sl = (float) (SeerKernels.LOG2E / Math.sqrt(d));
        AttentionKernel kernel = AttentionKernel.forDevice(switch (mode) {
            case "sparse" -> AttentionKernel.Op.SPARSE;
            case "target" -> AttentionKernel.Op.DENSE_TARGET;
            default -> AttentionKernel.Op.DENSE;
        }, d);
        var spec = kernel.spec(d);
        var l = kernel.launch(nb, hq, 1, d);
        int slots = mode.equals("target") ? kernel.targetScratchSlots() : 1;
        try (Stream s = new Stream(); DeviceBuffer qb = Dev.bf16Buffer(q); DeviceBuffer kb = Dev.bf16Buffer(k);
             DeviceBuffer vb = Dev.bf16Buffer(v); DeviceBuffer mb = DeviceBuffer.of(mask);
             DeviceBuffer out = DeviceBuffer.allocate((long) n * hq * d * 2);
             DeviceBuffer scratch = DeviceBuffer.allocate(SeerKernels.targetScratchBytes(slots, nb));
             DeviceBuffer t1 = DeviceBuffer.allocate((long) hq * nb * nb * 4);
             DeviceBuffer t2 = DeviceBuffer.allocate((long) hq * nb * nb * 4)) {
            SeerKernels.clearTargetScratchLocks(scratch, slots, nb, s);
            Object[] separate = switch (mode) {
                case "sparse" -> new Object[] {qb, kb, vb, mb, out, n, hq, hkv, nb, sl};
                case "target" -> new Object[] {qb, kb, vb, out, scratch, t1, n, hq, hkv, nb, sl, slots};
                default -> new Object[] {qb, kb, vb, out, n, hq, hkv, nb, sl};
            };
            Object[] inPlace = switch (mode) {
                case "sparse" -> new Object[] {qb, kb, vb, mb, qb, n, hq, hkv, nb, sl};
                case "target" -> new Object[] {qb, kb, vb, qb, scratch, t2, n, hq, hkv, nb, sl, slots};
                default -> new Object[] {qb, kb, vb, qb, n, hq, hkv, nb, sl};
            };
            spec.kernel().launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), separate);
            spec.kernel().launch(s, l.gx(), l.gy(), l.gz(), l.bx(), l.by(), l.bz(), l.sharedBytes(), inPlace);
            s.synchronize();
            float[] a = Dev.readBf16(out, n * hq * d);
            float[] b = Dev.readBf16(qb, n * hq * d);
            assertArrayEquals(a, b, mode + " attention written over q differs from a separate output");
            if (mode.equals("target")) {
                assertArrayEquals(Dev.readF32(t1, hq * nb * nb), Dev.readF32(t2, hq * nb * nb), "pooled target");
            }
            if (mode.equals("dense") && n <= 1000) {
                double[] want = hostAttention(q, k, v, n, hq, hkv, d, 0);
                {
                    double err = Dev.relError(a, want);
                    System.out.printf("[seer-gpu] dense %s N%d D%d in place: identical, rel err vs host %.2e%n",
                            kernel.label(), n, d, err);
                    assertTrue(err < 2e-2, "dense relative error " + err);
                }
            }
        }
    }
}
