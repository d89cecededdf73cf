package org.seerjava.runtime.cuda;

import java.util.ArrayList;
import java.util.List;
import org.seerjava.gate.DecodeGateSet;
import org.seerjava.gate.GateSet;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Stream;
import org.seerjava.gpu.llm.Decoder;
import org.seerjava.gpu.llm.DecoderAttention;
import org.seerjava.gpu.llm.DecoderShape;
import org.seerjava.gpu.llm.DecoderWeights;
import org.seerjava.gpu.llm.DecoderWeights.Part;
import org.seerjava.gpu.llm.DecoderWeights.SourceType;
import org.seerjava.gpu.llm.DeviceMemoryException;
import org.seerjava.gpu.llm.LayerGate;
import org.seerjava.gpu.llm.SparseDecode;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.ModelTensors;
import org.seerjava.model.ModelWeights;
import org.seerjava.model.Rotary;
import org.seerjava.model.WeightTensor;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.runtime.DecodeAttention;
import org.seerjava.runtime.MemoryUse;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * A model on the GPU: the checkpoint's tensors copied from their memory-mapped safetensors files straight to the
 * device as bf16 (f16 and f32 tensors converted there; nothing is widened on the Java heap), q/k/v and gate/up fused
 * into one matrix each ({@link DecoderWeights}); or random weights drawn on the device for a named shape. Sessions
 * are {@link Decoder}s, each with its own KV cache on the device, and with SeerAttention-R decoding
 * ({@link DecodeAttention.Sparse}) a K-compression cache per layer beside it ({@link SparseDecode}).
 */
final class CudaModelRuntime implements ModelRuntime {
    private final ModelSource source;
    private final LlamaConfig config;
    private final RuntimeOptions options;
    private final DecoderWeights weights;
    private final float[] invFreq;
    private final List<CudaSession> sessions = new ArrayList<>();
    private boolean closed;

    private CudaModelRuntime(ModelSource source, LlamaConfig config, RuntimeOptions options, DecoderWeights weights) {
        this.source = source;
        this.config = config;
        this.options = options;
        this.weights = weights;
        this.invFreq = new Rotary(config.rope()).inverseFrequencies();
    }

    static CudaModelRuntime open(ModelSource source, RuntimeOptions options) {
        return switch (source) {
            case ModelSource.Checkpoint c -> openCheckpoint(c, options);
            case ModelSource.RandomWeights r -> {
                LlamaConfig cfg = r.shape().config();
                DecoderWeights w = DecoderWeights.allocate(shape(cfg, cfg.qkvBias(), cfg.oBias(),
                        cfg.family().qkNorm(), cfg.tieWordEmbeddings()));
                try (Stream st = new Stream()) {
                    w.random(r.seed(), st);
                } catch (RuntimeException e) {
                    w.close();
                    throw e;
                }
                yield new CudaModelRuntime(source, cfg, options, w);
            }
        };
    }

    /** The decoder's shape of a configuration; refuses what the GPU kernels do not support, naming the field. */
    static DecoderShape shape(LlamaConfig c, boolean qkvBias, boolean oBias, boolean qkNorm, boolean tied) {
        int d = c.headDim();
        if (d % 16 != 0 || d > 128 || 32 % (d / 8) != 0) {
            throw new IllegalArgumentException("head_dim = " + d + " is not supported by the CUDA backend (its attention"
                    + " kernels take 32, 64 or 128); use --backend cpu");
        }
        if (c.numAttentionHeads() / c.numKeyValueHeads() > org.seerjava.gpu.llm.ModelKernels.MAX_GROUP) {
            throw new IllegalArgumentException("num_attention_heads / num_key_value_heads = " + c.numAttentionHeads()
                    / c.numKeyValueHeads() + " exceeds the CUDA decode attention's " + org.seerjava.gpu.llm.ModelKernels.MAX_GROUP
                    + " query heads per key/value head; use --backend cpu");
        }
        return new DecoderShape(c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.numKeyValueHeads(), d, c.vocabSize(), c.rmsNormEps(), qkvBias, oBias, qkNorm, tied);
    }

    private static CudaModelRuntime openCheckpoint(ModelSource.Checkpoint c, RuntimeOptions options) {
        LlamaConfig cfg = LlamaConfig.load(c.directory().resolve("config.json"));
        try (ModelWeights mw = ModelWeights.open(c.directory())) {
            ModelTensors t = ModelTensors.bind(cfg, mw);
            ModelTensors.LayerTensors first = t.layers().get(0);
            DecoderShape s = shape(cfg, first.qBias() != null, first.oBias() != null, first.qNorm() != null, t.tied());
            DecoderWeights w = DecoderWeights.allocate(s);
            try (Stream st = new Stream()) {
                upload(w, t, s, st);
                w.finishUpload();
            } catch (RuntimeException e) {
                w.close();
                throw e;
            }
            return new CudaModelRuntime(c, cfg, options, w);
        }
    }

    private static void upload(DecoderWeights w, ModelTensors t, DecoderShape s, Stream st) {
        put(w, Part.EMBED, 0, 0, t.embed(), st);
        put(w, Part.FINAL_NORM, 0, 0, t.finalNorm(), st);
        if (!t.tied()) {
            put(w, Part.LM_HEAD, 0, 0, t.lmHead(), st);
        }
        long h = s.hidden();
        long qRows = (long) s.qDim() * h;
        long kvRows = (long) s.kvDim() * h;
        for (int l = 0; l < s.layers(); l++) {
            ModelTensors.LayerTensors lt = t.layers().get(l);
            put(w, Part.INPUT_NORM, l, 0, lt.inputNorm(), st);
            put(w, Part.QKV, l, 0, lt.q(), st);
            put(w, Part.QKV, l, qRows, lt.k(), st);
            put(w, Part.QKV, l, qRows + kvRows, lt.v(), st);
            if (s.qkvBias()) {
                put(w, Part.QKV_BIAS, l, 0, lt.qBias(), st);
                put(w, Part.QKV_BIAS, l, s.qDim(), lt.kBias(), st);
                put(w, Part.QKV_BIAS, l, s.qDim() + s.kvDim(), lt.vBias(), st);
            }
            if (s.qkNorm()) {
                put(w, Part.Q_NORM, l, 0, lt.qNorm(), st);
                put(w, Part.K_NORM, l, 0, lt.kNorm(), st);
            }
            put(w, Part.O, l, 0, lt.o(), st);
            if (s.oBias()) {
                put(w, Part.O_BIAS, l, 0, lt.oBias(), st);
            }
            put(w, Part.POST_NORM, l, 0, lt.postNorm(), st);
            put(w, Part.GATE_UP, l, 0, lt.gate(), st);
            put(w, Part.GATE_UP, l, (long) s.intermediate() * h, lt.up(), st);
            put(w, Part.DOWN, l, 0, lt.down(), st);
        }
    }

    private static void put(DecoderWeights w, Part p, int layer, long offset, WeightTensor t, Stream st) {
        SourceType type = switch (t.dtype()) {
            case BF16 -> SourceType.BF16;
            case F16 -> SourceType.F16;
            case F32 -> SourceType.F32;
            default -> throw new IllegalArgumentException(t.source() + ": tensor " + t.name() + " has dtype " + t.dtype()
                    + "; the CUDA backend loads BF16, F16 and F32 weights");
        };
        w.upload(p, layer, offset, t.data(), type, st);
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
        return "cuda";
    }

    @Override
    public String description() {
        return CudaContext.get() + ", bf16 weights and activations, fp32 accumulation and residual, cuBLASLt";
    }

    @Override
    public long weightBytes() {
        return DecoderWeights.bytes(weights.shape());
    }

    @Override
    public long weightBytesPerToken() {
        DecoderShape s = weights.shape();
        long embed = (long) s.vocab() * s.hidden() * 2;
        return s.tiedEmbeddings() ? weightBytes() : weightBytes() - embed + (long) s.hidden() * 2;
    }

    int prefillChunk() {
        return options.prefillChunk() > 0 ? options.prefillChunk() : Decoder.DEFAULT_CHUNK;
    }

    @Override
    public synchronized Session newSession(int capacity, PrefillAttention attention, DecodeAttention decode) {
        if (closed) {
            throw new IllegalStateException("the model " + source + " is closed");
        }
        options.checkSession(config, capacity, attention, decode);
        DecoderAttention prefill = switch (attention) {
            case PrefillAttention.Dense d -> DecoderAttention.dense();
            case PrefillAttention.Seer seer -> new DecoderAttention.Seer(layerGates(seer.gates()), seer.rule());
        };
        SparseDecode sparse = switch (decode) {
            case DecodeAttention.Dense d -> null;
            case DecodeAttention.Sparse sp -> sparseDecode(sp);
        };
        Decoder decoder;
        try {
            decoder = new Decoder(weights, invFreq, capacity, prefillChunk(), sparse);
        } catch (DeviceMemoryException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        CudaSession s = new CudaSession(this, decoder, attention, prefill, decode);
        sessions.add(s);
        return s;
    }

    /** The device weights (tests build their own decoders over them). */
    DecoderWeights weightsForTest() {
        return weights;
    }

    float[] invFreqForTest() {
        return invFreq.clone();
    }

    /** The decode gates of every layer (float32, as {@link DecodeGateSet#weights} gives them) and the rule. */
    static SparseDecode sparseDecode(DecodeAttention.Sparse sparse) {
        DecodeGateSet set = sparse.gates();
        List<DecodeGateWeights> gates = new ArrayList<>();
        for (int l = 0; l < set.size(); l++) {
            gates.add(set.weights(l));
        }
        return new SparseDecode(gates, sparse.rule());
    }

    static List<LayerGate> layerGates(GateSet gates) {
        List<LayerGate> list = new ArrayList<>();
        for (int l = 0; l < gates.size(); l++) {
            var p = gates.layer(l);
            list.add(new LayerGate(gates.config(), p.wq() == null ? null : p.wqFloats(), p.wkFloats()));
        }
        return list;
    }

    synchronized void closed(CudaSession s) {
        sessions.remove(s);
    }

    @Override
    public synchronized MemoryUse memory() {
        long kv = 0;
        long work = 0;
        for (CudaSession s : sessions) {
            kv += weights.shape().kvCacheBytes(s.capacity());
            work += s.residentBytes() - weights.shape().kvCacheBytes(s.capacity());
        }
        return new MemoryUse("device", weightBytes(), kv, work, DeviceBuffer.peakBytes(), MemoryUse.heapUsedNow());
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CudaSession s : new ArrayList<>(sessions)) {
            s.close();
        }
        weights.close();
    }

    @Override
    public String toString() {
        return "CudaModelRuntime[" + source + "]";
    }
}
