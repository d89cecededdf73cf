package org.seerjava.gate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * The AttnGates of every layer of a model, with their {@link GateSpec}. Stored as safetensors in the official
 * naming {@code model.layers.{i}.self_attn.attn_gate.mask_linear_{q,k}.weight} (float32), with metadata
 * {@code gate_type}, {@code gate_hidden}, {@code block_size}, {@code layers}, {@code q_heads}, {@code kv_heads},
 * {@code head_dim} and any extra entries the caller adds (training settings, steps).
 */
public final class GateSet {
    /** Standard deviation of the initial weights ({@code initializer_range} of Llama and Qwen). */
    public static final double INIT_STD = 0.02;

    private static final Pattern NAME = Pattern.compile(
            "model\\.layers\\.(\\d+)\\.self_attn\\.attn_gate\\.mask_linear_([qk])\\.weight");

    private final GateSpec spec;
    private final List<GateParameters> layers;

    /** Gates with the given weights (not copied), checked against the spec. */
    public GateSet(GateSpec spec, List<GateParameters> layers) {
        if (spec == null || layers == null) {
            throw new IllegalArgumentException("gate spec and layers must not be null");
        }
        if (layers.size() != spec.layers()) {
            throw new IllegalArgumentException("gate set has " + layers.size() + " layers, the model has "
                    + spec.layers());
        }
        for (int i = 0; i < layers.size(); i++) {
            layers.get(i).requireShape(spec, i);
        }
        this.spec = spec;
        this.layers = List.copyOf(layers);
    }

    /** Fresh gates, every weight normal(0, 0.02), deterministic for a seed. */
    public static GateSet init(GateSpec spec, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<GateParameters> list = new ArrayList<>();
        for (int i = 0; i < spec.layers(); i++) {
            list.add(GateParameters.init(spec, INIT_STD, random));
        }
        return new GateSet(spec, list);
    }

    public GateSpec spec() {
        return spec;
    }

    public GateConfig config() {
        return spec.gate();
    }

    /** Number of layers. */
    public int size() {
        return layers.size();
    }

    /** The weights of one layer (live: the trainer updates them in place). */
    public GateParameters layer(int i) {
        return layers.get(i);
    }

    /** All layers. */
    public List<GateParameters> layers() {
        return layers;
    }

    /** Number of trainable parameters. */
    public long parameterCount() {
        long n = 0;
        for (GateParameters p : layers) {
            n += p.wk().length + (p.wq() == null ? 0 : p.wq().length);
        }
        return n;
    }

    /** A deep copy. */
    public GateSet copy() {
        return new GateSet(spec, layers.stream().map(GateParameters::copy).toList());
    }

    /** Tensor name of a layer's gate weight. */
    public static String tensorName(int layer, char which) {
        return "model.layers." + layer + ".self_attn.attn_gate.mask_linear_" + which + ".weight";
    }

    /** Writes the gates (float32) with the spec and {@code extra} metadata; atomic. */
    public void save(Path file, Map<String, String> extra) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.metadata("format", "pt");
        w.metadata("gate_type", spec.gate().type().name());
        w.metadata("gate_hidden", Integer.toString(spec.gate().hiddenSize()));
        w.metadata("block_size", Integer.toString(spec.gate().blockSize()));
        w.metadata("force_double", Boolean.toString(spec.gate().forceDouble()));
        w.metadata("layers", Integer.toString(spec.layers()));
        w.metadata("q_heads", Integer.toString(spec.qHeads()));
        w.metadata("kv_heads", Integer.toString(spec.kvHeads()));
        w.metadata("head_dim", Integer.toString(spec.headDim()));
        if (extra != null) {
            extra.forEach(w::metadata);
        }
        for (int i = 0; i < layers.size(); i++) {
            GateParameters p = layers.get(i);
            if (p.wq() != null) {
                w.add(tensorName(i, 'q'), DType.F32, spec.wqShape(), p.wqFloats());
            }
            w.add(tensorName(i, 'k'), DType.F32, spec.wkShape(), p.wkFloats());
        }
        w.write(file);
    }

    /** Writes the gates with the spec's metadata only. */
    public void save(Path file) {
        save(file, Map.of());
    }

    /**
     * Reads gates for a model. The file's metadata, where present ({@code gate_type}, {@code gate_hidden},
     * {@code block_size}), must agree with {@code expected}; every layer must have its tensors with the expected
     * shapes, and no tensor may name a layer the model lacks.
     *
     * @throws SafeTensorsException naming the file and tensor on a missing tensor, a shape mismatch, a metadata
     *                              mismatch, non-finite weights or a corrupt file
     */
    public static GateSet load(Path file, GateSpec expected) {
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, String> meta = st.metadata();
            checkMeta(file, meta, "gate_type", expected.gate().type().name());
            checkMeta(file, meta, "gate_hidden", Integer.toString(expected.gate().hiddenSize()));
            checkMeta(file, meta, "block_size", Integer.toString(expected.gate().blockSize()));
            TreeSet<Integer> seen = new TreeSet<>();
            for (String name : st.names()) {
                Matcher m = NAME.matcher(name);
                if (!m.matches()) {
                    continue; // other tensors (e.g. a whole model state dict) are ignored
                }
                String digits = m.group(1);
                int layer = digits.length() > 9 ? Integer.MAX_VALUE : Integer.parseInt(digits);   // no overflow
                if (layer >= expected.layers()) {
                    throw new SafeTensorsException(file, name, "gate for layer " + digits + ", but the model has "
                            + expected.layers() + " layers");
                }
                if (m.group(2).equals("q") && !expected.hasQLinear()) {
                    throw new SafeTensorsException(file, name, "gate type " + expected.gate().type() + " with Dg = "
                            + expected.gate().hiddenSize() + " = head_dim has no Q linear, but the file has one"
                            + " (does gate_hidden or the model's head_dim differ?)");
                }
                seen.add(layer);
            }
            List<GateParameters> list = new ArrayList<>();
            for (int i = 0; i < expected.layers(); i++) {
                double[] wq = null;
                if (expected.hasQLinear()) {
                    wq = read(st, file, tensorName(i, 'q'), expected.wqShape());
                }
                double[] wk = read(st, file, tensorName(i, 'k'), expected.wkShape());
                list.add(new GateParameters(wq, wk));
            }
            return new GateSet(expected, list);
        }
    }

    /**
     * Reads gates for a model whose dimensions are given, taking gate type, hidden size and block size from the
     * file's metadata (defaults when absent: {@code Qavg_Kmaxminavg}, hidden = head_dim, block 64).
     */
    public static GateSet load(Path file, ModelDims model) {
        Map<String, String> meta;
        try (SafeTensors st = SafeTensors.open(file)) {
            meta = st.metadata();
        }
        GateType type;
        int hidden;
        int block;
        try {
            type = GateType.parse(meta.getOrDefault("gate_type", GateType.DEFAULT.name()));
            hidden = Integer.parseInt(meta.getOrDefault("gate_hidden", Integer.toString(model.headDim())));
            block = Integer.parseInt(meta.getOrDefault("block_size", "64"));
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "bad gate metadata " + meta + ": " + e.getMessage(), e);
        }
        boolean force = Boolean.parseBoolean(meta.getOrDefault("force_double", "false"));
        GateSpec spec;
        try {
            spec = new GateSpec(new GateConfig(type, block, hidden, force, model.rope()), model.layers(),
                    model.qHeads(), model.kvHeads(), model.headDim());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "bad gate metadata " + meta + " for this model: " + e.getMessage(), e);
        }
        return load(file, spec);
    }

    /**
     * The number of layers a gate file holds gates for: one more than the highest {@code i} among its tensors
     * {@code model.layers.{i}.self_attn.attn_gate.mask_linear_{q,k}.weight}.
     *
     * @throws SafeTensorsException naming the file when it holds no gate tensor or is not a safetensors file
     */
    public static int layersIn(Path file) {
        int layers = 0;
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String name : st.names()) {
                Matcher m = NAME.matcher(name);
                if (m.matches()) {
                    layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
                }
            }
        }
        if (layers == 0) {
            throw new SafeTensorsException(file, null,
                    "holds no gate tensor named model.layers.{i}.self_attn.attn_gate.mask_linear_{q,k}.weight");
        }
        return layers;
    }

    private static void checkMeta(Path file, Map<String, String> meta, String key, String expected) {
        String found = meta.get(key);
        if (found != null && !found.equals(expected)) {
            throw new SafeTensorsException(file, null, "gate metadata " + key + " = " + found + ", expected "
                    + expected);
        }
    }

    private static double[] read(SafeTensors st, Path file, String name, long[] shape) {
        if (!st.contains(name)) {
            throw new SafeTensorsException(file, name, "missing gate tensor (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        long[] found = st.shape(name);
        if (!Arrays.equals(found, shape)) {
            throw new SafeTensorsException(file, name, "gate shape mismatch between file and model: found "
                    + Arrays.toString(found) + ", expected " + Arrays.toString(shape)
                    + " = [heads, pools·head_dim, gate_hidden]");
        }
        float[] f = st.floats(name);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            if (!Float.isFinite(f[i])) {
                throw new SafeTensorsException(file, name, "non-finite weight " + f[i] + " at flat index " + i);
            }
            d[i] = f[i];
        }
        return d;
    }
}
