package org.seerjava.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seerjava.reference.InsufficientMemoryException;

/**
 * Checkpoints built to exhaust memory or overflow sizes: each is refused quickly, before any large allocation, with a
 * message naming the field or tensor, the file and the limit.
 */
class HostileCheckpointTest {
    @TempDir
    Path dir;

    private Path write(TinyCheckpoint c) {
        return c.write(dir.resolve("ckpt"));
    }

    @Test
    void aLayerCountBeyondTheWeightsIsRefusedBeforeAnythingIsSizedByIt() {
        for (long layers : new long[] {Integer.MAX_VALUE, 1_000_000_000L, 3}) {
            TinyCheckpoint c = TinyCheckpoint.llama(1);
            c.config.put("num_hidden_layers", layers);
            Path ckpt = write(c);
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThatThrownBy(() -> LlamaModel.load(ckpt).close())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("model.safetensors")
                    .hasMessageContaining("tensor model.layers." + (layers - 1) + ".input_layernorm.weight is missing")
                    .hasMessageContaining("num_hidden_layers = " + layers));
        }
    }

    @Test
    void projectionWidthsThatOverflowAnIntAreRefusedByField() {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.config.put("num_attention_heads", 1 << 26);
        c.config.put("num_key_value_heads", 1 << 26);
        c.config.put("head_dim", 64);
        Path ckpt = write(c);
        assertThatThrownBy(() -> LlamaModel.load(ckpt).close())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining("num_attention_heads · head_dim = 67108864 · 64 = 4294967296")
                .hasMessageContaining("2147483647");
    }

    @Test
    void aConfigThatIsAnEndlessFileOrAPipeIsRefusedAtOnce() throws Exception {
        Path ckpt = write(TinyCheckpoint.llama(1));
        Path config = ckpt.resolve("config.json");
        Files.delete(config);
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero");
        Files.createSymbolicLink(config, Path.of("/dev/zero"));
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() -> LlamaModel.load(ckpt).close())
                .hasMessageContaining(config.toString())
                .hasMessageContaining("the model config is not a regular file"));
        Files.delete(config);
        Process mk = new ProcessBuilder("mkfifo", config.toString()).start();
        Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo failed");
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() -> LlamaModel.load(ckpt).close())
                .hasMessageContaining("the model config is not a regular file (a device, pipe or socket)"));
    }

    @Test
    void aNaNWeightIsNamedWithItsTensorAndFile() {
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        c.tensors.get("model.layers.1.self_attn.k_proj.weight")[17] = Float.NaN;
        Path ckpt = write(c);
        assertThatThrownBy(() -> LlamaModel.load(ckpt).close())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(ckpt.resolve("model.safetensors").toString())
                .hasMessageContaining("tensor model.layers.1.self_attn.k_proj.weight holds NaN at flat index 17");
    }

    /** A one-layer checkpoint whose embedding and lm_head are larger than the heap: sparse files, nothing written. */
    @Test
    void weightsLargerThanTheHeapAreRefusedWithBytesNeededAndAvailable() throws Exception {
        long heap = Runtime.getRuntime().maxMemory();
        int hidden = 4096;
        long vocabLong = Math.min(Math.ceilDiv(heap, 4L * hidden), (Integer.MAX_VALUE - 8) / hidden);
        int vocab = (int) vocabLong;                  // each of embed and lm_head alone about the heap in float32
        Path ckpt = Files.createDirectories(dir.resolve("big"));
        TinyCheckpoint c = TinyCheckpoint.llama(1);
        ObjectNode cfg = c.config;
        cfg.put("hidden_size", hidden).put("intermediate_size", 8).put("num_hidden_layers", 1)
                .put("num_attention_heads", 1).put("num_key_value_heads", 1).put("head_dim", 8)
                .put("vocab_size", vocab);
        Files.writeString(ckpt.resolve("config.json"), cfg.toString());
        String[][] tensors = {
                {"model.embed_tokens.weight", vocab + "," + hidden},
                {"model.layers.0.input_layernorm.weight", "" + hidden},
                {"model.layers.0.self_attn.q_proj.weight", "8," + hidden},
                {"model.layers.0.self_attn.k_proj.weight", "8," + hidden},
                {"model.layers.0.self_attn.v_proj.weight", "8," + hidden},
                {"model.layers.0.self_attn.o_proj.weight", hidden + ",8"},
                {"model.layers.0.post_attention_layernorm.weight", "" + hidden},
                {"model.layers.0.mlp.gate_proj.weight", "8," + hidden},
                {"model.layers.0.mlp.up_proj.weight", "8," + hidden},
                {"model.layers.0.mlp.down_proj.weight", hidden + ",8"},
                {"model.norm.weight", "" + hidden},
                {"lm_head.weight", vocab + "," + hidden}};
        sparseSafetensors(ckpt.resolve("model.safetensors"), tensors);
        long start = System.nanoTime();
        assertThatThrownBy(() -> LlamaModel.load(ckpt).close())
                .isInstanceOfSatisfying(InsufficientMemoryException.class, e -> {
                    assertThat(e.needed()).isGreaterThan(heap);
                    assertThat(e.getMessage()).contains("the float32 weights of model " + ckpt).contains("-Xmx");
                });
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(20.0);
    }

    /** Writes a BF16 safetensors file whose data section is a hole (a sparse file of the right length). */
    static void sparseSafetensors(Path file, String[][] tensors) throws IOException {
        StringBuilder h = new StringBuilder("{");
        long offset = 0;
        for (String[] t : tensors) {
            long n = 1;
            for (String d : t[1].split(",")) {
                n *= Long.parseLong(d);
            }
            h.append(h.length() > 1 ? "," : "").append('"').append(t[0]).append("\":{\"dtype\":\"BF16\",\"shape\":[")
                    .append(t[1]).append("],\"data_offsets\":[").append(offset).append(',').append(offset + 2 * n).append("]}");
            offset += 2 * n;
        }
        byte[] header = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            f.write(header);
            f.setLength(8 + header.length + offset);
        }
    }

    @Test
    void aForwardPassWhoseActivationsExceedTheHeapIsRefusedFirst() {
        Path ckpt = write(TinyCheckpoint.llama(1));
        try (LlamaModel m = LlamaModel.load(ckpt)) {
            long perToken = 408;                     // floats alive per token for this shape (x, xn, q, k, v, MLP, logits)
            int n = (int) Math.min(Integer.MAX_VALUE / 64, Runtime.getRuntime().maxMemory() / (4 * perToken) + 1000);
            long start = System.nanoTime();
            assertThatThrownBy(() -> m.forward(new int[n], (l, in, out) -> { }))
                    .isInstanceOfSatisfying(InsufficientMemoryException.class, e -> {
                        assertThat(e.getMessage()).contains("the activations of a forward pass of " + n + " tokens");
                        assertThat(e.needed()).isGreaterThan(Runtime.getRuntime().maxMemory());
                    });
            assertThat((System.nanoTime() - start) / 1e9).isLessThan(10.0);
        }
    }
}
