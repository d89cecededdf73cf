package org.seerjava.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.model.LlamaConfig;
import org.seerjava.model.ModelTensors;
import org.seerjava.model.ModelWeights;
import org.seerjava.model.WeightTensor;
import org.seerjava.reference.io.DType;

/** Random weights: the documented distribution, and the same values in native memory and in the written file. */
class RandomWeightsTest {

    @Test
    void matricesHaveStd002NormsOneAndFileEqualsMemory(@TempDir Path dir) {
        ModelShape shape = ModelShape.named("tiny-llama-bytes");
        LlamaConfig c = shape.config();
        RandomWeights.writeCheckpoint(shape, 9, dir);
        try (ModelWeights file = ModelWeights.open(dir); ModelWeights mem = RandomWeights.allocate(c, 9)) {
            ModelTensors ft = ModelTensors.bind(LlamaConfig.load(dir.resolve("config.json")), file);
            ModelTensors mt = ModelTensors.bind(c, mem);
            assertEquals(mt.byteSize(), ft.byteSize());
            assertEquals(shape.parameterCount() * 2, ft.byteSize());
            List<RandomWeights.Spec> specs = RandomWeights.tensors(c);
            assertEquals(specs.size(), file.names().size());
            for (RandomWeights.Spec s : specs) {
                WeightTensor a = file.require(s.name(), s.shape());
                WeightTensor b = mem.require(s.name(), s.shape());
                assertEquals(DType.BF16, a.dtype());
                assertEquals(-1L, a.data().mismatch(b.data()), s.name() + ": file and native memory differ");
            }
            WeightTensor q = mem.require("model.layers.1.self_attn.q_proj.weight", 384, 384);
            double sum = 0;
            double sq = 0;
            double max = 0;
            long n = q.elementCount();
            for (long i = 0; i < n; i++) {
                double v = q.get(i);
                sum += v;
                sq += v * v;
                max = Math.max(max, Math.abs(v));
            }
            double mean = sum / n;
            double std = Math.sqrt(sq / n - mean * mean);
            assertTrue(Math.abs(mean) < 2e-4, "mean " + mean);
            assertEquals(0.02, std, 4e-4, "std");
            assertTrue(max <= 0.02 * Math.sqrt(3) * 2 + 1e-3, "bounded: " + max);
            WeightTensor norm = mem.require("model.layers.0.input_layernorm.weight", 384);
            assertEquals(1.0f, norm.get(0));
            assertEquals(1.0f, norm.get(383));
        }
        // another seed gives other values
        try (ModelWeights a = RandomWeights.allocate(c, 1); ModelWeights b = RandomWeights.allocate(c, 2)) {
            String n = "lm_head.weight";
            assertTrue(a.require(n, 256, 384).data().mismatch(b.require(n, 256, 384).data()) >= 0);
        }
    }
}
