package org.seerjava.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.SafeTensorsException;
import org.seerjava.reference.io.SafeTensorsWriter;

class GateSetTest {
    static final ModelDims TINY = new ModelDims(4, 6, 2, 64, RopeConfig.of(100000, 64));

    @TempDir
    Path dir;

    @Test
    void initIsSeededNormalWithStd002() {
        GateSpec spec = TINY.spec(GateType.DEFAULT, 64, 64);
        GateSet a = GateSet.init(spec, 42);
        GateSet b = GateSet.init(spec, 42);
        GateSet c = GateSet.init(spec, 43);
        assertArrayEquals(a.layer(3).wk(), b.layer(3).wk(), 0);
        assertTrue(a.layer(0).wk()[0] != c.layer(0).wk()[0]);
        assertNull(a.layer(0).wq(), "Qavg with hidden = head_dim has no Q linear");
        assertArrayEquals(new long[] {6, 192, 64}, spec.wkShape());
        double sum = 0;
        double sq = 0;
        int n = 0;
        for (GateParameters p : a.layers()) {
            for (double x : p.wk()) {
                sum += x;
                sq += x * x;
                n++;
            }
        }
        assertEquals(0, sum / n, 5e-4);
        assertEquals(0.02, Math.sqrt(sq / n), 5e-4);
        assertEquals(4L * 6 * 192 * 64, a.parameterCount());
    }

    @Test
    void saveLoadRoundTripInOfficialNaming() {
        GateSpec spec = TINY.spec(GateType.parse("Qavg_Kmaxmin"), 64, 32); // hidden ≠ D: Q linear present
        GateSet g = GateSet.init(spec, 1);
        Path f = dir.resolve("g.safetensors");
        g.save(f, Map.of("distill_steps", "7"));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertEquals("Qavg_Kmaxmin", st.metadata().get("gate_type"));
            assertEquals("32", st.metadata().get("gate_hidden"));
            assertEquals("7", st.metadata().get("distill_steps"));
            assertArrayEquals(new long[] {6, 64, 32}, st.shape("model.layers.2.self_attn.attn_gate.mask_linear_q.weight"));
            assertArrayEquals(new long[] {2, 128, 32}, st.shape("model.layers.3.self_attn.attn_gate.mask_linear_k.weight"));
        }
        GateSet back = GateSet.load(f, TINY);
        assertEquals(spec, back.spec());
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(g.layer(i).wkFloats(), back.layer(i).wkFloats());
            assertArrayEquals(g.layer(i).wqFloats(), back.layer(i).wqFloats());
        }
    }

    @Test
    void shapeMismatchBetweenGatesAndModelIsAClearError() {
        GateSet g = GateSet.init(TINY.spec(GateType.DEFAULT, 64, 64), 1);
        Path f = dir.resolve("g.safetensors");
        g.save(f);
        ModelDims otherHeads = new ModelDims(4, 8, 2, 64, RopeConfig.of(100000, 64));
        var e = assertThrows(SafeTensorsException.class, () -> GateSet.load(f, otherHeads));
        assertTrue(e.getMessage().contains("shape mismatch") && e.getMessage().contains("[8, 192, 64]"),
                e.getMessage());
        ModelDims fewerLayers = new ModelDims(3, 6, 2, 64, RopeConfig.of(100000, 64));
        e = assertThrows(SafeTensorsException.class, () -> GateSet.load(f, fewerLayers));
        assertTrue(e.getMessage().contains("layer 3") && e.getMessage().contains("3 layers"), e.getMessage());
        ModelDims moreLayers = new ModelDims(5, 6, 2, 64, RopeConfig.of(100000, 64));
        e = assertThrows(SafeTensorsException.class, () -> GateSet.load(f, moreLayers));
        assertTrue(e.getMessage().contains("missing gate tensor")
                && e.getMessage().contains("model.layers.4.self_attn.attn_gate.mask_linear_k.weight"), e.getMessage());
        GateSpec otherType = TINY.spec(GateType.parse("Qavg_Kmax"), 64, 64);
        e = assertThrows(SafeTensorsException.class, () -> GateSet.load(f, otherType));
        assertTrue(e.getMessage().contains("gate_type"), e.getMessage());
    }

    @Test
    void missingMetadataFallsBackToDefaultsAndCorruptFileFails() throws Exception {
        Path f = dir.resolve("official.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 0; i < 4; i++) {
            w.add(GateSet.tensorName(i, 'k'), DType.F32, new long[] {6, 192, 64}, new float[6 * 192 * 64]);
        }
        w.write(f);
        assertEquals(GateType.DEFAULT, GateSet.load(f, TINY).config().type());

        Path bad = dir.resolve("bad.safetensors");
        byte[] bytes = Files.readAllBytes(f);
        Files.write(bad, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertThrows(SafeTensorsException.class, () -> GateSet.load(bad, TINY));

        Path nan = dir.resolve("nan.safetensors");
        SafeTensorsWriter w2 = new SafeTensorsWriter();
        float[] data = new float[6 * 192 * 64];
        data[5] = Float.NaN;
        for (int i = 0; i < 4; i++) {
            w2.add(GateSet.tensorName(i, 'k'), DType.F32, new long[] {6, 192, 64}, data);
        }
        w2.write(nan);
        var e = assertThrows(SafeTensorsException.class, () -> GateSet.load(nan, TINY));
        assertTrue(e.getMessage().contains("non-finite"), e.getMessage());
    }

    @Test
    void aLayerIndexBeyondIntIsNamedWithTheFileAndTensor() {
        Path f = dir.resolve("huge-index.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 0; i < 4; i++) {
            w.add(GateSet.tensorName(i, 'k'), DType.F32, new long[] {6, 192, 64}, new float[6 * 192 * 64]);
        }
        String huge = "model.layers.99999999999999999999.self_attn.attn_gate.mask_linear_k.weight";
        w.add(huge, DType.F32, new long[] {1}, new float[1]);
        w.write(f);
        var e = assertThrows(SafeTensorsException.class, () -> GateSet.load(f, TINY));
        assertEquals(huge, e.tensor());
        assertTrue(e.getMessage().contains(f.toString())
                && e.getMessage().contains("gate for layer 99999999999999999999, but the model has 4 layers"), e.getMessage());
    }
}
