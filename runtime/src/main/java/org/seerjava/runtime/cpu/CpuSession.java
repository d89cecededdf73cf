package org.seerjava.runtime.cpu;

import org.seerjava.cpu.Parallel;
import org.seerjava.cpu.VectorMath;
import org.seerjava.gate.SeerAttentionPolicy;
import org.seerjava.model.AttentionPolicy;
import org.seerjava.model.LayerAttention;
import org.seerjava.model.LlamaConfig;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.Session;

/**
 * A sequence on the CPU: the forward pass of {@link org.seerjava.model.LlamaModel} (same float32 formulas: RMSNorm
 * with a double sum of squares, rotate-half RoPE from {@link org.seerjava.model.Rotary}, SwiGLU with the engine's
 * exponential) over a run of tokens at positions {@code length() …}, with the keys and values kept in an off-heap
 * {@link KvCache}. The first prefill (at position 0) computes attention with the CPU engine (dense, or SeerAttention
 * through {@link SeerAttentionPolicy}); later tokens attend to the cache ({@link CacheAttention}), except decode steps
 * with SeerAttention-R, which attend to the blocks their decode gate selects ({@link SparseDecoding}). Only the last
 * position's final norm and lm_head are computed.
 */
final class CpuSession implements Session {

    private final CpuModelRuntime model;
    private final LlamaConfig c;
    private final int capacity;
    private final PrefillAttention attention;
    private final DecodeAttention decodeAttention;
    private final SparseDecoding sparse;
    private final KvCache cache;
    private int length;
    private float[] logits;
    private double density = Double.NaN;
    private long decodeSteps;
    private boolean closed;

    CpuSession(CpuModelRuntime model, int capacity, PrefillAttention attention, DecodeAttention decode) {
        this.model = model;
        this.c = model.config;
        this.capacity = capacity;
        this.attention = attention;
        this.decodeAttention = decode;
        this.sparse = decode instanceof DecodeAttention.Sparse s
                ? new SparseDecoding(model.engine, s.gates(), s.rule(), capacity) : null;
        this.cache = new KvCache(c.numHiddenLayers(), capacity, c.numKeyValueHeads(), c.headDim());
    }

    long cacheBytes() {
        return cache.bytes;
    }

    @Override
    public ModelRuntime runtime() {
        return model;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public PrefillAttention attention() {
        return attention;
    }

    @Override
    public DecodeAttention decodeAttention() {
        return decodeAttention;
    }

    @Override
    public double decodeDensity() {
        return sparse != null ? sparse.density() : decodeSteps > 0 ? 1.0 : Double.NaN;
    }

    @Override
    public float[] prefill(int[] tokens) {
        ensureOpen();
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        return forward(tokens.clone());
    }

    @Override
    public float[] decode(int token) {
        ensureOpen();
        return forward(new int[] {token});
    }

    @Override
    public float[] logits() {
        ensureOpen();
        if (logits == null) {
            throw new IllegalStateException("no token was appended yet");
        }
        return logits.clone();
    }

    @Override
    public double prefillDensity() {
        return density;
    }

    @Override
    public void reset() {
        ensureOpen();
        length = 0;
        logits = null;
        density = Double.NaN;
        decodeSteps = 0;
        if (sparse != null) {
            sparse.reset();
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            cache.close();
            model.closed(this);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the session is closed");
        }
        model.ensureOpen();
    }

    private float[] forward(int[] tokens) {
        int n = tokens.length;
        int first = length;
        if ((long) first + n > capacity) {
            throw new IllegalArgumentException("appending " + n + " token" + (n == 1 ? "" : "s") + " at position "
                    + first + " exceeds the session's capacity of " + capacity + " tokens");
        }
        int vocab = c.vocabSize();
        for (int i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token " + i + " = " + tokens[i] + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
        int h = c.hiddenSize();
        int qd = c.qDim();
        int kvd = c.kvDim();
        int im = c.intermediateSize();
        int hq = c.numAttentionHeads();
        int hkv = c.numKeyValueHeads();
        int d = c.headDim();
        float eps = (float) c.rmsNormEps();
        double scale = c.attentionScale();
        checkHeap(n);

        boolean engineAttention = first == 0;
        AttentionPolicy policy = null;
        SeerAttentionPolicy seer = null;
        if (engineAttention) {
            if (attention instanceof PrefillAttention.Seer s) {
                seer = SeerAttentionPolicy.gate(model.engine, s.gates(), s.rule());
                policy = seer;
            } else {
                policy = AttentionPolicy.dense(model.engine);
            }
        }

        float[] x = new float[Math.multiplyExact(n, h)];
        for (int i = 0; i < n; i++) {
            model.tensors.embed().widen((long) tokens[i] * h, x, i * h, h);
        }
        float[][] rope = model.rotary.tables(first, n);
        float[] xn = new float[x.length];
        float[] att = new float[Math.multiplyExact(n, qd)];
        float[] gate = new float[Math.multiplyExact(n, im)];
        float[] up = new float[gate.length];
        for (int l = 0; l < model.layers.length; l++) {
            CpuModelRuntime.Layer layer = model.layers[l];
            rmsNorm(x, n, h, layer.inputNorm(), eps, xn);
            float[] q = new float[att.length];
            float[] k = new float[Math.multiplyExact(n, kvd)];
            float[] v = new float[k.length];
            WeightMatmul.apply(layer.t().q(), layer.qBias(), xn, n, q, false);
            WeightMatmul.apply(layer.t().k(), layer.kBias(), xn, n, k, false);
            WeightMatmul.apply(layer.t().v(), layer.vBias(), xn, n, v, false);
            if (layer.qNorm() != null) {
                rmsNorm(q, n * hq, d, layer.qNorm(), eps, q);
                rmsNorm(k, n * hkv, d, layer.kNorm(), eps, k);
            }
            float[] qPre = seer != null || sparse != null ? q.clone() : q;
            float[] kPre = seer != null || sparse != null ? k.clone() : k;
            model.rotary.apply(q, hq, rope, 0, n);
            model.rotary.apply(k, hkv, rope, 0, n);
            cache.write(l, first, n, k, v);
            if (engineAttention) {
                policy.attend(l, new LayerAttention(c.attentionShape(n), qPre, kPre, q, k, v, scale), att);
                if (sparse != null) {
                    sparse.prefill(l, kPre, n);
                }
            } else if (sparse != null && n == 1) {
                sparse.attend(cache, l, qPre, kPre, q, first, hq, d, (float) scale, att);
            } else {
                CacheAttention.attend(cache, l, q, n, first, hq, hkv, d, (float) scale, att);
                if (sparse != null) {
                    sparse.append(l, kPre, n);
                }
            }
            WeightMatmul.apply(layer.t().o(), layer.oBias(), att, n, x, true);
            rmsNorm(x, n, h, layer.postNorm(), eps, xn);
            WeightMatmul.apply(layer.t().gate(), null, xn, n, gate, false);
            WeightMatmul.apply(layer.t().up(), null, xn, n, up, false);
            silu(gate, up, n * im);
            WeightMatmul.apply(layer.t().down(), null, gate, n, x, true);
        }
        float[] last = new float[h];
        System.arraycopy(x, (n - 1) * h, last, 0, h);
        float[] lastNorm = new float[h];
        rmsNorm(last, 1, h, model.finalNorm, eps, lastNorm);
        float[] out = new float[vocab];
        WeightMatmul.apply(model.tensors.lmHead(), null, lastNorm, 1, out, false);
        for (int i = 0; i < vocab; i++) {
            if (Float.isNaN(out[i])) {
                throw new IllegalStateException("the forward pass produced NaN logits (token id " + i + ", position "
                        + (first + n - 1) + ")");
            }
        }
        if (engineAttention) {
            density = seer != null ? seer.density() : 1.0;
        } else if (n == 1) {
            decodeSteps++;
        }
        length = first + n;
        logits = out;
        return out.clone();
    }

    /**
     * Refuses a prefill whose float32 activations do not fit in the free Java heap (the KV cache and weights are
     * off-heap), with the bytes needed and free.
     */
    private void checkHeap(int n) {
        long perToken = 4L * (3L * c.hiddenSize() + 5L * c.qDim() + 5L * c.kvDim() + 3L * c.intermediateSize());
        long need = Math.multiplyExact(perToken, (long) n);
        model.workspace(need);
        Runtime r = Runtime.getRuntime();
        long free = r.maxMemory() - (r.totalMemory() - r.freeMemory());
        if (need > free) {
            System.gc();
            free = r.maxMemory() - (r.totalMemory() - r.freeMemory());
            if (need > free) {
                throw new IllegalArgumentException("a prefill of " + n + " tokens needs about " + need
                        + " bytes of Java heap for its activations, but " + free + " bytes are free (-Xmx "
                        + r.maxMemory() + "): prefill fewer tokens at a time or raise -Xmx");
            }
        }
    }

    /**
     * HF RMSNorm in float32, as {@code LlamaModel} computes it: {@code out = w · (x · rsqrt(mean(x²) + eps))} per
     * row of the given width, the sum of squares in double. out may be x.
     */
    static void rmsNorm(float[] x, int rows, int width, float[] weight, float eps, float[] out) {
        Parallel.forEach(Math.ceilDiv(rows, 256), t -> {
            int end = Math.min(rows, (t + 1) * 256);
            for (int r = t * 256; r < end; r++) {
                int base = r * width;
                double ss = 0;
                for (int i = 0; i < width; i++) {
                    ss += (double) x[base + i] * x[base + i];
                }
                float var = (float) (ss / width);
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                for (int i = 0; i < width; i++) {
                    out[base + i] = weight[i] * (x[base + i] * inv);
                }
            }
        });
    }

    /** {@code g ← g / (1 + e^−g) · u} in float32, by the engine's {@link VectorMath#siluMul}. */
    static void silu(float[] g, float[] u, int count) {
        int chunk = 1 << 14;
        Parallel.forEach(Math.ceilDiv(count, chunk), t -> {
            int from = t * chunk;
            VectorMath.siluMul(g, u, from, Math.min(count, from + chunk));
        });
    }
}
