package org.seerjava.gpu.llm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.seerjava.gpu.Cublas;
import org.seerjava.gpu.CudaEngine;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.gpu.DeviceBuffer;

/** Test support for the decoder kernels: the GPU assumption, bf16 rounding, device copies of typed arrays. */
final class Dev {
    private Dev() {
    }

    /**
     * Skips the test, printing why, without a GPU and NVRTC (and cuBLAS when asked); fails it instead under
     * {@code -Dseer.requireCuda=true}.
     */
    static void assume(boolean cublas) {
        String reason = new CudaEngine.Provider().unavailableReason();
        if (reason == null && cublas) {
            reason = Cublas.unavailableReason();
        }
        CudaRequirement.skipReason(reason);
        if (reason != null) {
            System.out.println("[seer-gpu] GPU test skipped: " + reason.lines().findFirst().orElse(reason));
        }
        String r = reason;
        Assumptions.assumeTrue(reason == null, () -> "GPU test skipped: " + r);
    }

    static float bf16(float f) {
        if (Float.isNaN(f)) {
            return f;
        }
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat((bits + rounding) & 0xFFFF0000);
    }

    static short bits(float f) {
        return (short) (Float.floatToRawIntBits(bf16(f)) >>> 16);
    }

    static float[] roundBf16(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = bf16(x[i]);
        }
        return y;
    }

    static float[] uniform(Random r, int n, float a) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = bf16((float) ((r.nextDouble() * 2 - 1) * a));
        }
        return x;
    }

    static DeviceBuffer bf16Buffer(float[] x) {
        short[] s = new short[x.length];
        for (int i = 0; i < x.length; i++) {
            s[i] = bits(x[i]);
        }
        return DeviceBuffer.of(s);
    }

    static DeviceBuffer intBuffer(int... x) {
        DeviceBuffer b = DeviceBuffer.allocate((long) x.length * 4);
        try (Arena a = Arena.ofConfined()) {
            b.copyFrom(a.allocateFrom(ValueLayout.JAVA_INT, x));
        }
        return b;
    }

    static float[] readBf16(DeviceBuffer b, int n) {
        short[] s = new short[n];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_SHORT, n);
            b.copyTo(seg);
            MemorySegment.copy(seg, ValueLayout.JAVA_SHORT, 0, s, 0, n);
        }
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = Float.intBitsToFloat((s[i] & 0xFFFF) << 16);
        }
        return f;
    }

    static float[] readF32(DeviceBuffer b, int n) {
        float[] f = new float[n];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_FLOAT, n);
            b.copyTo(seg);
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, f, 0, n);
        }
        return f;
    }

    static int[] readInts(DeviceBuffer b, int n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(ValueLayout.JAVA_INT, n);
            b.copyTo(seg);
            return seg.toArray(ValueLayout.JAVA_INT);
        }
    }

    /** ‖out − ref‖ / ‖ref‖; a non-finite output never passes. */
    static double relError(float[] out, double[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(out[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static double relError(float[] out, float[] ref) {
        double[] r = new double[ref.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = ref[i];
        }
        return relError(out, r);
    }

    /** Distance in bf16 units in the last place between two bf16 values (0 when equal). */
    static int ulps(float a, float b) {
        int x = Float.floatToRawIntBits(a) >> 16;
        int y = Float.floatToRawIntBits(b) >> 16;
        if ((x ^ y) < 0) {
            return a == b ? 0 : Integer.MAX_VALUE;
        }
        return Math.abs(x - y);
    }
}
