package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.GateSpec;
import org.seerjava.model.TinyCheckpoint;
import org.seerjava.reference.GateType;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.DType;
import org.seerjava.reference.io.SafeTensorsWriter;
import org.seerjava.runtime.GenerationOptions;
import org.seerjava.runtime.Generator;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/** Clear refusals: architecture, dtype, capacity, positions, vocabulary, gates, closed objects; no leaks. */
class CpuFailurePathsTest {
    static final RuntimeOptions CPU = RuntimeOptions.defaults().backend("cpu");

    static TinyCheckpoint tiny() {
        return TinyCheckpoint.build("LlamaForCausalLM", 32, 4, 2, 8, 40, 2, 30, false, false, RopeConfig.of(10000, 8), 1);
    }

    static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(p), "message should mention '" + p + "': "
                    + e.getMessage());
        }
    }

    @Test
    void unsupportedArchitectureIsNamed(@TempDir Path dir) throws IOException {
        tiny().write(dir);
        Path cfg = dir.resolve("config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("LlamaForCausalLM", "GPTNeoXForCausalLM"));
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> ModelRuntime.open(ModelSource.checkpoint(dir), CPU)), "GPTNeoXForCausalLM", "Qwen3ForCausalLM",
                "config.json");
    }

    @Test
    void unsupportedDtypeIsNamed(@TempDir Path dir) {
        TinyCheckpoint m = tiny();
        m.write(dir);
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (String n : m.tensors.keySet()) {
            if (n.equals("model.layers.1.mlp.up_proj.weight")) {
                w.addDoubles(n, DType.F64, m.shapes.get(n), new double[m.tensors.get(n).length]);
            } else {
                w.add(n, DType.BF16, m.shapes.get(n), m.tensors.get(n));
            }
        }
        w.write(dir.resolve("model.safetensors"));
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> ModelRuntime.open(ModelSource.checkpoint(dir), CPU)), "model.layers.1.mlp.up_proj.weight", "F64",
                "BF16, F16 or F32");
    }

    @Test
    void capacityTokensAndPositionsAreChecked(@TempDir Path dir) {
        tiny().write(dir);
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), CPU)) {
            assertMentions(assertThrows(IllegalArgumentException.class, () -> rt.newSession(513)), "513",
                    "max_position_embeddings = 512");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> rt.newSession(0)), "≥ 1");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> rt.newSession(8, null)),
                    "prefill attention must not be null");
            try (Session s = rt.newSession(8)) {
                assertMentions(assertThrows(IllegalArgumentException.class, () -> s.prefill(new int[9])),
                        "capacity of 8", "9 tokens at position 0");
                assertEquals(0, s.length(), "nothing appended");
                s.prefill(new int[] {1, 2, 3, 4, 5, 6, 7});
                assertMentions(assertThrows(IllegalArgumentException.class, () -> s.prefill(new int[] {1, 2})),
                        "at position 7", "capacity of 8");
                s.decode(3);
                assertMentions(assertThrows(IllegalArgumentException.class, () -> s.decode(3)), "1 token at position 8");
                s.reset();
                assertMentions(assertThrows(IllegalArgumentException.class, () -> s.prefill(new int[] {1, 30})),
                        "token 1 = 30", "[0, 30)");
                assertThrows(IllegalArgumentException.class, () -> s.decode(-1));
                assertThrows(IllegalArgumentException.class, () -> s.prefill(new int[0]));
                assertThrows(IllegalStateException.class, s::logits);
                assertMentions(assertThrows(IllegalArgumentException.class, () -> Generator.generate(s,
                        new int[] {1, 2, 3}, GenerationOptions.greedy(7), t -> true)), "capacity of 8");
            }
        }
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), CPU.allowBeyondMaxPositions(true));
             Session s = rt.newSession(600)) {
            assertEquals(600, s.capacity(), "allowed with a warning");
        }
    }

    @Test
    void gatesMustFitTheModel(@TempDir Path dir) {
        tiny().write(dir);
        GateSet other = GateSet.init(GateSpec.of(GateType.DEFAULT, 64, 8, 3, 4, 2, 8, RopeConfig.of(10000, 8)), 1);
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), CPU)) {
            assertMentions(assertThrows(IllegalArgumentException.class,
                    () -> rt.newSession(16, PrefillAttention.topK(other, 0.5))), "3 layers", "2 layers");
        }
    }

    @Test
    void closedObjectsRefuseWork(@TempDir Path dir) {
        tiny().write(dir);
        ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), CPU);
        Session s = rt.newSession(8);
        s.prefill(new int[] {1});
        rt.close();
        assertMentions(assertThrows(IllegalStateException.class, () -> s.decode(1)), "closed");
        assertMentions(assertThrows(IllegalStateException.class, () -> rt.newSession(4)), "closed");
        rt.close(); // idempotent
        s.close();
    }

    /** Mappings of a file in this process, from /proc/self/maps (Linux). */
    static long mappings(Path file) throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return -1;
        }
        String name = file.toRealPath().toString();
        return Files.readAllLines(maps).stream().filter(l -> l.endsWith(name)).count();
    }

    @Test
    void hundredOpenGenerateCloseCyclesLeakNothing(@TempDir Path dir) throws IOException {
        tiny().write(dir);
        Path weights = dir.resolve("model.safetensors");
        int before = CpuModelRuntime.OPEN.get();
        for (int i = 0; i < 100; i++) {
            try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), CPU);
                 Session s = rt.newSession(12)) {
                var r = Generator.generate(s, new int[] {1, 2, 3}, GenerationOptions.greedy(8).stopAt(Set.of()), t -> true);
                assertEquals(8, r.tokens().length);
                if (i == 0) {
                    assertTrue(mappings(weights) != 0, "the weights are mapped while open");
                }
            }
        }
        assertEquals(before, CpuModelRuntime.OPEN.get(), "every runtime closed");
        long left = mappings(weights);
        if (left >= 0) {
            assertEquals(0, left, "no mapping of the weights file remains");
        }
        // random weights in native memory are released too
        ModelRuntime rt = ModelRuntime.open(ModelSource.random("tiny-llama-bytes"), CPU);
        Session s = rt.newSession(4);
        s.prefill(new int[] {1});
        rt.close();
        assertFalse(CpuModelRuntime.OPEN.get() > before);
    }
}
