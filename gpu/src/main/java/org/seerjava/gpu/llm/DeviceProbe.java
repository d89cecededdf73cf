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

    static void fillUniform(DeviceBuffer b, Stream s, long seed, float a) {
        long n = b.bytes() / 2;
        SeerKernels.FILL_UNIFORM_BF16.kernel().launch(s, (int) Math.min(Math.ceilDiv(n, 256), 1L << 20), 1, 1, 256, 1,
                1, 0, b, n, seed, -a, a);
    }
}
