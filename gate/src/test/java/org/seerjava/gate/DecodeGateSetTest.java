package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.decode.CompressedKeyPosition;
import org.seerjava.reference.decode.DecodeGateConfig;
import org.seerjava.reference.decode.QueryHeadPooling;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

/** Decode gate files: the official tensor names and shapes, the metadata round trip, inference without metadata. */
class DecodeGateSetTest {
    static final ModelDims TINY = new ModelDims(4, 6, 2, 64, RopeConfig.of(100000, 64));

    @TempDir
    Path dir;

    @Test
    void savesTheOfficialNamesAndShapesAndLoadsThemBack() {
        DecodeGateSet gates = DecodeGateSet.init(DecodeGateSpec.of(TINY, 64, true), 3);
        Path file = dir.resolve("g.safetensors");
        gates.save(file, Map.of("note", "x"));
        try (SafeTensors st = SafeTensors.open(file)) {
            assertThat(st.shape("model.layers.3.self_attn.attn_gate.attngate_linear_q.weight"))
                    .containsExactly(2, 3, 64, 64);
            assertThat(st.shape("model.layers.0.self_attn.attn_gate.attngate_linear_k.weight"))
                    .containsExactly(2, 192, 64);
            assertThat(st.shape("model.layers.1.self_attn.attn_gate.attngate_qnorm.weight")).containsExactly(64);
            assertThat(st.floats("model.layers.1.self_attn.attn_gate.attngate_knorm.weight")).containsOnly(1f);
            assertThat(st.metadata()).containsEntry("seerattn_q_head_pooling_type", "Qproj")
                    .containsEntry("seerattn_k_seq_pooling_type", "Kmaxminavg")
                    .containsEntry("seerattn_use_qk_norm", "true").containsEntry("note", "x");
        }
        DecodeGateSet back = DecodeGateSet.load(file, TINY);
        assertThat(back.spec()).isEqualTo(gates.spec());
        for (int l = 0; l < 4; l++) {
            assertThat(back.layer(l).wq()).containsExactly(floats(gates.layer(l).wq()));
            assertThat(back.layer(l).wk()).containsExactly(floats(gates.layer(l).wk()));
        }
        assertThat(gates.parameterCount()).isEqualTo(4L * (2 * 3 * 64 * 64 + 2 * 192 * 64 + 2 * 64));
        assertThat(back.weights(2).wq()).hasSize(2 * 3 * 64 * 64);
    }

    /** Values rounded to float32, as the file holds them. */
    private static double[] floats(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (float) x[i];
        }
        return y;
    }

    @Test
    void aFileWithoutMetadataIsReadFromItsTensors() {
        Random r = new Random(1);
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int l = 0; l < 4; l++) {
            w.add(DecodeGateSet.tensorName(l, "linear_q"), DType.F32, new long[] {2, 64, 64}, random(r, 2 * 64 * 64));
            w.add(DecodeGateSet.tensorName(l, "linear_k"), DType.F32, new long[] {2, 128, 64}, random(r, 2 * 128 * 64));
        }
        Path file = dir.resolve("converted.safetensors");
        w.write(file);
        DecodeGateConfig c = DecodeGateSet.load(file, TINY).config();
        assertThat(c.queryPooling()).isEqualTo(QueryHeadPooling.QAvgProj);
        assertThat(c.kPools()).containsExactly(Pool.MAX, Pool.MIN);
        assertThat(c.useQkNorm()).isFalse();
        assertThat(c.blockSize()).isEqualTo(64);
        assertThat(c.decodeKeyPosition()).isEqualTo(CompressedKeyPosition.CURRENT_TOKEN);
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Test
    void badFilesAreRefusedNamingTheTensor() {
        DecodeGateSet gates = DecodeGateSet.init(DecodeGateSpec.of(TINY, 64, false), 3);
        Path file = dir.resolve("g.safetensors");
        gates.save(file, Map.of());
        ModelDims other = new ModelDims(4, 8, 2, 64, TINY.rope());
        assertThatThrownBy(() -> DecodeGateSet.load(file, other)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining("attngate_linear_q.weight").hasMessageContaining("[2, 4, 64, 64]");
        ModelDims fewer = new ModelDims(2, 6, 2, 64, TINY.rope());
        assertThatThrownBy(() -> DecodeGateSet.load(file, fewer)).hasMessageContaining("layer 2, but the model has 2");
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.add("model.layers.0.self_attn.attn_gate.mask_linear_k.weight", DType.F32, new long[] {1}, new float[1]);
        Path prefill = dir.resolve("prefill.safetensors");
        w.write(prefill);
        assertThatThrownBy(() -> DecodeGateSet.load(prefill, TINY)).hasMessageContaining("holds no decode gate tensor");
        assertThatThrownBy(() -> DecodeGateSet.kPools("Kavgmax")).hasMessageContaining("max, min, avg in that order");
        assertThat(DecodeGateSet.kPools("Kmaxavg")).isEqualTo(List.of(Pool.MAX, Pool.AVG));
    }
}
