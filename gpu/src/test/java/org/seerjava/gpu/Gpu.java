package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.engine.Floats;

/** Test support: the GPU assumption (skips with a printed reason), random data, error norms, bf16 rounding. */
final class Gpu {
    private Gpu() {
    }

    /**
     * Skips the calling test, printing why, when no CUDA driver, GPU or NVRTC is present; fails it instead under
     * {@code -Dseer.requireCuda=true} ({@link CudaRequirement}).
     */
    static void assume() {
        String reason = CudaRequirement.engineSkipReason();
        if (reason != null) {
            System.out.println("[seer-gpu] GPU test skipped: " + reason.lines().findFirst().orElse(reason));
        }
        Assumptions.assumeTrue(reason == null, () -> "GPU test skipped: " + reason);
    }

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** ‖out − ref‖ / ‖ref‖; NaN and infinity never pass. */
    static double relError(float[] out, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(out[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double d = (double) out[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static void assertClose(String what, float[] out, float[] ref, double tol) {
        double e = relError(out, ref);
        System.out.printf("[seer-gpu] %-60s rel err %.3e (tol %.0e)%n", what, e, tol);
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }

    static void assertAllFinite(String what, float[] x) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new AssertionError(what + ": element " + i + " was not written (" + x[i] + ")");
            }
        }
    }

    /** Rounds to bf16 (nearest even) and back. */
    static float bf16Round(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat((bits + rounding) & 0xFFFF0000);
    }

    static short bf16Bits(float f) {
        return (short) (Float.floatToRawIntBits(bf16Round(f)) >>> 16);
    }

    static float[] roundBf16(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = bf16Round(x[i]);
        }
        return y;
    }

    static short[] toBf16(float[] x) {
        short[] y = new short[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = bf16Bits(x[i]);
        }
        return y;
    }

    static float[] fromBf16(short[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = Float.intBitsToFloat((x[i] & 0xFFFF) << 16);
        }
        return y;
    }

    /**
     * Half a bf16 unit in the last place at {@code x ≥ 0}: bf16 keeps 8 significant bits, so a value in
     * [2^e, 2^(e+1)) rounds with an error of at most 2^(e−8).
     */
    static double bf16HalfUlp(double x) {
        int e = Math.getExponent((float) Math.max(Math.abs(x), 0x1p-126));
        return Math.scalb(1.0, e - 8);
    }

    /**
     * Σ_j p_ij·|v_j| for every output element {@code [B, N, Hq, D]} of causal attention (key j ≤ query i, in a kept
     * block when {@code mask} is not null; GQA head h reads kv head h / (Hq / Hkv)), in double, rows in parallel.
     * It is what the bf16 rounding of the probabilities P can move an output by: the kernels round each p_ij to bf16
     * (relative error ≤ 2^-8, bf16 keeping 8 significant bits) before P·V and normalise by the fp32 sum of the unrounded p_ij.
     */
    static double[] absWeightedV(float[] q, float[] k, float[] v, BlockMask mask, AttentionShape s, int bs,
                                 double scale) {
        int B = s.batch();
        int N = s.seqLen();
        int Hq = s.qHeads();
        int Hkv = s.kvHeads();
        int D = s.headDim();
        int nb = s.blocks(bs);
        byte[] bits = mask == null ? null : mask.toBytes();
        double[] out = new double[(int) s.qElements()];
        java.util.stream.IntStream.range(0, B * N * Hq).parallel().forEach(row -> {
            int h = row % Hq;
            int i = (row / Hq) % N;
            int b = row / (Hq * N);
            int kh = h / (Hq / Hkv);
            long qo = (long) row * D;
            double[] sc = new double[i + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                boolean kept = bits == null || bits[((b * Hq + h) * nb + i / bs) * nb + j / bs] != 0;
                if (!kept) {
                    sc[j] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                long ko = ((long) (b * N + j) * Hkv + kh) * D;
                double dot = 0;
                for (int d = 0; d < D; d++) {
                    dot += (double) q[(int) qo + d] * k[(int) ko + d];
                }
                sc[j] = dot * scale;
                max = Math.max(max, sc[j]);
            }
            if (max == Double.NEGATIVE_INFINITY) {
                return;   // no kept key: the output is 0, exactly
            }
            double sum = 0;
            double[] acc = new double[D];
            for (int j = 0; j <= i; j++) {
                if (sc[j] == Double.NEGATIVE_INFINITY) {
                    continue;
                }
                double p = Math.exp(sc[j] - max);
                sum += p;
                long vo = ((long) (b * N + j) * Hkv + kh) * D;
                for (int d = 0; d < D; d++) {
                    acc[d] += p * Math.abs(v[(int) vo + d]);
                }
            }
            for (int d = 0; d < D; d++) {
                out[(int) qo + d] = acc[d] / sum;
            }
        });
        return out;
    }

    /**
     * A bf16 attention output {@code [B, N, Hq, D]} against the reference, row by row (one row = one query of one
     * head), with the rows of the partial last query block (N not a multiple of 64) checked on their own first. Each
     * element may differ by the bf16 rounding the kernels do: ε = (2^-8 + 2^-12)·Σ_j p_ij|v_j| + 10^-6 (P rounded to
     * bf16, plus fp32 accumulation) and half a bf16 ulp of the output; about 4e-3 at |o| ≈ 1. Prints the worst row's
     * max abs error and its ratio to the bound.
     */
    static void assertRowsWithinBf16(String what, float[] out, float[] ref, double[] absV, AttentionShape s) {
        int N = s.seqLen();
        int Hq = s.qHeads();
        int D = s.headDim();
        int partialFrom = N % 64 == 0 ? N : N - N % 64;
        double[] worst = new double[2];           // worst ratio: [full blocks, partial last block]
        double[] worstAbs = new double[2];
        String[] worstRow = {"-", "-"};
        String firstFail = null;
        String firstFailPartial = null;
        for (int row = 0; row < out.length / D; row++) {
            int i = (row / Hq) % N;
            int part = i >= partialFrom ? 1 : 0;
            double maxAbs = 0;
            double ratio = 0;
            for (int d = 0; d < D; d++) {
                int e = row * D + d;
                if (!Float.isFinite(out[e])) {
                    throw new AssertionError(what + ": row " + describeRow(row, s) + " element " + d + " is " + out[e]);
                }
                double err = Math.abs((double) out[e] - ref[e]);
                double eps = (0x1p-8 + 0x1p-12) * absV[e] + 1e-6;
                double bound = eps + bf16HalfUlp(Math.abs(ref[e]) + eps);
                maxAbs = Math.max(maxAbs, err);
                ratio = Math.max(ratio, err / bound);
            }
            if (ratio > worst[part]) {
                worst[part] = ratio;
                worstAbs[part] = maxAbs;
                worstRow[part] = describeRow(row, s);
            }
            if (ratio > 1 && part == 1 && firstFailPartial == null) {
                firstFailPartial = describeRow(row, s) + String.format(" max abs err %.3e (%.2f× the bound)", maxAbs,
                        ratio);
            } else if (ratio > 1 && part == 0 && firstFail == null) {
                firstFail = describeRow(row, s) + String.format(" max abs err %.3e (%.2f× the bound)", maxAbs, ratio);
            }
        }
        System.out.printf("[seer-gpu] %-58s per row: worst %s err %.2e = %.2f× bound; partial last block %s%n", what,
                worstRow[0], worstAbs[0], worst[0], partialFrom == N ? "none"
                        : String.format("worst %s err %.2e = %.2f× bound", worstRow[1], worstAbs[1], worst[1]));
        if (firstFailPartial != null) {
            throw new AssertionError(what + ": a row of the partial last query block (queries " + partialFrom + ".."
                    + (N - 1) + ") is off by more than bf16 rounding: " + firstFailPartial);
        }
        if (firstFail != null) {
            throw new AssertionError(what + ": a row is off by more than bf16 rounding: " + firstFail);
        }
    }

    private static String describeRow(int row, AttentionShape s) {
        int h = row % s.qHeads();
        int i = (row / s.qHeads()) % s.seqLen();
        int b = row / (s.qHeads() * s.seqLen());
        return "(b " + b + ", query " + i + ", head " + h + ")";
    }

    static float[] abs(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = Math.abs(x[i]);
        }
        return y;
    }

    static double[] d(float[] x) {
        return Floats.toDouble(x);
    }
}
