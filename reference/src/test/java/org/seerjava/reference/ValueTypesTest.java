package org.seerjava.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.engine.Engines;
import org.seerjava.reference.engine.ReferenceEngine;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensors;
import org.seerjava.reference.io.SafeTensorsWriter;

/**
 * Value semantics the other modules rely on: block masks compare by shape and every bit, dtypes say whether they
 * are floating point, float and double arrays written in every float dtype read back rounded as that dtype rounds,
 * and the engine registry of this module (the reference alone) answers by name, for auto, and names what it has.
 */
class ValueTypesTest {

    @Test
    void blockMasksAreEqualExactlyWhenShapeAndEveryBitAgree() {
        byte[] bits = {1, 0, 1, 1, 1, 0, 0, 1};
        BlockMask a = BlockMask.of(1, 2, 2, bits);
        BlockMask b = BlockMask.of(1, 2, 2, bits.clone());
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a).isNotEqualTo(BlockMask.of(2, 1, 2, bits)).isNotEqualTo(BlockMask.of(1, 1, 2, new byte[] {1, 0, 1, 1}));
        for (int i = 0; i < bits.length; i++) {
            byte[] flipped = bits.clone();
            flipped[i] ^= 1;
            assertThat(a).as("bit %d flipped", i).isNotEqualTo(BlockMask.of(1, 2, 2, flipped));
        }
        assertThat(a).isNotEqualTo(null).isNotEqualTo("mask");
        assertThat(a.batch()).isEqualTo(1);
        assertThat(a.heads()).isEqualTo(2);
        assertThat(a.blocks()).isEqualTo(2);
        assertThat(a.count()).isEqualTo(5);
        assertThat(a.density()).isEqualTo(5 / 6.0);
        assertThat(a.toString()).contains("0.8333");
        assertThatThrownBy(() -> BlockMask.of(1, 2, 2, new byte[7])).hasMessageContaining("expected batch·heads·blocks² = 8");
        assertThatThrownBy(() -> BlockMask.of(1, 1, 1, new byte[] {2})).hasMessageContaining("found 2 at flat index 0");
    }

    @Test
    void floatingPointDtypes() {
        for (DType t : DType.values()) {
            boolean fp = t == DType.F64 || t == DType.F32 || t == DType.F16 || t == DType.BF16;
            assertThat(t.isFloatingPoint()).as(t.name()).isEqualTo(fp);
        }
    }

    @Test
    void floatAndDoubleArraysRoundTripThroughEveryFloatDtype(@TempDir Path dir) {
        float[] f = {1.0f, -2.5f, 3.14159265f, 1e-3f, 65504f};
        double[] d = {1.0, -2.5, Math.PI, 1e-3, 65504.0};
        Path file = dir.resolve("t.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (DType t : new DType[] {DType.F32, DType.F64, DType.BF16, DType.F16}) {
            w.add("f." + t, t, new long[] {5}, f);
            w.addDoubles("d." + t, t, new long[] {5}, d);
        }
        w.write(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            for (DType t : new DType[] {DType.F32, DType.F64, DType.BF16, DType.F16}) {
                float[] gf = st.floats("f." + t);
                double[] gd = st.doubles("d." + t);
                for (int i = 0; i < 5; i++) {
                    double tol = switch (t) {
                        case F32, F64 -> 0;
                        case BF16 -> Math.abs(d[i]) * 0x1p-8;
                        default -> Math.abs(d[i]) * 0x1p-11;
                    };
                    assertThat((double) gf[i]).as("%s float %d", t, i).isCloseTo(f[i], org.assertj.core.api.Assertions.within(tol + 0.0));
                    double dtol = t == DType.F64 ? 0 : t == DType.F32 ? Math.abs(d[i]) * 0x1p-24 : tol;
                    assertThat(gd[i]).as("%s double %d", t, i).isCloseTo(d[i], org.assertj.core.api.Assertions.within(dtol));
                }
            }
        }
    }

    @Test
    void engineRegistryOfThisModule() {
        assertThat(Engines.providers()).extracting(p -> p.name()).containsExactly("reference");
        assertThat(Engines.byName("reference")).isInstanceOf(ReferenceEngine.class).isSameAs(Engines.byName(" Reference "));
        assertThat(Engines.byName("auto")).isInstanceOf(ReferenceEngine.class);
        assertThat(Engines.fastest().name()).isEqualTo("reference");
        assertThat(Engines.byName("reference").description()).isNotBlank();
        assertThatThrownBy(() -> Engines.byName("quantum")).hasMessage("unknown backend 'quantum': expected one of auto, reference");
    }
}
