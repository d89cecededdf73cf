package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * The decode gate's shapes and their checks: the spec's limits, a layer's weights against the spec (each tensor
 * named), the initial weights, copies, the float32 weights the engines take, the sample's limits, and what a file
 * without metadata (converted from the official {@code .pth}) tells of its configuration.
 */
class DecodeGateShapesTest {
    static final RopeConfig ROPE = RopeConfig.of(10000, 8);
    static final ModelDims DIMS = new ModelDims(2, 4, 2, 8, ROPE);

    @TempDir
    Path dir;

    static DecodeGateConfig config(QueryHeadPooling pooling, List<Pool> pools, boolean qkNorm) {
        return new DecodeGateConfig(pooling, pools, 4, 8, qkNorm, true, ROPE, CompressedKeyPosition.CURRENT_TOKEN);
    }

    @Test
    void theSpecNeedsPositiveSizesGroupsAndAHiddenSizeOfHeadDim() {
        DecodeGateConfig c = config(QueryHeadPooling.QProj, DecodeGateConfig.DEFAULT_K_POOLS, false);
        DecodeGateSpec one = new DecodeGateSpec(c, 1, 1, 1, 8);
        assertThat(one.groupSize()).isEqualTo(1);
        String m = "decode gate spec needs positive layers and head_dim and Hq a multiple of Hkv, got ";
        assertThatThrownBy(() -> new DecodeGateSpec(c, 0, 4, 2, 8)).hasMessage(m + "layers 0, heads 4/2, head_dim 8");
        assertThatThrownBy(() -> new DecodeGateSpec(c, 1, 0, 2, 8)).hasMessage(m + "layers 1, heads 0/2, head_dim 8");
        assertThatThrownBy(() -> new DecodeGateSpec(c, 1, 4, 0, 8)).hasMessage(m + "layers 1, heads 4/0, head_dim 8");
        assertThatThrownBy(() -> new DecodeGateSpec(c, 1, 4, 2, 0)).hasMessage(m + "layers 1, heads 4/2, head_dim 0");
        assertThatThrownBy(() -> new DecodeGateSpec(c, 1, 4, 3, 8)).hasMessage(m + "layers 1, heads 4/3, head_dim 8");
        assertThatThrownBy(() -> new DecodeGateSpec(c, 1, 4, 2, 16)).hasMessageStartingWith(
                "decode gate hidden size 8 must equal the model's head_dim 16");
        assertThatThrownBy(() -> new DecodeGateSpec(null, 1, 4, 2, 8)).hasMessage("decode gate config must not be null");
        DecodeGateSpec s = new DecodeGateSpec(c, 2, 4, 2, 8);
        assertThat(s.wqShape()).containsExactly(2, 2, 8, 8);
        assertThat(s.wkShape()).containsExactly(2, 24, 8);
        assertThat(s.wqElements()).isEqualTo(256);
        assertThat(s.wkElements()).isEqualTo(384);
        assertThat(s.normElements()).isZero();
        DecodeGateSpec avg = new DecodeGateSpec(config(QueryHeadPooling.QAvgProj, List.of(Pool.MAX), true), 2, 4, 2, 8);
        assertThat(avg.wqShape()).containsExactly(2, 8, 8);
        assertThat(avg.wkShape()).containsExactly(2, 8, 8);
        assertThat(avg.normElements()).isEqualTo(8);
        assertThat(new DecodeGateSpec(config(QueryHeadPooling.QAvg, List.of(Pool.MAX), true), 2, 4, 2, 8).wqShape())
                .isNull();
    }

    @Test
    void aLayersWeightsAreCheckedTensorByTensor() {
        DecodeGateSpec norm = DecodeGateSpec.of(DIMS, 4, true);
        DecodeGateParameters p = DecodeGateParameters.init(norm, 0.02, new SplittableRandom(1));
        assertThat(p.requireShape(norm, 0)).isSameAs(p);
        assertThatThrownBy(() -> new DecodeGateParameters(new double[5], p.wk(), p.qNorm(), p.kNorm())
                .requireShape(norm, 1)).hasMessage("layer 1: attngate_linear_q has 5 elements, expected [2, 2, 8, 8]");
        assertThatThrownBy(() -> new DecodeGateParameters(null, p.wk(), p.qNorm(), p.kNorm()).requireShape(norm, 1))
                .hasMessage("layer 1: attngate_linear_q has 0 elements, expected [2, 2, 8, 8]");
        assertThatThrownBy(() -> new DecodeGateParameters(p.wq(), new double[3], p.qNorm(), p.kNorm())
                .requireShape(norm, 0)).hasMessage("layer 0: attngate_linear_k has 3 elements, expected [2, 24, 8]");
        assertThatThrownBy(() -> new DecodeGateParameters(p.wq(), p.wk(), new double[7], p.kNorm())
                .requireShape(norm, 0)).hasMessage("layer 0: attngate_qnorm has 7 elements, expected [8]");
        assertThatThrownBy(() -> new DecodeGateParameters(p.wq(), p.wk(), p.qNorm(), new double[9])
                .requireShape(norm, 0)).hasMessage("layer 0: attngate_knorm has 9 elements, expected [8]");
        DecodeGateSpec plain = DecodeGateSpec.of(DIMS, 4, false);
        assertThatThrownBy(() -> p.requireShape(plain, 1)).hasMessage("layer 1: attngate_qnorm has 8 elements, "
                + "expected none");
        DecodeGateSpec qavg = new DecodeGateSpec(config(QueryHeadPooling.QAvg, DecodeGateConfig.DEFAULT_K_POOLS,
                true), 2, 4, 2, 8);
        assertThatThrownBy(() -> p.requireShape(qavg, 0)).hasMessage("layer 0: attngate_linear_q has 256 elements, "
                + "expected none");
        assertThatThrownBy(() -> new DecodeGateParameters(p.wq(), null, null, null))
                .hasMessage("W_k (attngate_linear_k) must not be null");
        assertThatThrownBy(() -> new DecodeGateParameters(p.wq(), p.wk(), p.qNorm(), null))
                .hasMessage("the q and k norm weights come together (attngate_qnorm, attngate_knorm)");
        assertThatThrownBy(() -> new DecodeGateParameters(p.wq(), p.wk(), null, p.kNorm()))
                .hasMessage("the q and k norm weights come together (attngate_qnorm, attngate_knorm)");
        // a set checks every layer against the spec
        DecodeGateParameters bad = new DecodeGateParameters(p.wq(), new double[3], p.qNorm(), p.kNorm());
        assertThatThrownBy(() -> new DecodeGateSet(norm, List.of(p, bad)))
                .hasMessage("layer 1: attngate_linear_k has 3 elements, expected [2, 24, 8]");
        assertThatThrownBy(() -> new DecodeGateSet(norm, List.of(p)))
                .hasMessage("decode gate set has 1 layers, the model has 2");
        assertThatThrownBy(() -> new DecodeGateSet(null, List.of(p)))
                .hasMessage("decode gate spec and layers must not be null");
        assertThatThrownBy(() -> new DecodeGateSet(norm, null)).hasMessage("decode gate spec and layers must not be null");
    }

    @Test
    void initialWeightsCopiesAndTheEnginesFloats() {
        DecodeGateSpec norm = DecodeGateSpec.of(new ModelDims(1, 8, 2, 64, RopeConfig.of(10000, 64)), 16, true);
        DecodeGateParameters p = DecodeGateParameters.init(norm, 0.02, new SplittableRandom(3));
        assertThat(p.qNorm()).hasSize(64).containsOnly(1.0);
        assertThat(p.kNorm()).hasSize(64).containsOnly(1.0);
        double sq = 0;
        for (double x : p.wq()) {
            sq += x * x;
        }
        assertThat(Math.sqrt(sq / p.wq().length)).isCloseTo(0.02, within(0.001));     // 32,768 draws
        DecodeGateParameters c = p.copy();
        assertThat(c.wq()).containsExactly(p.wq()).isNotSameAs(p.wq());
        assertThat(c.wk()).containsExactly(p.wk()).isNotSameAs(p.wk());
        assertThat(c.qNorm()).containsExactly(p.qNorm()).isNotSameAs(p.qNorm());
        assertThat(c.kNorm()).containsExactly(p.kNorm()).isNotSameAs(p.kNorm());
        assertThat(p.arrays()).containsExactly(p.wq(), p.wk(), p.qNorm(), p.kNorm());

        DecodeGateSpec qavg = new DecodeGateSpec(config(QueryHeadPooling.QAvg, DecodeGateConfig.DEFAULT_K_POOLS,
                false), 2, 4, 2, 8);
        DecodeGateSet set = DecodeGateSet.init(qavg, 5);
        assertThat(set.layer(0).wq()).isNull();
        assertThat(set.layer(0).qNorm()).isNull();
        assertThat(set.layer(0).arrays()).containsExactly(set.layer(0).wk());
        DecodeGateSet copy = set.copy();
        assertThat(copy.spec()).isEqualTo(qavg);
        assertThat(copy.layer(1).wq()).isNull();
        assertThat(copy.layer(1).kNorm()).isNull();
        assertThat(copy.layer(1).wk()).containsExactly(set.layer(1).wk()).isNotSameAs(set.layer(1).wk());
        assertThat(set.parameterCount()).isEqualTo(2L * 2 * 24 * 8);
        DecodeGateWeights w = set.weights(1);
        assertThat(w.wq()).isNull();                                          // Qavg: no Q linear
        assertThat(w.qNorm()).isNull();
        assertThat(w.kNorm()).isNull();
        assertThat(w.wk()[5]).isEqualTo((float) set.layer(1).wk()[5]);
        DecodeGateSet withNorm = DecodeGateSet.init(DecodeGateSpec.of(DIMS, 4, true), 5);
        withNorm.layer(0).qNorm()[2] = 1.5;
        assertThat(withNorm.weights(0).qNorm()[2]).isEqualTo(1.5f);
        assertThat(withNorm.weights(0).kNorm()).hasSize(8);
    }

    @Test
    void aSampleNeedsRowsAndAtLeastOneBlock() {
        float[] f = new float[1];
        assertThat(new DecodeGateSample(f, new int[] {0}, f, f, 1).blocks()).isEqualTo(1);
        String m = "a decode gate sample needs queries, positions, pooled keys, a target and nb > 0";
        assertThatThrownBy(() -> new DecodeGateSample(f, new int[] {0}, f, f, 0)).hasMessage(m);
        assertThatThrownBy(() -> new DecodeGateSample(f, new int[0], f, f, 1)).hasMessage(m);
        assertThatThrownBy(() -> new DecodeGateSample(null, new int[] {0}, f, f, 1)).hasMessage(m);
        assertThatThrownBy(() -> new DecodeGateSample(f, null, f, f, 1)).hasMessage(m);
        assertThatThrownBy(() -> new DecodeGateSample(f, new int[] {0}, null, f, 1)).hasMessage(m);
        assertThatThrownBy(() -> new DecodeGateSample(f, new int[] {0}, f, null, 1)).hasMessage(m);
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** A file of official tensors only (no metadata), as converted from {@code attn_gate_weights.pth}. */
    private Path converted(String name, int layers, long[] wq, long[] wk, boolean norms) {
        Random r = new Random(2);
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int l = 0; l < layers; l++) {
            if (wq != null) {
                w.add(DecodeGateSet.tensorName(l, "linear_q"), DType.F32, wq, random(r, count(wq)));
            }
            w.add(DecodeGateSet.tensorName(l, "linear_k"), DType.F32, wk, random(r, count(wk)));
            if (norms) {
                w.add(DecodeGateSet.tensorName(l, "qnorm"), DType.F32, new long[] {8}, random(r, 8));
                w.add(DecodeGateSet.tensorName(l, "knorm"), DType.F32, new long[] {8}, random(r, 8));
            }
        }
        Path file = dir.resolve(name);
        w.write(file);
        return file;
    }

    private static int count(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return (int) n;
    }

    @Test
    void aConvertedFileTellsItsConfigurationByItsTensors() {
        DecodeGateSet qproj = DecodeGateSet.load(converted("qproj.safetensors", 2, new long[] {2, 2, 8, 8},
                new long[] {2, 8, 8}, true), DIMS);
        assertThat(qproj.config().queryPooling()).isEqualTo(QueryHeadPooling.QProj);
        assertThat(qproj.config().kPools()).containsExactly(Pool.MAX);
        assertThat(qproj.config().useQkNorm()).isTrue();
        assertThat(qproj.config().useRope()).isTrue();
        assertThat(qproj.config().hiddenSize()).isEqualTo(8);
        assertThat(qproj.layer(1).qNorm()).hasSize(8);
        DecodeGateSet qavg = DecodeGateSet.load(converted("qavg.safetensors", 2, null, new long[] {2, 24, 8}, false),
                DIMS);
        assertThat(qavg.config().queryPooling()).isEqualTo(QueryHeadPooling.QAvg);
        assertThat(qavg.config().kPools()).isEqualTo(DecodeGateConfig.DEFAULT_K_POOLS);
        assertThat(qavg.config().useQkNorm()).isFalse();
        // one layer: the model's only layer 0 is found
        ModelDims oneLayer = new ModelDims(1, 4, 2, 8, ROPE);
        assertThat(DecodeGateSet.load(converted("one.safetensors", 1, null, new long[] {2, 16, 8}, false), oneLayer)
                .config().kPools()).containsExactly(Pool.MAX, Pool.MIN);
        Path four = converted("kdup4.safetensors", 2, null, new long[] {2, 32, 8}, false);
        assertThatThrownBy(() -> DecodeGateSet.load(four, DIMS)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining("shape [2, 32, 8] has kdup = 4; without seerattn_k_seq_pooling_type in the "
                        + "metadata only 1–3 pools can be inferred");
        Path odd = converted("odd.safetensors", 2, null, new long[] {2, 12, 8}, false);
        assertThatThrownBy(() -> DecodeGateSet.load(odd, DIMS)).hasMessageContaining("shape [2, 12, 8] is not "
                + "[Hkv, kdup·head_dim, Dg]");
        Path flat = converted("flat.safetensors", 2, null, new long[] {2, 16}, false);
        assertThatThrownBy(() -> DecodeGateSet.load(flat, DIMS)).hasMessageContaining("is not [Hkv, kdup·head_dim, Dg]");
    }

    @Test
    void missingNonFiniteAndMisconfiguredTensorsAreRefused() {
        Path oneLayer = converted("half.safetensors", 1, null, new long[] {2, 8, 8}, false);
        assertThatThrownBy(() -> DecodeGateSet.load(oneLayer, DIMS)).hasMessageContaining(
                DecodeGateSet.tensorName(1, "linear_k")).hasMessageContaining("missing decode gate tensor (expected "
                + "shape [2, 8, 8])");
        SafeTensorsWriter w = new SafeTensorsWriter();
        float[] k = new float[2 * 8 * 8];
        k[70] = Float.NaN;
        w.add(DecodeGateSet.tensorName(0, "linear_k"), DType.F32, new long[] {2, 8, 8}, new float[128]);
        w.add(DecodeGateSet.tensorName(1, "linear_k"), DType.F32, new long[] {2, 8, 8}, k);
        Path nan = dir.resolve("nan.safetensors");
        w.write(nan);
        assertThatThrownBy(() -> DecodeGateSet.load(nan, DIMS)).hasMessageContaining(DecodeGateSet.tensorName(1,
                "linear_k")).hasMessageContaining("non-finite weight NaN at flat index 70");
        DecodeGateSet g = DecodeGateSet.init(DecodeGateSpec.of(DIMS, 4, false), 1);
        Path bad = dir.resolve("bad.safetensors");
        g.save(bad, Map.of("seerattn_gate_block_size", "zero"));
        assertThatThrownBy(() -> DecodeGateSet.load(bad, DIMS)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining("bad decode gate configuration").hasMessageContaining("for a model with 4/2 "
                        + "heads of 8");
        Path meta = dir.resolve("meta.safetensors");
        g.save(meta, Map.of("seerattn_use_qk_norm", "false", "seerattn_gate_block_size", "4"));
        assertThat(DecodeGateSet.load(meta, DIMS).config().useQkNorm()).isFalse();
    }
}
