package org.seerjava.reference.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.SafeTensors;

/**
 * The configuration of one golden file, read from the JSON under the {@code case} key of its safetensors
 * metadata (see golden-data/README.md).
 */
public record GoldenCase(String name, AttentionShape shape, int blockSize, int gateHidden, GateType gateType,
                         double ropeTheta, double gateRopeTheta, double threshold, double nzRatio,
                         boolean lastBlockDense, double softmaxScale) {

    /**
     * Reads the case of an open golden file.
     *
     * @throws IllegalArgumentException naming the file and field when the metadata is missing or malformed
     */
    public static GoldenCase of(SafeTensors file) {
        String json = file.metadata().get("case");
        if (json == null) {
            throw new IllegalArgumentException("golden file " + file.path()
                    + " has no 'case' entry in its metadata; is it a golden file?");
        }
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("golden file " + file.path() + ": 'case' metadata is not JSON: "
                    + e.getMessage(), e);
        }
        String name = file.path().getFileName().toString().replaceFirst("\\.safetensors$", "");
        return new GoldenCase(name,
                new AttentionShape(integer(c, "batch", file), integer(c, "seq_len", file),
                        integer(c, "num_q_heads", file), integer(c, "num_kv_heads", file),
                        integer(c, "head_dim", file)),
                integer(c, "block_size", file), integer(c, "gate_hidden", file),
                GateType.parse(text(c, "gate_type", file)),
                number(c, "rope_theta", file), number(c, "gate_rope_theta", file), number(c, "threshold", file),
                number(c, "nz_ratio", file), field(c, "last_block_dense", file).asBoolean(),
                number(c, "softmax_scale", file));
    }

    /** The gate of this case (no forced Q linear; gate RoPE θ from the case, rotary dim = gate hidden). */
    public GateConfig gateConfig() {
        return new GateConfig(gateType, blockSize, gateHidden, false, RopeConfig.of(gateRopeTheta, gateHidden));
    }

    /** The model RoPE of this case (rotary dim = head dim). */
    public RopeConfig modelRope() {
        return RopeConfig.of(ropeTheta, shape.headDim());
    }

    /** nb = ceil(N / block). */
    public int blocks() {
        return shape.blocks(blockSize);
    }

    private static JsonNode field(JsonNode c, String key, SafeTensors file) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException("golden file " + file.path() + ": case metadata lacks '" + key + "'");
        }
        return n;
    }

    private static int integer(JsonNode c, String key, SafeTensors file) {
        JsonNode n = field(c, key, file);
        if (!n.canConvertToInt()) {
            throw new IllegalArgumentException("golden file " + file.path() + ": case field '" + key
                    + "' must be an integer, found " + n);
        }
        return n.asInt();
    }

    private static double number(JsonNode c, String key, SafeTensors file) {
        JsonNode n = field(c, key, file);
        if (!n.isNumber()) {
            throw new IllegalArgumentException("golden file " + file.path() + ": case field '" + key
                    + "' must be a number, found " + n);
        }
        return n.asDouble();
    }

    private static String text(JsonNode c, String key, SafeTensors file) {
        return field(c, key, file).asText();
    }

    /** Short display name of a golden file path. */
    public static String displayName(Path file) {
        return file.getFileName().toString().replaceFirst("\\.safetensors$", "");
    }
}
