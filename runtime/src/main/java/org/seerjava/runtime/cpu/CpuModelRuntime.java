package org.seerjava.runtime.cpu;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.LlamaModel;
import org.seerjava.model.ModelTensors;
import org.seerjava.model.ModelWeights;
import org.seerjava.model.Rotary;
import org.seerjava.model.WeightTensor;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.Engines;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.MemoryUse;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RandomWeights;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * The CPU backend's model: weights memory-mapped in their stored dtype (or random bf16 weights in native memory),
 * checked by {@link ModelTensors#bind} before anything else is allocated; only the small vectors (norm weights,
 * biases) are widened to float32 on the heap. Matrix products read the weights where they are
 * ({@link WeightMatmul}); the first prefill's attention runs on the CPU engine ({@code cpu}), decode on the cache
 * ({@link CacheAttention}, or with SeerAttention-R the engine's decode operations and
 * {@link org.seerjava.cpu.CpuSparseDecodeAttention}).
 *
 * <p>A prefill call is computed in one pass ({@link RuntimeOptions#prefillChunk()} is not used: the CPU engine's
 * attention takes the whole prompt, and activations live on the Java heap, checked against its free space before
 * each call).
 */
final class CpuModelRuntime implements ModelRuntime {
    /** Runtimes open now in this JVM (for leak tests). */
    static final AtomicInteger OPEN = new AtomicInteger();

    final ModelSource source;
    final RuntimeOptions options;
    final LlamaConfig config;
    final ModelWeights weights;
    final ModelTensors tensors;
    final Layer[] layers;
    final float[] finalNorm;
    final Rotary rotary;
    final Engine engine;
    private final Set<CpuSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile long peakWorkspace;
    private volatile boolean closed;

    /** Small per-layer vectors, widened once. */
    record Layer(ModelTensors.LayerTensors t, float[] inputNorm, float[] postNorm, float[] qBias, float[] kBias,
                 float[] vBias, float[] oBias, float[] qNorm, float[] kNorm) {
    }

    private CpuModelRuntime(ModelSource source, RuntimeOptions options, LlamaConfig config, ModelWeights weights) {
        this.source = source;
        this.options = options;
        this.config = config;
        this.weights = weights;
        this.tensors = ModelTensors.bind(config, weights);
        List<Layer> list = new ArrayList<>();
        for (ModelTensors.LayerTensors t : tensors.layers()) {
            list.add(new Layer(t, t.inputNorm().toFloats(), t.postNorm().toFloats(), floats(t.qBias()),
                    floats(t.kBias()), floats(t.vBias()), floats(t.oBias()), floats(t.qNorm()), floats(t.kNorm())));
        }
        this.layers = list.toArray(new Layer[0]);
        this.finalNorm = tensors.finalNorm().toFloats();
        this.rotary = new Rotary(config.rope());
        this.engine = Engines.byName("cpu");
    }

    private static float[] floats(WeightTensor t) {
        return t == null ? null : t.toFloats();
    }

    /** Opens a checkpoint or random weights. */
    static CpuModelRuntime open(ModelSource source, RuntimeOptions options) {
        LlamaConfig config;
        ModelWeights weights;
        switch (source) {
            case ModelSource.Checkpoint c -> {
                Path dir = c.directory();
                config = LlamaConfig.load(dir.resolve(LlamaModel.CONFIG));
                weights = ModelWeights.open(dir);
            }
            case ModelSource.RandomWeights r -> {
                config = r.shape().config();
                weights = RandomWeights.allocate(config, r.seed());
            }
        }
        try {
            CpuModelRuntime rt = new CpuModelRuntime(source, options, config, weights);
            OPEN.incrementAndGet();
            return rt;
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    @Override
    public ModelSource source() {
        return source;
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public String backend() {
        return "cpu";
    }

    @Override
    public String description() {
        return "CPU, Vector API " + WeightMatmul.F.vectorBitSize() + "-bit, " + org.seerjava.cpu.Parallel.threads()
                + " threads; weights " + tensors.embed().dtype() + " read in place (" + source + ")";
    }

    @Override
    public long weightBytes() {
        return tensors.byteSize();
    }

    @Override
    public long weightBytesPerToken() {
        return tensors.bytesPerDecodedToken();
    }

    @Override
    public Session newSession(int capacity, PrefillAttention attention, DecodeAttention decode) {
        ensureOpen();
        options.checkSession(config, capacity, attention, decode);
        CpuSession s = new CpuSession(this, capacity, attention, decode);
        sessions.add(s);
        return s;
    }

    void closed(CpuSession s) {
        sessions.remove(s);
    }

    void workspace(long bytes) {
        if (bytes > peakWorkspace) {
            peakWorkspace = bytes;
        }
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the model " + source + " is closed");
        }
    }

    @Override
    public MemoryUse memory() {
        long cache = 0;
        for (CpuSession s : sessions) {
            cache += s.cacheBytes();
        }
        long w = weightBytes();
        return new MemoryUse("native", w, cache, 0, w + cache + peakWorkspace, MemoryUse.heapUsedNow());
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CpuSession s : List.copyOf(sessions)) {
            s.close();
        }
        weights.close();
        OPEN.decrementAndGet();
    }

    @Override
    public String toString() {
        return "cpu runtime " + source + " (" + config.architecture() + ")";
    }
}
