package org.seerjava.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.TensorInfo;

/**
 * The safetensors files of a checkpoint directory: {@code model.safetensors}, or the shards listed in the
 * {@code weight_map} of {@code model.safetensors.index.json}. Files are memory-mapped until {@link #close()}.
 */
final class Weights implements AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";

    private final Path dir;
    private final Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
    private final Map<Path, SafeTensors> files = new LinkedHashMap<>();

    private Weights(Path dir) {
        this.dir = dir;
    }

    /** Opens the weights of {@code dir}. */
    static Weights open(Path dir) {
        Weights w = new Weights(dir);
        try {
            Path index = dir.resolve(INDEX);
            Path single = dir.resolve(SINGLE);
            if (Files.isRegularFile(index)) {
                w.openSharded(index);
            } else if (Files.isRegularFile(single)) {
                SafeTensors st = w.openFile(single);
                for (String name : st.names()) {
                    w.byTensor.put(name, st);
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

    private void openSharded(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(index));
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
            byTensor.put(e.getKey(), st);
        }
    }

    private SafeTensors openFile(Path file) {
        SafeTensors st = files.get(file);
        if (st == null) {
            st = SafeTensors.open(file);
            files.put(file, st);
        }
        return st;
    }

    /** Whether a tensor of that name exists. */
    boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    /** Where a tensor is (or would be) read from, for messages. */
    String where(String name) {
        SafeTensors st = byTensor.get(name);
        if (st != null) {
            return st.path().toString();
        }
        return files.size() == 1 ? files.keySet().iterator().next().toString() : dir.resolve(INDEX).toString();
    }

    /**
     * The tensor as float32, after checking that it exists and has the expected shape.
     *
     * @throws IllegalArgumentException naming the tensor and the file when it is missing or its shape differs
     */
    float[] floats(String name, long... shape) {
        SafeTensors st = byTensor.get(name);
        if (st == null) {
            throw new IllegalArgumentException(where(name) + ": tensor " + name + " is missing (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        TensorInfo info = st.info(name);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new IllegalArgumentException(st.path() + ": tensor " + name + " has shape " + Arrays.toString(info.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        if (!info.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(st.path() + ": tensor " + name + " has dtype " + info.dtype()
                    + ", expected a floating-point type (BF16, F16, F32)");
        }
        return st.floats(name);
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (SafeTensors st : files.values()) {
            try {
                st.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        files.clear();
        byTensor.clear();
        if (first != null) {
            throw first;
        }
    }
}
