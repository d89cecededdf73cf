package org.seerjava.gpu.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Stream;

/**
 * The decoder's element-wise kernels against host computations written from the float32 forward's formulas: the
 * same fp32 operations give the same bits, so most checks allow at most one bf16 unit in the last place (a sum
 * order may differ) and count the elements that differ at all.
 */
class ModelKernelsTest {
    @BeforeEach
    void gpu() {
        Dev.assume(false);
    }

    @Test
    void embeddingGathersRowsAndWidens() {
        Random r = new Random(1);
        int vocab = 37;
        int h = 72;
        float[] table = Dev.uniform(r, vocab * h, 2f);
        int[] ids = {5, 0, 36, 5, 17};
        try (Stream s = new Stream(); DeviceBuffer t = Dev.bf16Buffer(table); DeviceBuffer id = Dev.intBuffer(ids);
             DeviceBuffer x = DeviceBuffer.allocate((long) ids.length * h * 4)) {
            x.fill((byte) 0xFF);
            ModelKernels.embed(s, id.pointer(), t.pointer(), x.pointer(), ids.length, h);
            s.synchronize();
            float[] out = Dev.readF32(x, ids.length * h);
            for (int i = 0; i < ids.length; i++) {
                for (int j = 0; j < h; j++) {
                    assertEquals(table[ids[i] * h + j], out[i * h + j], 0f, "row " + i + " col " + j);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 384", "3, 4096", "5, 200", "2, 40"})
    void rmsNormMatchesTheFloat32Formula(int rows, int h) {
        Random r = new Random(rows * 31L + h);
        float[] x = new float[rows * h];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        float[] w = Dev.uniform(r, h, 1.5f);
        float eps = 1e-5f;
        try (Stream s = new Stream(); DeviceBuffer xb = DeviceBuffer.of(x); DeviceBuffer wb = Dev.bf16Buffer(w);
             DeviceBuffer ob = DeviceBuffer.allocate((long) rows * h * 2)) {
            ob.fill((byte) 0xFF);
            ModelKernels.rmsNorm(s, xb.pointer(), wb.pointer(), ob.pointer(), rows, h, eps);
            s.synchronize();
            float[] out = Dev.readBf16(ob, rows * h);
            int differ = 0;
            for (int row = 0; row < rows; row++) {
                double ss = 0;
                for (int i = 0; i < h; i++) {
                    ss += (double) x[row * h + i] * x[row * h + i];
                }
                float inv = (float) (1.0 / Math.sqrt((float) (ss / h) + eps));
                for (int i = 0; i < h; i++) {
                    float want = Dev.bf16(w[i] * (x[row * h + i] * inv));
                    float got = out[row * h + i];
                    assertTrue(Dev.ulps(want, got) <= 1, "row " + row + " i " + i + ": " + got + " vs " + want);
                    differ += want == got ? 0 : 1;
                }
            }
            System.out.printf("[seer-gpu] rmsNorm %dx%d: %d of %d elements 1 bf16 ulp off, none more%n", rows, h, differ,
                    rows * h);
        }
    }

    @Test
    void ropeTableIsCosAndSinOfTheFloat32Angle() {
        float[] inv = LlamaRope.defaultInverseFrequencies(500000.0, 128);
        int positions = 5000;
        int half = inv.length;
        try (Stream s = new Stream(); DeviceBuffer ib = DeviceBuffer.of(inv);
             DeviceBuffer tb = DeviceBuffer.allocate((long) positions * half * 8)) {
            ModelKernels.ropeTable(s, ib.pointer(), tb.pointer(), positions, half);
            s.synchronize();
            float[] t = Dev.readF32(tb, positions * half * 2);
            int differ = 0;
            for (int p = 0; p < positions; p += 7) {
                for (int k = 0; k < half; k++) {
                    float angle = inv[k] * (float) p;
                    float c = (float) Math.cos(angle);
                    float sn = (float) Math.sin(angle);
                    int e = (p * half + k) * 2;
                    assertTrue(Math.abs(t[e] - c) <= Math.ulp(c) && Math.abs(t[e + 1] - sn) <= Math.ulp(sn),
                            "p " + p + " k " + k + ": " + t[e] + ", " + t[e + 1] + " vs " + c + ", " + sn);
                    differ += t[e] == c && t[e + 1] == sn ? 0 : 1;
                }
            }
            System.out.println("[seer-gpu] rope table: " + differ + " (cos, sin) pairs one fp32 ulp off Java's");
        }
    }

    /** Host RoPE of one head vector as LlamaModel.applyRope computes it. */
    static float[] rope(float[] x, int p, float[] inv) {
        int half = inv.length;
        float[] y = new float[x.length];
        for (int k = 0; k < half; k++) {
            float angle = inv[k] * (float) p;
            float c = (float) Math.cos(angle);
            float sn = (float) Math.sin(angle);
            y[k] = x[k] * c + (-x[k + half]) * sn;
            y[k + half] = x[k + half] * c + x[k] * sn;
        }
        return y;
    }

    @ParameterizedTest
    @CsvSource({"3, 4, 4, 64, false, false, 0, 0", "5, 6, 2, 64, true, false, 7, 3", "2, 8, 1, 128, false, true, 100, 0",
            "4, 32, 8, 128, true, true, 9000, 11"})
    void ropeQkvWritesQAndTheCacheRows(int tokens, int hq, int hkv, int d, boolean bias, boolean norm, int pos,
                                       int posAdd) {
        Random r = new Random(tokens + hq * 7L + d);
        int heads = hq + 2 * hkv;
        int width = heads * d;
        float[] qkv = Dev.uniform(r, tokens * width, 2f);
        float[] b = bias ? Dev.uniform(r, width, 0.5f) : null;
        float[] qn = norm ? Dev.uniform(r, d, 1.5f) : null;
        float[] kn = norm ? Dev.uniform(r, d, 1.5f) : null;
        float eps = 1e-6f;
        float[] inv = LlamaRope.defaultInverseFrequencies(10000.0, d);
        int capacity = pos + posAdd + tokens + 2;
        try (Stream s = new Stream(); DeviceBuffer in = Dev.bf16Buffer(qkv);
             DeviceBuffer bb = b == null ? null : Dev.bf16Buffer(b); DeviceBuffer qnb = qn == null ? null : Dev.bf16Buffer(qn);
             DeviceBuffer knb = kn == null ? null : Dev.bf16Buffer(kn); DeviceBuffer ib = DeviceBuffer.of(inv);
             DeviceBuffer table = DeviceBuffer.allocate((long) capacity * d / 2 * 8);
             DeviceBuffer pb = Dev.intBuffer(pos); DeviceBuffer q = DeviceBuffer.allocate((long) tokens * hq * d * 2);
             DeviceBuffer kc = DeviceBuffer.allocate((long) capacity * hkv * d * 2);
             DeviceBuffer vc = DeviceBuffer.allocate((long) capacity * hkv * d * 2);
             DeviceBuffer qPre = DeviceBuffer.allocate((long) tokens * hq * d * 2);
             DeviceBuffer kPre = DeviceBuffer.allocate((long) tokens * hkv * d * 2)) {
            for (DeviceBuffer x : new DeviceBuffer[] {q, kc, vc, qPre, kPre}) {
                x.fill((byte) 0xFF);
            }
            ModelKernels.ropeTable(s, ib.pointer(), table.pointer(), capacity, d / 2);
            ModelKernels.ropeQkv(s, in.pointer(), bb == null ? 0 : bb.pointer(), qnb == null ? 0 : qnb.pointer(),
                    knb == null ? 0 : knb.pointer(), eps, table.pointer(), pb.pointer(), posAdd, tokens, hq, hkv, d,
                    q.pointer(), kc.pointer(), vc.pointer(), qPre.pointer(), kPre.pointer());
            s.synchronize();
            float[] qo = Dev.readBf16(q, tokens * hq * d);
            float[] ko = Dev.readBf16(kc, capacity * hkv * d);
            float[] vo = Dev.readBf16(vc, capacity * hkv * d);
            float[] qp = Dev.readBf16(qPre, tokens * hq * d);
            float[] kp = Dev.readBf16(kPre, tokens * hkv * d);
            int worst = 0;
            for (int t = 0; t < tokens; t++) {
                int p = pos + posAdd + t;
                for (int h = 0; h < heads; h++) {
                    float[] x = new float[d];
                    for (int i = 0; i < d; i++) {
                        x[i] = qkv[t * width + h * d + i] + (b == null ? 0f : b[h * d + i]);
                    }
                    if (h >= hq + hkv) {
                        for (int i = 0; i < d; i++) {
                            float got = vo[(p * hkv + h - hq - hkv) * d + i];
                            assertEquals(Dev.bf16(x[i]), got, 0f, "v t" + t + " h" + h + " i" + i);
                        }
                        continue;
                    }
                    float[] w = h < hq ? qn : kn;
                    if (w != null) {
                        double ss = 0;
                        for (float v : x) {
                            ss += (double) v * v;
                        }
                        float iv = (float) (1.0 / Math.sqrt((float) (ss / d) + eps));
                        for (int i = 0; i < d; i++) {
                            x[i] = w[i] * (x[i] * iv);
                        }
                    }
                    float[] y = rope(x, p, inv);
                    for (int i = 0; i < d; i++) {
                        float got = h < hq ? qo[(t * hq + h) * d + i] : ko[(p * hkv + h - hq) * d + i];
                        float pre = h < hq ? qp[(t * hq + h) * d + i] : kp[(t * hkv + h - hq) * d + i];
                        int u = Math.max(Dev.ulps(Dev.bf16(y[i]), got), Dev.ulps(Dev.bf16(x[i]), pre));
                        worst = Math.max(worst, u);
                        assertTrue(u <= 1, "t" + t + " h" + h + " i" + i + ": " + got + " vs "
                                + Dev.bf16(y[i]) + " (pre " + pre + " vs " + Dev.bf16(x[i]) + ")");
                    }
                }
            }
            for (int p = 0; p < capacity; p++) {                  // rows of other positions stay untouched (NaN)
                if (p >= pos + posAdd && p < pos + posAdd + tokens) {
                    continue;
                }
                for (int i = 0; i < hkv * d; i++) {
                    assertTrue(Float.isNaN(ko[p * hkv * d + i]) && Float.isNaN(vo[p * hkv * d + i]),
                            "cache row " + p + " was written");
                }
            }
            System.out.printf("[seer-gpu] rope_qkv T%d %d/%d D%d bias %b norm %b at %d+%d: worst %d bf16 ulp%n", tokens,
                    hq, hkv, d, bias, norm, pos, posAdd, worst);
        }
    }

    @ParameterizedTest
    @CsvSource({"3, 40", "2, 36", "5, 14336"})
    void swigluAndBias(int t, int inter) {
        Random r = new Random(3 + inter);
        float[] gu = Dev.uniform(r, t * 2 * inter, 6f);
        float[] x = Dev.uniform(r, t * 24, 1f);
        float[] b = Dev.uniform(r, 24, 1f);
        try (Stream s = new Stream(); DeviceBuffer gb = Dev.bf16Buffer(gu);
             DeviceBuffer ab = DeviceBuffer.allocate((long) t * inter * 2); DeviceBuffer xb = DeviceBuffer.of(x);
             DeviceBuffer bb = Dev.bf16Buffer(b)) {
            ModelKernels.swiglu(s, gb.pointer(), ab.pointer(), t, inter);
            ModelKernels.addBias(s, xb.pointer(), bb.pointer(), t, 24);
            s.synchronize();
            float[] a = Dev.readBf16(ab, t * inter);
            int worst = 0;
            for (int row = 0; row < t; row++) {
                for (int i = 0; i < inter; i++) {
                    float g = gu[row * 2 * inter + i];
                    float u = gu[row * 2 * inter + inter + i];
                    float want = Dev.bf16(g / ((float) Math.exp(-g) + 1f) * u);
                    worst = Math.max(worst, Dev.ulps(want, a[row * inter + i]));
                }
            }
            assertTrue(worst <= 1, "swiglu off by " + worst + " bf16 ulp");
            float[] xo = Dev.readF32(xb, t * 24);
            for (int i = 0; i < xo.length; i++) {
                assertEquals(x[i] + b[i % 24], xo[i], 0f, "bias " + i);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 8", "13, 264", "100, 4096", "77, 14336", "4096, 4096"})
    void gemvMatchesTheHostProductInAllModes(int n, int k) {
        Random r = new Random(n * 13L + k);
        float[] w = Dev.uniform(r, n * k, 1f);
        float[] x = Dev.uniform(r, k, 1f);
        float[] y0 = Dev.uniform(r, n, 3f);
        double[] want = new double[n];
        for (int i = 0; i < n; i++) {
            double acc = 0;
            for (int j = 0; j < k; j++) {
                acc += (double) w[i * k + j] * x[j];
            }
            want[i] = acc;
        }
        try (Stream s = new Stream(); DeviceBuffer wb = Dev.bf16Buffer(w); DeviceBuffer xb = Dev.bf16Buffer(x);
             DeviceBuffer yb = DeviceBuffer.allocate((long) n * 4); DeviceBuffer ya = DeviceBuffer.of(y0);
             DeviceBuffer yh = DeviceBuffer.allocate((long) n * 2)) {
            ModelKernels.gemv(s, wb.pointer(), xb.pointer(), yb.pointer(), n, k, ModelKernels.GemvOut.F32);
            ModelKernels.gemv(s, wb.pointer(), xb.pointer(), ya.pointer(), n, k, ModelKernels.GemvOut.F32_ACCUMULATE);
            ModelKernels.gemv(s, wb.pointer(), xb.pointer(), yh.pointer(), n, k, ModelKernels.GemvOut.BF16);
            s.synchronize();
            float[] y = Dev.readF32(yb, n);
            float[] acc = Dev.readF32(ya, n);
            float[] yhalf = Dev.readBf16(yh, n);
            double scaleTol = Math.sqrt(k) * 1e-6;                // fp32 sums of k unit-size products
            for (int i = 0; i < n; i++) {
                assertEquals(want[i], y[i], scaleTol + 1e-6 * Math.abs(want[i]), "f32 row " + i);
                assertEquals(want[i] + y0[i], acc[i], scaleTol + 1e-6 * Math.abs(want[i] + y0[i]), "acc row " + i);
                assertTrue(Dev.ulps(Dev.bf16(y[i]), yhalf[i]) <= 1, "bf16 row " + i);
            }
        }
    }

    @Test
    void argmaxTakesTheLowestIndexOfTheMaximumAndReportsNaN() {
        float[] x = new float[128_256];
        Random r = new Random(4);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        x[90_001] = 7f;
        x[100_000] = 7f;
        x[5] = Float.NaN;
        try (Stream s = new Stream(); DeviceBuffer xb = DeviceBuffer.of(x); DeviceBuffer o = Dev.intBuffer(-1)) {
            ModelKernels.argmax(s, xb.pointer(), x.length, o.pointer());
            s.synchronize();
            assertEquals(-1, Dev.readInts(o, 1)[0], "a NaN logit must be reported, not skipped");
            x[5] = 0f;
            xb.copyFrom(x);
            ModelKernels.argmax(s, xb.pointer(), x.length, o.pointer());
            s.synchronize();
            assertEquals(90_001, Dev.readInts(o, 1)[0]);
            x[3] = 8f;
            xb.copyFrom(x);
            ModelKernels.argmax(s, xb.pointer(), 17, o.pointer());
            s.synchronize();
            assertEquals(3, Dev.readInts(o, 1)[0]);
        }
    }

    @Test
    void conversionsRoundToNearestEven() {
        float[] x = {1f, 1.00390625f, 1.01171875f, -3.3f, 1e-30f, 65504f, 0f, 1.0078125f};
        short[] halves = new short[x.length];
        for (int i = 0; i < x.length; i++) {
            halves[i] = Float.floatToFloat16(x[i]);
        }
        try (Stream s = new Stream(); DeviceBuffer f = DeviceBuffer.of(x); DeviceBuffer h = DeviceBuffer.of(halves);
             DeviceBuffer o1 = DeviceBuffer.allocate(x.length * 2L); DeviceBuffer o2 = DeviceBuffer.allocate(x.length * 2L);
             DeviceBuffer back = DeviceBuffer.allocate(x.length * 4L); DeviceBuffer p = Dev.intBuffer(41)) {
            ModelKernels.f32ToBf16(s, f.pointer(), o1.pointer(), x.length);
            ModelKernels.f16ToBf16(s, h.pointer(), o2.pointer(), x.length);
            ModelKernels.bf16ToF32(s, o1.pointer(), back.pointer(), x.length);
            ModelKernels.advance(s, p.pointer(), 1);
            s.synchronize();
            float[] a = Dev.readBf16(o1, x.length);
            float[] b = Dev.readBf16(o2, x.length);
            float[] c = Dev.readF32(back, x.length);
            for (int i = 0; i < x.length; i++) {
                assertEquals(Dev.bf16(x[i]), a[i], 0f, "f32→bf16 " + x[i]);
                assertEquals(Dev.bf16(Float.float16ToFloat(halves[i])), b[i], 0f, "f16→bf16 " + x[i]);
                assertEquals(a[i], c[i], 0f, "bf16→f32 " + x[i]);
            }
            assertEquals(42, Dev.readInts(p, 1)[0]);
        }
    }
}
