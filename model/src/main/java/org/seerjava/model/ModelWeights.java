package org.seerjava.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.TensorInfo;

/**
 * The weights of a checkpoint, kept where they are stored: {@code model.safetensors}, or the shards listed in the
 * {@code weight_map} of {@code model.safetensors.index.json}, memory-mapped until {@link #close()}. Tensors are handed
 * out as {@link WeightTensor} views in their stored dtype; nothing is copied to the Java heap, so an 8B checkpoint
 * opens with a small heap. {@link #of} wraps tensors held elsewhere (native memory with random weights).
 *
 * <p>The index is read with a size cap of {@value #MAX_INDEX_BYTES} bytes; shard names must stay inside the
 * directory.
 */
public final class ModelWeights implements AutoCloseable {
    /** The single-file weights of a checkpoint directory. */
    public static final String SINGLE = "model.safetensors";
    /** The shard index of a checkpoint directory. */
    public static final String INDEX = "model.safetensors.index.json";
    /** The largest shard index read, in bytes. */
    public static final long MAX_INDEX_BYTES = 64L << 20;

    private final String description;
    private final Map<String, WeightTensor> byName = new LinkedHashMap<>();
    private final Map<Path, SafeTensors> files = new LinkedHashMap<>();
    private final Map<String, String> unsupported = new LinkedHashMap<>();
    private final AutoCloseable owner;
    private volatile boolean closed;

    private ModelWeights(String description, AutoCloseable owner) {
        this.description = description;
        this.owner = owner;
    }

    /**
     * Memory-maps the weights of a checkpoint directory.
     *
     * @param dir a Hugging Face checkpoint directory
     * @return the open weights; close them to release the mappings
     * @throws IllegalArgumentException when there are no weights, the index is unreadable or names a missing
     *                                  shard, or a tensor has a dtype other than BF16/F16/F32 (names file and tensor)
     * @throws org.seerjava.reference.io.SafeTensorsException when a weights file is corrupt (names the file)
     */
    public static ModelWeights open(Path dir) {
        Path index = dir.resolve(INDEX);
        Path single = dir.resolve(SINGLE);
        ModelWeights w = new ModelWeights(dir.toString(), null);
        try {
            if (Files.isRegularFile(index)) {
                w.openSharded(dir, index);
            } else if (Files.isRegularFile(single)) {
                SafeTensors st = w.openFile(single);
                for (String name : st.names()) {
                    w.add(st, name);
                }
            } else {
                throw new IllegalArgumentException(dir + ": no weights found: expected " + SINGLE + " or " + INDEX);
            }
            return w;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    /**
     * Wraps tensors held elsewhere.
     *
     * @param tensors     the tensors by name
     * @param description where they live, for messages
     * @param owner       closed by {@link #close()} (e.g. the arena of native memory), or null
     * @return the weights
     */
    public static ModelWeights of(Map<String, WeightTensor> tensors, String description, AutoCloseable owner) {
        ModelWeights w = new ModelWeights(description, owner);
        w.byName.putAll(tensors);
        return w;
    }

    private void openSharded(Path dir, Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(LlamaConfig.readCapped(index, MAX_INDEX_BYTES, "the shard index"));
        } catch (IOException e) {
            throw new IllegalArgumentException(index + ": cannot read the shard index: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new IllegalArgumentException(index + ": field 'weight_map' must be a non-empty object of tensor name → shard file");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException(index + ": field 'weight_map." + e.getKey() + "' must be a file name, found "
                        + e.getValue());
            }
            Path shard = dir.resolve(e.getValue().asText()).normalize();
            if (!shard.startsWith(dir.normalize()) || !Files.isRegularFile(shard)) {
                throw new IllegalArgumentException(index + ": shard '" + e.getValue().asText() + "' of tensor " + e.getKey()
                        + " does not exist in " + dir);
            }
            SafeTensors st = openFile(shard);
            if (!st.contains(e.getKey())) {
                throw new IllegalArgumentException(shard + ": tensor " + e.getKey() + " is listed in " + index
                        + " but missing from the shard");
            }
            add(st, e.getKey());
        }
    }

    private void add(SafeTensors st, String name) {
        TensorInfo info = st.info(name);
        if (info.dtype() != DType.BF16 && info.dtype() != DType.F16 && info.dtype() != DType.F32) {
            // not a weight type this project computes with: refused when a loader asks for it by name
            unsupported.put(name, st.path() + ": tensor " + name + " has dtype " + info.dtype()
                    + ", expected a floating-point weight type (BF16, F16 or F32)");
            return;
        }
        byName.put(name, new WeightTensor(name, info.dtype(), info.shape(), st.segment(name), st.path().toString()));
    }

    private SafeTensors openFile(Path file) {
        SafeTensors st = files.get(file);
        if (st == null) {
            st = SafeTensors.open(file);
            files.put(file, st);
        }
        return st;
    }

    /**
     * Whether a tensor of that name exists.
     *
     * @param name the tensor name
     * @return true when present
     */
    public boolean contains(String name) {
        return byName.containsKey(name) || unsupported.containsKey(name);
    }

    /**
     * The tensor names, in file order.
     *
     * @return an unmodifiable view
     */
    public Set<String> names() {
        return Collections.unmodifiableSet(byName.keySet());
    }

    /**
     * Where a tensor is (or would be) read from, for messages.
     *
     * @param name the tensor name
     * @return a file path or the description
     */
    public String where(String name) {
        WeightTensor t = byName.get(name);
        if (t != null) {
            return t.source();
        }
        if (files.size() == 1) {
            return files.keySet().iterator().next().toString();
        }
        return files.isEmpty() ? description : Path.of(description).resolve(INDEX).toString();
    }

    /**
     * A tensor after checking that it exists and has the expected shape.
     *
     * @param name  the tensor name
     * @param shape the dimensions it must have
     * @return the tensor in its stored dtype
     * @throws IllegalArgumentException naming the tensor and the file when it is missing or its shape differs
     */
    public WeightTensor require(String name, long... shape) {
        ensureOpen();
        WeightTensor t = byName.get(name);
        if (t == null && unsupported.containsKey(name)) {
            throw new IllegalArgumentException(unsupported.get(name));
        }
        if (t == null) {
            throw new IllegalArgumentException(where(name) + ": tensor " + name + " is missing (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        if (!t.hasShape(shape)) {
            throw new IllegalArgumentException(t.source() + ": tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
        }
        return t;
    }

    /**
     * Bytes of every tensor held.
     *
     * @return the sum of their byte sizes
     */
    public long totalBytes() {
        long sum = 0;
        for (WeightTensor t : byName.values()) {
            sum = Math.addExact(sum, t.byteSize());
        }
        return sum;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("weights of " + description + " are closed");
        }
    }

    /** Releases the mappings (or the owner of the tensors); tensors handed out become inaccessible. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException first = null;
        for (SafeTensors st : files.values()) {
            try {
                st.close();
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (owner != null) {
            try {
                owner.close();
            } catch (Exception e) {
                first = first == null ? new IllegalStateException("closing " + description + ": " + e, e) : first;
            }
        }
        files.clear();
        byName.clear();
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "ModelWeights[" + description + ", " + byName.size() + " tensors]";
    }
}
