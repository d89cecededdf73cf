package org.seerjava.gpu.llm;

import java.util.Arrays;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Event;
import org.seerjava.gpu.Matmul;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;

/** Measurements of the device itself, for the model benchmark's bounds: copy bandwidth and matrix-product rate. */
public final class DeviceProbe {
    private DeviceProbe() {
    }

    /**
     * Device-to-device copy bandwidth: (bytes read + bytes written) / time of a 2 GiB {@code cuMemcpyDtoDAsync},
     * median of 10 after 3 warm-ups, in bytes per second.
     */
    public static double copyBandwidth() {
        long bytes = 2L << 30;
        try (Stream s = new Stream(); DeviceBuffer x = DeviceBuffer.allocate(bytes); DeviceBuffer y = DeviceBuffer.allocate(bytes);
             Event e0 = new Event(); Event e1 = new Event()) {
            CudaContext c = CudaContext.get();
            double ms = median(s, e0, e1, () -> c.driver().memcpyDtoDAsync(y.pointer(), x.pointer(), bytes, s.handle()));
            return 2.0 * bytes / (ms * 1e-3);
        }
    }

    /** Median milliseconds of {@code body} on {@code s}: 3 warm-ups, 10 timed runs, each between two events. */
    public static double median(Stream s, Event e0, Event e1, Runnable body) {
        for (int i = 0; i < 3; i++) {
            body.run();
        }
        double[] t = new double[10];
        for (int i = 0; i < t.length; i++) {
            e0.record(s);
            body.run();
            e1.record(s);
            t[i] = e1.elapsedSince(e0);
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }

    /** Median milliseconds of {@code y[m, n] = x[m, k]·W[n, k]ᵀ} (bf16 in and out) through {@link Matmul}. */
    public static double matmulMillis(Matmul mm, int m, int n, int k) {
        try (Stream s = new Stream(); Event e0 = new Event(); Event e1 = new Event();
             DeviceBuffer x = DeviceBuffer.allocate((long) m * k * 2); DeviceBuffer w = DeviceBuffer.allocate((long) n * k * 2);
             DeviceBuffer y = DeviceBuffer.allocate((long) m * n * 2)) {
            fillUniform(x, s, 1, 1f);
            fillUniform(w, s, 2, 0.02f);
            return median(s, e0, e1, () -> mm.linear(s, x.pointer(), w.pointer(), y.pointer(), m, n, k, Matmul.Out.BF16));
        }
    }

    /**
     * Runs the SwiGLU kernel (the vectorised one, as the prefill does) on random rows of the 8B shape's width and
     * compares every output with the float32 formula {@code g / (e^−g + 1) · u} rounded to bf16; throws when one
     * differs by more than one bf16 unit. Returns a line for the log.
     */
    public static String swigluSelfCheck() {
        int t = 3;
        int inter = 14336;
        java.util.Random r = new java.util.Random(5);
        short[] gu = new short[t * 2 * inter];
        float[] f = new float[gu.length];
        for (int i = 0; i < gu.length; i++) {
            gu[i] = (short) (Float.floatToRawIntBits((float) (r.nextGaussian() * 3)) >>> 16);
            f[i] = Float.intBitsToFloat((gu[i] & 0xFFFF) << 16);
        }
        try (Stream s = new Stream(); DeviceBuffer in = DeviceBuffer.of(gu);
             DeviceBuffer out = DeviceBuffer.allocate((long) t * inter * 2)) {
            ModelKernels.swiglu(s, in.pointer(), out.pointer(), t, inter);
            s.synchronize();
            short[] a = new short[t * inter];
            out.copyTo(a);
            int worst = 0;
            for (int row = 0; row < t; row++) {
                for (int i = 0; i < inter; i++) {
                    float g = f[row * 2 * inter + i];
                    float u = f[row * 2 * inter + inter + i];
                    float want = g / ((float) Math.exp(-g) + 1f) * u;
                    int wb = Float.floatToRawIntBits(want);
                    int rounded = (wb + 0x7FFF + ((wb >>> 16) & 1)) >>> 16;
                    worst = Math.max(worst, Math.abs((short) rounded - a[row * inter + i]));
                }
            }
            if (worst > 1) {
                throw new IllegalStateException("SwiGLU kernel self-check failed: an output is " + worst
                        + " bf16 units from the float32 formula");
            }
            return "SwiGLU kernel self-check: " + t + " × " + inter + " outputs within " + worst + " bf16 unit of the"
                    + " float32 formula";
        }
    }

    static void fillUniform(DeviceBuffer b, Stream s, long seed, float a) {
        long n = b.bytes() / 2;
        SeerKernels.FILL_UNIFORM_BF16.kernel().launch(s, (int) Math.min(Math.ceilDiv(n, 256), 1L << 20), 1, 1, 256, 1,
                1, 0, b, n, seed, -a, a);
    }
}
