package org.seerjava.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;

/**
 * A gate file whose metadata names another gate type or hidden size than the model expects is refused by that
 * metadata, even where the tensors' shapes alone would fit (Qavg_Kmaxmin and Qmax_Kmaxmin have the same shapes).
 */
class GateFileMetadataTest {
    @Test
    void metadataMustAgreeWithTheExpectedSpec(@TempDir Path dir) {
        ModelDims dims = new ModelDims(2, 4, 2, 16, RopeConfig.of(10_000, 16));
        GateSpec saved = dims.spec(GateType.parse("Qavg_Kmaxmin"), 32, 8);
        Path file = dir.resolve("g.safetensors");
        GateSet.init(saved, 3).save(file);
        assertThat(GateSet.load(file, saved).layer(1).wkFloats()).containsExactly(GateSet.init(saved, 3).layer(1).wkFloats());
        assertThatThrownBy(() -> GateSet.load(file, dims.spec(GateType.parse("Qmax_Kmaxmin"), 32, 8)))
                .hasMessageContaining("gate metadata gate_type = Qavg_Kmaxmin, expected Qmax_Kmaxmin");
        assertThatThrownBy(() -> GateSet.load(file, dims.spec(GateType.parse("Qavg_Kmaxmin"), 32, 4)))
                .hasMessageContaining("gate metadata gate_hidden = 8, expected 4");
        assertThatThrownBy(() -> GateSet.load(file, dims.spec(GateType.parse("Qavg_Kmaxmin"), 64, 8)))
                .hasMessageContaining("gate metadata block_size = 32, expected 64");
    }
}
