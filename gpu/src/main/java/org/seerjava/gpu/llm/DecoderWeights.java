package org.seerjava.gpu.llm;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.DeviceBuffer;
import org.seerjava.gpu.SeerKernels;
import org.seerjava.gpu.Stream;

/**
 * A decoder's weights on the device, all bf16, one buffer per tensor. The q, k and v projections are stored as one
 * fused {@code [(Hq + 2 Hkv)·D, H]} matrix (q rows, then k, then v) and gate and up as one {@code [2 I, H]} matrix
 * (gate rows, then up), so that each is one matrix product. Checkpoint tensors are copied in by {@link #upload} from
 * host memory (a memory-mapped safetensors file: no copy on the Java heap) as bf16, or as fp32 / fp16 converted to
 * bf16 on the device; {@link #random} draws every weight on the device instead.
 */
public final class DecoderWeights implements AutoCloseable {
    /** The tensors of the model, with their row counts and widths. */
    public enum Part {
        EMBED(false), FINAL_NORM(false), LM_HEAD(false),
        INPUT_NORM(true), QKV(true), QKV_BIAS(true), Q_NORM(true), K_NORM(true), O(true), O_BIAS(true),
        POST_NORM(true), GATE_UP(true), DOWN(true);

        final boolean perLayer;

        Part(boolean perLayer) {
            this.perLayer = perLayer;
        }

        /** {rows, columns} of the part (a vector has one row). */
        long[] shape(DecoderShape s) {
            return switch (this) {
                case EMBED, LM_HEAD -> new long[] {s.vocab(), s.hidden()};
                case FINAL_NORM, INPUT_NORM, POST_NORM, O_BIAS -> new long[] {1, s.hidden()};
                case QKV -> new long[] {s.qkvDim(), s.hidden()};
                case QKV_BIAS -> new long[] {1, s.qkvDim()};
                case Q_NORM, K_NORM -> new long[] {1, s.headDim()};
                case O -> new long[] {s.hidden(), s.qDim()};
                case GATE_UP -> new long[] {2L * s.intermediate(), s.hidden()};
                case DOWN -> new long[] {s.hidden(), s.intermediate()};
            };
        }

        /** Whether a model of this shape has the part. */
        boolean present(DecoderShape s) {
            return switch (this) {
                case QKV_BIAS -> s.qkvBias();
                case O_BIAS -> s.oBias();
                case Q_NORM, K_NORM -> s.qkNorm();
                case LM_HEAD -> !s.tiedEmbeddings();
                default -> true;
            };
        }

        long elements(DecoderShape s) {
            long[] sh = shape(s);
            return Math.multiplyExact(sh[0], sh[1]);
        }
    }

    /** How host data given to {@link #upload} is stored. */
    public enum SourceType { BF16, F16, F32 }

    private final DecoderShape shape;
    private final Map<Part, DeviceBuffer> global = new EnumMap<>(Part.class);
    private final List<Map<Part, DeviceBuffer>> layers = new ArrayList<>();
    private DeviceBuffer staging;
    private boolean closed;

    private DecoderWeights(DecoderShape shape) {
        this.shape = shape;
    }

    /** Bytes of device memory the weights of a shape take (bf16). */
    public static long bytes(DecoderShape shape) {
        long n = 0;
        for (Part p : Part.values()) {
            if (p.present(shape)) {
                n += p.elements(shape) * 2 * (p.perLayer ? shape.layers() : 1);
            }
        }
        return n;
    }

    /**
     * Allocates every tensor of the shape (contents undefined until uploaded or drawn).
     *
     * @throws org.seerjava.gpu.CudaException when the device lacks the memory (the message says how much is needed and
     *                                        free)
     */
    public static DecoderWeights allocate(DecoderShape shape) {
        long need = bytes(shape);
        long free = CudaContext.get().memoryInfo()[0];
        if (need > free) {
            throw new DeviceMemoryException("the weights of this model need " + DeviceMemoryException.human(need)
                    + " of GPU memory (" + need + " bytes, bf16); the GPU has " + DeviceMemoryException.human(free)
                    + " free (" + free + " bytes)", need, free);
        }
        DecoderWeights w = new DecoderWeights(shape);
        try {
            for (Part p : Part.values()) {
                if (p.present(shape) && !p.perLayer) {
                    w.global.put(p, DeviceBuffer.allocate(p.elements(shape) * 2));
                }
            }
            for (int l = 0; l < shape.layers(); l++) {
                Map<Part, DeviceBuffer> m = new EnumMap<>(Part.class);
                w.layers.add(m);
                for (Part p : Part.values()) {
                    if (p.present(shape) && p.perLayer) {
                        m.put(p, DeviceBuffer.allocate(p.elements(shape) * 2));
                    }
                }
            }
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public DecoderShape shape() {
        return shape;
    }

    /** The device address of a part (for a global part, {@code layer} is ignored); the embedding when tied. */
    public long pointer(Part part, int layer) {
        return buffer(part, layer).pointer();
    }

    /** Whether the model has this part. */
    public boolean has(Part part) {
        return part.present(shape) || part == Part.LM_HEAD;
    }

    DeviceBuffer buffer(Part part, int layer) {
        if (closed) {
            throw new IllegalStateException("decoder weights are closed");
        }
        if (part == Part.LM_HEAD && shape.tiedEmbeddings()) {
            return global.get(Part.EMBED);
        }
        DeviceBuffer b = part.perLayer ? layers.get(layer).get(part) : global.get(part);
        if (b == null) {
            throw new IllegalArgumentException("this model has no " + part + " weights");
        }
        return b;
    }

    /**
     * Copies {@code elements} values from host memory into a part, starting at element {@code offset} (the k rows of
     * the fused QKV matrix start at {@code Hq·D·H}, the up rows of GATE_UP at {@code I·H}). bf16 data is copied as
     * is; fp32 and fp16 data go through a device staging buffer and are rounded to bf16 there.
     */
    public void upload(Part part, int layer, long offset, MemorySegment host, SourceType type, Stream stream) {
        long elements = host.byteSize() / switch (type) {
            case BF16, F16 -> 2;
            case F32 -> 4;
        };
        DeviceBuffer dst = buffer(part, layer);
        long total = part.elements(shape);
        if (offset < 0 || offset + elements > total) {
            throw new IllegalArgumentException(part + " of layer " + layer + " has " + total + " elements; " + elements
                    + " at offset " + offset + " do not fit");
        }
        long dstPtr = dst.pointer() + offset * 2;
        CudaContext c = CudaContext.get();
        if (type == SourceType.BF16) {
            c.driver().memcpyHtoD(dstPtr, host, host.byteSize());
            return;
        }
        long chunkBytes = 64L << 20;
        if (staging == null) {
            staging = DeviceBuffer.allocate(chunkBytes);
        }
        int width = type == SourceType.F32 ? 4 : 2;
        long per = chunkBytes / width;
        for (long done = 0; done < elements; done += per) {
            long n = Math.min(per, elements - done);
            stream.synchronize();                            // the staging buffer is free again
            c.driver().memcpyHtoD(staging.pointer(), host.asSlice(done * width, n * width), n * width);
            if (type == SourceType.F32) {
                ModelKernels.f32ToBf16(stream, staging.pointer(), dstPtr + done * 2, n);
            } else {
                ModelKernels.f16ToBf16(stream, staging.pointer(), dstPtr + done * 2, n);
            }
        }
        stream.synchronize();
    }

    /** Frees the staging buffer of fp32 / fp16 uploads (call when loading is done). */
    public void finishUpload() {
        if (staging != null) {
            staging.close();
            staging = null;
        }
    }

    /**
     * Draws every weight on the device (deterministic per seed): every matrix (embedding, projections, lm_head)
     * uniform with mean 0 and standard deviation 0.02 (Hugging Face's {@code initializer_range}), biases 0, norms 1.
     */
    public void random(long seed, Stream stream) {
        long k = 0;
        for (Part p : Part.values()) {
            if (!p.present(shape)) {
                continue;
            }
            for (int l = 0; l < (p.perLayer ? shape.layers() : 1); l++) {
                DeviceBuffer b = buffer(p, l);
                long n = p.elements(shape);
                switch (p) {
                    case FINAL_NORM, INPUT_NORM, POST_NORM, Q_NORM, K_NORM -> ModelKernels.fill(stream, b.pointer(), n, 1f);
                    case QKV_BIAS, O_BIAS -> ModelKernels.fill(stream, b.pointer(), n, 0f);
                    default -> {
                        float a = (float) (0.02 * Math.sqrt(3.0));
                        SeerKernels.FILL_UNIFORM_BF16.kernel().launch(stream, (int) Math.min(Math.ceilDiv(n, 256),
                                1L << 20), 1, 1, 256, 1, 1, 0, b, n, seed * 1_000_003L + (k++), -a, a);
                    }
                }
            }
        }
        stream.synchronize();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        finishUpload();
        for (DeviceBuffer b : global.values()) {
            b.close();
        }
        for (Map<Part, DeviceBuffer> m : layers) {
            for (DeviceBuffer b : m.values()) {
                b.close();
            }
        }
        global.clear();
        layers.clear();
    }
}
