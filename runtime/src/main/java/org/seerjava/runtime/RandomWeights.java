package org.seerjava.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.seerjava.cpu.Parallel;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.ModelFamily;
import org.seerjava.model.ModelWeights;
import org.seerjava.model.WeightTensor;
import org.seerjava.reference.io.BFloat16;
import org.seerjava.reference.io.DType;

/**
 * Random bf16 weights of a {@link ModelShape}, drawn without a checkpoint: held in native memory
 * ({@link #allocate}) or written once as a Hugging Face checkpoint directory ({@link #writeCheckpoint}, streamed:
 * the Java heap never holds a tensor).
 *
 * <p>Values: every matrix element is {@code 0.02 · √3 · (u₁ + u₂ + u₃ + u₄ − 2)} with four 16-bit uniforms from a
 * SplitMix64 hash of (seed, tensor, element): mean 0, standard deviation 0.02 (Hugging Face's
 * {@code initializer_range}), bounded by ±0.07; every RMSNorm weight is 1, every bias 0. An element's value depends
 * only on the seed, the tensor's index in {@link #tensors} and its own index, so it is the same however the work is
 * split.
 */
public final class RandomWeights {
    /** Standard deviation of the matrix elements. */
    public static final double STD = 0.02;

    private RandomWeights() {
    }

    /**
     * What one tensor holds.
     *
     * @param name   the Hugging Face tensor name
     * @param shape  its shape
     * @param matrix random (true) or a constant: 1 for a norm, 0 for a bias
     * @param value  the constant when not random
     */
    public record Spec(String name, long[] shape, boolean matrix, float value) {
        /**
         * Elements.
         *
         * @return the product of the shape
         */
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /**
     * Every tensor of a model of this config, in the order used for the hash.
     *
     * @param c the configuration
     * @return the tensors, named by the config's family
     */
    public static List<Spec> tensors(LlamaConfig c) {
        ModelFamily f = c.family();
        long h = c.hiddenSize();
        long qd = c.qDim();
        long kvd = c.kvDim();
        long im = c.intermediateSize();
        List<Spec> list = new ArrayList<>();
        list.add(new Spec(f.embedTokens(), new long[] {c.vocabSize(), h}, true, 0));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            ModelFamily.LayerNames n = f.layer(l);
            list.add(new Spec(n.inputNorm(), new long[] {h}, false, 1));
            list.add(new Spec(n.q() + ".weight", new long[] {qd, h}, true, 0));
            list.add(new Spec(n.k() + ".weight", new long[] {kvd, h}, true, 0));
            list.add(new Spec(n.v() + ".weight", new long[] {kvd, h}, true, 0));
            if (c.qkvBias()) {
                list.add(new Spec(n.q() + ".bias", new long[] {qd}, false, 0));
                list.add(new Spec(n.k() + ".bias", new long[] {kvd}, false, 0));
                list.add(new Spec(n.v() + ".bias", new long[] {kvd}, false, 0));
            }
            list.add(new Spec(n.o() + ".weight", new long[] {h, qd}, true, 0));
            if (c.oBias()) {
                list.add(new Spec(n.o() + ".bias", new long[] {h}, false, 0));
            }
            if (f.qkNorm()) {
                list.add(new Spec(n.qNorm(), new long[] {c.headDim()}, false, 1));
                list.add(new Spec(n.kNorm(), new long[] {c.headDim()}, false, 1));
            }
            list.add(new Spec(n.postNorm(), new long[] {h}, false, 1));
            list.add(new Spec(n.gate() + ".weight", new long[] {im, h}, true, 0));
            list.add(new Spec(n.up() + ".weight", new long[] {im, h}, true, 0));
            list.add(new Spec(n.down() + ".weight", new long[] {h, im}, true, 0));
        }
        list.add(new Spec(f.finalNorm(), new long[] {h}, false, 1));
        if (!c.tieWordEmbeddings()) {
            list.add(new Spec(f.lmHead(), new long[] {c.vocabSize(), h}, true, 0));
        }
        return list;
    }

    /**
     * The bf16 bits of one element.
     *
     * @param seed    the seed
     * @param tensor  the tensor's index in {@link #tensors}
     * @param spec    the tensor
     * @param element the element's index
     * @return bf16 bits
     */
    public static short bits(long seed, int tensor, Spec spec, long element) {
        if (!spec.matrix()) {
            return BFloat16.floatToBf16(spec.value());
        }
        long z = mix(seed * 0x9E3779B97F4A7C15L + ((long) tensor << 40) + element);
        double s = (z & 0xFFFF) + ((z >>> 16) & 0xFFFF) + ((z >>> 32) & 0xFFFF) + (z >>> 48);
        double u = s / 65536.0 - 2.0 + 2.0 / 65536.0; // four uniforms in (0, 1), centred
        return BFloat16.floatToBf16((float) (STD * Math.sqrt(3.0) * u));
    }

    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Random weights in native memory (one shared arena, released when the weights are closed).
     *
     * @param config the configuration
     * @param seed   the seed
     * @return the weights
     * @throws IllegalArgumentException when the native memory cannot be allocated (the bytes needed)
     */
    public static ModelWeights allocate(LlamaConfig config, long seed) {
        List<Spec> specs = tensors(config);
        long total = 0;
        for (Spec s : specs) {
            total = Math.addExact(total, Math.multiplyExact(s.elements(), 2L));
        }
        Arena arena = Arena.ofShared();
        try {
            Map<String, WeightTensor> map = new LinkedHashMap<>();
            for (int t = 0; t < specs.size(); t++) {
                Spec s = specs.get(t);
                MemorySegment seg;
                try {
                    seg = arena.allocate(s.elements() * 2, 64);
                } catch (OutOfMemoryError e) {
                    throw new IllegalArgumentException("random weights need " + total + " bytes of native memory; "
                            + "allocating tensor " + s.name() + " (" + s.elements() * 2 + " bytes) failed: " + e.getMessage(), e);
                }
                fill(seg, seed, t, s);
                map.put(s.name(), new WeightTensor(s.name(), DType.BF16, s.shape(), seg, "random weights (seed " + seed + ")"));
            }
            return ModelWeights.of(map, "random weights (seed " + seed + ")", arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static void fill(MemorySegment seg, long seed, int tensor, Spec s) {
        long n = s.elements();
        int chunks = (int) Math.min(Math.max(1, n >>> 16), 1 << 14);
        Parallel.forEach(chunks, c -> {
            long from = n * c / chunks;
            long to = n * (c + 1) / chunks;
            for (long i = from; i < to; i++) {
                seg.setAtIndex(WeightTensor.HALF, i, bits(seed, tensor, s, i));
            }
        });
    }

    /**
     * Writes a checkpoint directory ({@code config.json} and {@code model.safetensors}) with random bf16 weights,
     * streaming the tensors to the file; the file is written under a temporary name and moved into place.
     *
     * @param shape the model's shape
     * @param seed  the seed
     * @param dir   the directory (created)
     * @return dir
     * @throws java.io.UncheckedIOException when writing fails
     */
    public static Path writeCheckpoint(ModelShape shape, long seed, Path dir) {
        LlamaConfig c = shape.config();
        List<Spec> specs = tensors(c);
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt").put("seer_random_seed", Long.toString(seed))
                .put("seer_shape", shape.name());
        long offset = 0;
        for (Spec s : specs) {
            ObjectNode e = header.putObject(s.name());
            e.put("dtype", "BF16");
            var arr = e.putArray("shape");
            for (long d : s.shape()) {
                arr.add(d);
            }
            long bytes = Math.multiplyExact(s.elements(), 2L);
            e.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), shape.configJson());
            byte[] head = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
            int pad = (8 - head.length % 8) % 8;
            Path tmp = dir.resolve(ModelWeights.SINGLE + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer start = ByteBuffer.allocate(8 + head.length + pad).order(ByteOrder.LITTLE_ENDIAN);
                start.putLong(head.length + pad).put(head);
                for (int i = 0; i < pad; i++) {
                    start.put((byte) ' ');
                }
                write(ch, start.flip());
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
                for (int t = 0; t < specs.size(); t++) {
                    Spec s = specs.get(t);
                    long n = s.elements();
                    for (long i = 0; i < n; ) {
                        buf.clear();
                        int count = (int) Math.min(n - i, buf.capacity() / 2);
                        final long base = i;
                        final int tensor = t;
                        short[] part = new short[count];
                        Parallel.forEach(Math.ceilDiv(count, 4096), b -> {
                            for (int k = b * 4096, end = Math.min(count, k + 4096); k < end; k++) {
                                part[k] = bits(seed, tensor, s, base + k);
                            }
                        });
                        buf.asShortBuffer().put(part);
                        buf.limit(count * 2);
                        write(ch, buf);
                        i += count;
                    }
                }
            }
            Files.move(tmp, dir.resolve(ModelWeights.SINGLE), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(dir + ": cannot write random checkpoint: " + e.getMessage(), e);
        }
    }

    private static void write(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
