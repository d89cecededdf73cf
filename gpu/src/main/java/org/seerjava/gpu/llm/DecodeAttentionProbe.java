package org.seerjava.gpu.llm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.seerjava.gpu.CudaGraph;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.Event;
import org.seerjava.gpu.Stream;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.DecodeGateWeights;

/**
 * The decode attention of one token on its own (issue #20's speed line): {@code layers} layer-steps of a model shape,
 * dense ({@code attn_decode_partial} + {@code attn_decode_combine}, as {@link Decoder} decodes without gates) or
 * SeerAttention-R ({@link SparseDecoding}'s three kernels: cache push and gate query, scores and selection, the
 * block-sparse attention with its merge), captured once as a CUDA graph and timed with events, as the decoder replays a
 * step. Every layer-step reads a cache of its own (random bf16 keys and values of {@code context} tokens, and for the
 * sparse path the compressed keys of those tokens under random gates, whose selection is arbitrary but of the
 * budget's size), {@code distinct} caches in turn, so that the kept blocks of one layer are not found in L2 by the
 * next. What is timed is attention alone: no projections, no MLP.
 */
public final class DecodeAttentionProbe {
    private DecodeAttentionProbe() {
    }

    /**
     * The result of one configuration.
     *
     * @param millis  median milliseconds of the {@code layers} layer-steps (one token's attention)
     * @param density blocks attended ÷ blocks cached (1 for dense)
     */
    public record Timing(double millis, double density) {
    }

    /**
     * Times one token's decode attention at position {@code context} (keys 0 … context).
     *
     * @param shape    heads and head dim (its layer count is ignored)
     * @param context  tokens already in the cache
     * @param rule     a token budget or threshold, or null for dense attention
     * @param layers   layer-steps per token (32 for Llama 3.1 8B)
     * @param distinct caches used in turn (8 keeps the kept blocks of 32 layers out of a 50 MB L2)
     */
    public static Timing time(DecoderShape shape, int context, DecodeSelectionRule rule, int layers, int distinct) {
        int capacity = context + 1;
        DecoderShape s = new DecoderShape(shape.hidden(), shape.intermediate(), distinct, shape.qHeads(),
                shape.kvHeads(), shape.headDim(), shape.vocab(), shape.rmsNormEps(), false, false, false, false);
        long kvBytes = (long) capacity * s.kvDim() * 2;
        List<AutoCloseable> held = new ArrayList<>();
        try (Stream st = new Stream(); Event e0 = new Event(); Event e1 = new Event()) {
            List<DeviceBuffer> k = new ArrayList<>();
            List<DeviceBuffer> v = new ArrayList<>();
            for (int l = 0; l < distinct; l++) {
                k.add(hold(held, DeviceBuffer.allocate(kvBytes)));
                v.add(hold(held, DeviceBuffer.allocate(kvBytes)));
                DeviceProbe.fillUniform(k.get(l), st, 10 + l, 1f);
                DeviceProbe.fillUniform(v.get(l), st, 50 + l, 1f);
            }
            DeviceBuffer q = hold(held, DeviceBuffer.allocate((long) s.qDim() * 2));
            DeviceProbe.fillUniform(q, st, 3, 1f);
            DeviceBuffer pos = hold(held, DeviceBuffer.allocate(4));
            try (var a = java.lang.foreign.Arena.ofConfined()) {
                pos.copyFrom(a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_INT, context));
            }
            SparseDecoding sparse = null;
            int splits = ModelKernels.decodeSplits(1, s.kvHeads(), capacity);
            DeviceBuffer ml = hold(held, DeviceBuffer.allocate((long) s.qHeads() * splits * 8));
            DeviceBuffer po = hold(held, DeviceBuffer.allocate((long) s.qHeads() * splits * s.headDim() * 4));
            if (rule != null) {
                sparse = hold(held, new SparseDecoding(new SparseDecode(randomGates(s), rule), s, capacity));
                try (DeviceBuffer kPre = DeviceBuffer.allocate((long) context * s.kvDim() * 2)) {
                    for (int l = 0; l < distinct; l++) {
                        DeviceProbe.fillUniform(kPre, st, 90 + l, 1f);
                        sparse.append(st, l, kPre.pointer(), 0, context, false);
                        st.synchronize();
                    }
                }
                DeviceProbe.fillUniform(sparse.qPre, st, 4, 1f);
                DeviceProbe.fillUniform(sparse.kPre, st, 5, 1f);
            }
            ModelKernels.preload(s.headDim());
            st.synchronize();
            double scale = 1.0 / Math.sqrt(s.headDim());
            SparseDecoding sd = sparse;
            CudaGraph graph = st.capture(() -> {
                for (int i = 0; i < layers; i++) {
                    int l = i % distinct;
                    if (sd == null) {
                        ModelKernels.decodeAttention(st, q.pointer(), k.get(l).pointer(), v.get(l).pointer(),
                                pos.pointer(), 0, ml.pointer(), po.pointer(), q.pointer(), 1, s.qHeads(), s.kvHeads(),
                                s.headDim(), splits, scale);
                    } else {
                        sd.enqueueStep(st, l, q.pointer(), k.get(l).pointer(), v.get(l).pointer(), pos.pointer(),
                                q.pointer(), scale);
                    }
                }
            });
            held.add(graph);
            double ms = DeviceProbe.median(st, e0, e1, () -> graph.launch(st));
            st.synchronize();
            double density = 1.0;
            if (sparse != null) {
                sparse.reset(st);
                graph.launch(st);
                st.synchronize();
                density = sparse.density();
            }
            return new Timing(ms, density);
        } finally {
            for (int i = held.size() - 1; i >= 0; i--) {
                try {
                    held.get(i).close();
                } catch (Exception ignored) {
                    // freeing is best effort here; the first failure was reported
                }
            }
        }
    }

    private static <T extends AutoCloseable> T hold(List<AutoCloseable> held, T x) {
        held.add(x);
        return x;
    }

    /** Untrained decode gates (normal(0, 0.02), the official initialisation) of the official configuration. */
    static List<DecodeGateWeights> randomGates(DecoderShape s) {
        DecodeGateConfig config = DecodeGateConfig.of(64, s.headDim(), 500_000);
        SplittableRandom random = new SplittableRandom(7);
        List<DecodeGateWeights> gates = new ArrayList<>();
        for (int l = 0; l < s.layers(); l++) {
            float[] wq = new float[DecodeGateWeights.qWeightElements(config, s.qHeads(), s.kvHeads(), s.headDim())];
            float[] wk = new float[s.kvHeads() * config.kDup() * s.headDim() * s.headDim()];
            for (float[] w : new float[][] {wq, wk}) {
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (0.02 * gaussian(random));
                }
            }
            gates.add(new DecodeGateWeights(s.qHeads(), s.kvHeads(), s.headDim(), config, wq, wk, null, null));
        }
        return gates;
    }

    private static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
