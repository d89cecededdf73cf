package org.seerjava.gate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.seerjava.reference.Pool;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * The SeerAttention-R decode gates of every layer of a model, with their {@link DecodeGateSpec}. Stored as
 * safetensors (float32) under the official module names {@code model.layers.{i}.self_attn.attn_gate.} +
 * {@code attngate_linear_q.weight} {@code [Hkv, g, D, Dg]} (Qproj) or {@code [Hkv, D, Dg]} (Qavgproj),
 * {@code attngate_linear_k.weight} {@code [Hkv, kdup·D, Dg]}, and with qk norm {@code attngate_qnorm.weight},
 * {@code attngate_knorm.weight} {@code [Dg]} — the keys of the official {@code attn_gate_weights.pth} — with the
 * configuration as metadata under the official config names ({@code seerattn_q_head_pooling_type},
 * {@code seerattn_k_seq_pooling_type}, {@code seerattn_gate_block_size}, {@code seerattn_gate_hidden_size},
 * {@code seerattn_use_qk_norm}, {@code seerattn_use_rope}) plus {@code decode_key_position} and the model's
 * dimensions.
 */
public final class DecodeGateSet {
    private static final Pattern NAME = Pattern.compile(
            "model\\.layers\\.(\\d+)\\.self_attn\\.attn_gate\\.attngate_(linear_q|linear_k|qnorm|knorm)\\.weight");

    private final DecodeGateSpec spec;
    private final List<DecodeGateParameters> layers;

    /** Gates with the given weights (not copied), checked against the spec. */
    public DecodeGateSet(DecodeGateSpec spec, List<DecodeGateParameters> layers) {
        if (spec == null || layers == null) {
            throw new IllegalArgumentException("decode gate spec and layers must not be null");
        }
        if (layers.size() != spec.layers()) {
            throw new IllegalArgumentException("decode gate set has " + layers.size() + " layers, the model has "
                    + spec.layers());
        }
        for (int i = 0; i < layers.size(); i++) {
            layers.get(i).requireShape(spec, i);
        }
        this.spec = spec;
        this.layers = List.copyOf(layers);
    }

    /** Fresh gates: the linears normal(0, 0.02), norm weights 1, deterministic for a seed. */
    public static DecodeGateSet init(DecodeGateSpec spec, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<DecodeGateParameters> list = new ArrayList<>();
        for (int i = 0; i < spec.layers(); i++) {
            list.add(DecodeGateParameters.init(spec, GateSet.INIT_STD, random));
        }
        return new DecodeGateSet(spec, list);
    }

    public DecodeGateSpec spec() {
        return spec;
    }

    public DecodeGateConfig config() {
        return spec.gate();
    }

    /** Number of layers. */
    public int size() {
        return layers.size();
    }

    /** The weights of one layer (live: the trainer updates them in place). */
    public DecodeGateParameters layer(int i) {
        return layers.get(i);
    }

    public List<DecodeGateParameters> layers() {
        return layers;
    }

    /** Number of trainable parameters. */
    public long parameterCount() {
        long n = 0;
        for (DecodeGateParameters p : layers) {
            for (double[] a : p.arrays()) {
                n += a.length;
            }
        }
        return n;
    }

    /** A deep copy. */
    public DecodeGateSet copy() {
        return new DecodeGateSet(spec, layers.stream().map(DecodeGateParameters::copy).toList());
    }

    /** One layer's weights in float32, checked, as the engines take them. */
    public DecodeGateWeights weights(int layer) {
        DecodeGateParameters p = layers.get(layer);
        return new DecodeGateWeights(spec.qHeads(), spec.kvHeads(), spec.headDim(), spec.gate(),
                GateParameters.toFloat(p.wq() == null ? new double[0] : p.wq()), GateParameters.toFloat(p.wk()),
                p.qNorm() == null ? null : GateParameters.toFloat(p.qNorm()),
                p.kNorm() == null ? null : GateParameters.toFloat(p.kNorm()));
    }

    /** Tensor name of a layer's weight: {@code which} is {@code linear_q}, {@code linear_k}, {@code qnorm} or {@code knorm}. */
    public static String tensorName(int layer, String which) {
        return "model.layers." + layer + ".self_attn.attn_gate.attngate_" + which + ".weight";
    }

    /** Writes the gates (float32) with the spec and {@code extra} metadata, atomically. */
    public void save(Path file, Map<String, String> extra) {
        DecodeGateConfig c = spec.gate();
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.metadata("format", "pt");
        w.metadata("gate_kind", "decode");
        w.metadata("seerattn_q_head_pooling_type", c.queryPooling().officialName());
        w.metadata("seerattn_k_seq_pooling_type", c.kPoolingName());
        w.metadata("seerattn_gate_block_size", Integer.toString(c.blockSize()));
        w.metadata("seerattn_gate_hidden_size", Integer.toString(c.hiddenSize()));
        w.metadata("seerattn_use_qk_norm", Boolean.toString(c.useQkNorm()));
        w.metadata("seerattn_use_rope", Boolean.toString(c.useRope()));
        w.metadata("decode_key_position", c.decodeKeyPosition().name().toLowerCase(Locale.ROOT));
        w.metadata("layers", Integer.toString(spec.layers()));
        w.metadata("q_heads", Integer.toString(spec.qHeads()));
        w.metadata("kv_heads", Integer.toString(spec.kvHeads()));
        w.metadata("head_dim", Integer.toString(spec.headDim()));
        if (extra != null) {
            extra.forEach(w::metadata);
        }
        for (int i = 0; i < layers.size(); i++) {
            DecodeGateParameters p = layers.get(i);
            if (p.wq() != null) {
                w.add(tensorName(i, "linear_q"), DType.F32, spec.wqShape(), GateParameters.toFloat(p.wq()));
            }
            w.add(tensorName(i, "linear_k"), DType.F32, spec.wkShape(), GateParameters.toFloat(p.wk()));
            if (p.qNorm() != null) {
                long[] shape = {spec.normElements()};
                w.add(tensorName(i, "qnorm"), DType.F32, shape, GateParameters.toFloat(p.qNorm()));
                w.add(tensorName(i, "knorm"), DType.F32, shape, GateParameters.toFloat(p.kNorm()));
            }
        }
        w.write(file);
    }

    /**
     * Reads decode gates for a model. The configuration comes from the file's metadata; where a key is absent (a
     * file converted from the official {@code attn_gate_weights.pth}) it is inferred from the tensors: the query
     * pooling from the rank of {@code attngate_linear_q} (4: Qproj, 3: Qavgproj, absent: Qavg), qk norm from the
     * presence of {@code attngate_qnorm}, the K pools from kdup (3: Kmaxminavg, 2: Kmaxmin, 1: Kmax); block size 64,
     * RoPE on, decode keys at the current token.
     *
     * @throws SafeTensorsException naming the file and tensor on a missing tensor, a shape or metadata mismatch,
     *                              non-finite weights, a tensor for a layer the model lacks, or a corrupt file
     */
    public static DecodeGateSet load(Path file, ModelDims model) {
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, String> meta = st.metadata();
            boolean anyQ = false;
            boolean anyNorm = false;
            int maxLayer = -1;
            for (String name : st.names()) {
                Matcher m = NAME.matcher(name);
                if (!m.matches()) {
                    continue;
                }
                int layer = Integer.parseInt(m.group(1));
                if (layer >= model.layers()) {
                    throw new SafeTensorsException(file, name, "decode gate for layer " + layer + ", but the model has "
                            + model.layers() + " layers");
                }
                maxLayer = Math.max(maxLayer, layer);
                anyQ |= m.group(2).equals("linear_q");
                anyNorm |= m.group(2).equals("qnorm");
            }
            if (maxLayer < 0) {
                throw new SafeTensorsException(file, null, "holds no decode gate tensor named "
                        + "model.layers.{i}.self_attn.attn_gate.attngate_{linear_q,linear_k,qnorm,knorm}.weight");
            }
            DecodeGateSpec spec = spec(file, st, meta, model, anyQ, anyNorm);
            List<DecodeGateParameters> list = new ArrayList<>();
            for (int i = 0; i < model.layers(); i++) {
                double[] wq = spec.wqShape() == null ? null : read(st, file, tensorName(i, "linear_q"), spec.wqShape());
                double[] wk = read(st, file, tensorName(i, "linear_k"), spec.wkShape());
                double[] qn = null;
                double[] kn = null;
                if (spec.gate().useQkNorm()) {
                    long[] shape = {spec.normElements()};
                    qn = read(st, file, tensorName(i, "qnorm"), shape);
                    kn = read(st, file, tensorName(i, "knorm"), shape);
                }
                list.add(new DecodeGateParameters(wq, wk, qn, kn));
            }
            return new DecodeGateSet(spec, list);
        }
    }

    private static DecodeGateSpec spec(Path file, SafeTensors st, Map<String, String> meta, ModelDims model,
                                       boolean anyQ, boolean anyNorm) {
        try {
            QueryHeadPooling pooling;
            if (meta.containsKey("seerattn_q_head_pooling_type")) {
                pooling = QueryHeadPooling.parse(meta.get("seerattn_q_head_pooling_type"));
            } else if (!anyQ) {
                pooling = QueryHeadPooling.QAvg;
            } else {
                pooling = st.shape(tensorName(0, "linear_q")).length == 4 ? QueryHeadPooling.QProj
                        : QueryHeadPooling.QAvgProj;
            }
            List<Pool> pools = meta.containsKey("seerattn_k_seq_pooling_type")
                    ? kPools(meta.get("seerattn_k_seq_pooling_type"))
                    : inferredPools(st, file, model);
            int block = Integer.parseInt(meta.getOrDefault("seerattn_gate_block_size", "64"));
            int hidden = Integer.parseInt(meta.getOrDefault("seerattn_gate_hidden_size",
                    Integer.toString(model.headDim())));
            boolean qkNorm = meta.containsKey("seerattn_use_qk_norm")
                    ? Boolean.parseBoolean(meta.get("seerattn_use_qk_norm")) : anyNorm;
            boolean rope = Boolean.parseBoolean(meta.getOrDefault("seerattn_use_rope", "true"));
            CompressedKeyPosition position = CompressedKeyPosition.valueOf(
                    meta.getOrDefault("decode_key_position", "current_token").toUpperCase(Locale.ROOT));
            return new DecodeGateSpec(new DecodeGateConfig(pooling, pools, block, hidden, qkNorm, rope, model.rope(),
                    position), model.layers(), model.qHeads(), model.kvHeads(), model.headDim());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "bad decode gate configuration " + meta + " for a model with "
                    + model.qHeads() + "/" + model.kvHeads() + " heads of " + model.headDim() + ": " + e.getMessage(),
                    e);
        }
    }

    /** The pools of an official name such as {@code Kmaxminavg}. */
    static List<Pool> kPools(String name) {
        if (name == null || !name.startsWith("K")) {
            throw new IllegalArgumentException("seerattn_k_seq_pooling_type must look like Kmaxminavg, got '" + name
                    + "'");
        }
        List<Pool> pools = new ArrayList<>();
        String rest = name.substring(1);
        for (Pool p : Pool.values()) {
            if (rest.startsWith(p.label())) {
                pools.add(p);
                rest = rest.substring(p.label().length());
            }
        }
        if (!rest.isEmpty() || pools.isEmpty()) {
            throw new IllegalArgumentException("seerattn_k_seq_pooling_type '" + name
                    + "' is not K followed by max, min, avg in that order");
        }
        return pools;
    }

    private static List<Pool> inferredPools(SafeTensors st, Path file, ModelDims model) {
        long[] shape = st.shape(tensorName(0, "linear_k"));
        if (shape.length != 3 || shape[1] % model.headDim() != 0) {
            throw new SafeTensorsException(file, tensorName(0, "linear_k"), "shape " + Arrays.toString(shape)
                    + " is not [Hkv, kdup·head_dim, Dg]");
        }
        return switch ((int) (shape[1] / model.headDim())) {
            case 1 -> List.of(Pool.MAX);
            case 2 -> List.of(Pool.MAX, Pool.MIN);
            case 3 -> DecodeGateConfig.DEFAULT_K_POOLS;
            default -> throw new SafeTensorsException(file, tensorName(0, "linear_k"), "shape "
                    + Arrays.toString(shape) + " has kdup = " + shape[1] / model.headDim() + "; without "
                    + "seerattn_k_seq_pooling_type in the metadata only 1–3 pools can be inferred");
        };
    }

    private static double[] read(SafeTensors st, Path file, String name, long[] shape) {
        if (!st.contains(name)) {
            throw new SafeTensorsException(file, name, "missing decode gate tensor (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        long[] found = st.shape(name);
        if (!Arrays.equals(found, shape)) {
            throw new SafeTensorsException(file, name, "decode gate shape mismatch between file and model: found "
                    + Arrays.toString(found) + ", expected " + Arrays.toString(shape));
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
