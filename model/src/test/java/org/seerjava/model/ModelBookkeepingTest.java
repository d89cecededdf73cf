package org.seerjava.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.DType;

/**
 * The model's counts and checks by value: the parameter count, the bytes of the weights and the bytes read per decoded
 * token against sums over the tensors actually written (each family's biases and norms, tied and untied
 * embeddings, float32 and bf16); a tensor read back element by element; every size of a config refused at 0 and
 * accepted at 1, by name; the layer-attention arrays each named when their length is wrong; cross-entropy sums.
 */
class ModelBookkeepingTest {

    @ParameterizedTest(name = "{0} tied={1} bias={2} {3}")
    @CsvSource({
        "LlamaForCausalLM, false, false, F32",
        "LlamaForCausalLM, true, true, BF16",
        "Qwen2ForCausalLM, false, false, F32",
        "Qwen3ForCausalLM, true, true, F16",
        "MistralForCausalLM, false, true, BF16"})
    void countsEqualSumsOverTheTensorsWritten(String arch, boolean tied, boolean bias, DType dtype, @TempDir Path dir) {
        TinyCheckpoint c = TinyCheckpoint.build(arch, 24, 4, 2, 40, 3, 37, tied, bias, 9);
        c.dtype = dtype;
        c.write(dir);
        long elements = 0;
        for (long[] shape : c.shapes.values()) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            elements += n;
        }
        long bytes = elements * dtype.byteSize();
        long embedBytes = 37L * 24 * dtype.byteSize();
        try (LlamaModel m = LlamaModel.load(dir);
             ModelWeights w = ModelWeights.open(dir)) {
            assertThat(m.parameterCount()).isEqualTo(elements);
            assertThat(m.directory()).isEqualTo(dir);
            assertThat(w.totalBytes()).isEqualTo(bytes);
            assertThat(w.names()).isEqualTo(c.tensors.keySet());
            ModelTensors t = ModelTensors.bind(m.config(), w);
            assertThat(t.tied()).isEqualTo(tied);
            assertThat(t.elementCount()).isEqualTo(elements);
            assertThat(t.byteSize()).isEqualTo(bytes);
            // decoding reads one row of an untied embedding; a tied one is lm_head and read whole
            assertThat(t.bytesPerDecodedToken()).isEqualTo(tied ? bytes : bytes - embedBytes + 24L * dtype.byteSize());
            // every element read back as written (bf16 / f16: rounded as the writer rounds)
            String name = "model.layers.2.mlp.down_proj.weight";
            WeightTensor down = w.require(name, 24, 40);
            double[] stored = c.stored(name);
            float[] all = down.toFloats();
            for (int i = 0; i < stored.length; i++) {
                assertThat((double) down.get(i)).as("%s[%d]", name, i).isEqualTo(stored[i]);
                assertThat((double) all[i]).isEqualTo(stored[i]);
            }
            assertThat(down).isEqualTo(w.require(name, 24, 40)).hasSameHashCodeAs(w.require(name, 24, 40))
                    .isNotEqualTo(w.require("model.layers.1.mlp.down_proj.weight", 24, 40));
            assertThat(down.byteSize()).isEqualTo(24L * 40 * dtype.byteSize());
            assertThat(w.where(name)).isEqualTo(dir.resolve("model.safetensors").toString());
            assertThat(w.where("no.such.tensor")).isEqualTo(dir.resolve("model.safetensors").toString());
        }
    }

    @Test
    void aClosedCheckpointRefusesReads(@TempDir Path dir) {
        TinyCheckpoint.llama(3).write(dir);
        ModelWeights w = ModelWeights.open(dir);
        w.close();
        w.close();   // twice is fine
        assertThatThrownBy(() -> w.require("model.norm.weight", 32)).isInstanceOf(IllegalStateException.class);
    }

    static LlamaConfig config(int[] s) {
        return new LlamaConfig("LlamaForCausalLM", s[0], s[1], s[2], s[3], s[4], s[5], 1e-5, s[6], false, false, s[7],
                RopeConfig.of(10_000, s[5]));
    }

    @Test
    void everySizeOfAConfigIsRefusedAtZeroByName() {
        String[] names = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings"};
        int[] ones = {1, 1, 1, 1, 1, 2, 1, 1};       // head_dim 2: the smallest even one
        assertThat(config(ones).numHiddenLayers()).isEqualTo(1);
        for (int i = 0; i < names.length; i++) {
            int[] s = ones.clone();
            s[i] = 0;
            // the rope is built for a rotary dim of 2 (RopeConfig refuses 0 itself): the config must see head_dim 0
            assertThatThrownBy(() -> new LlamaConfig("LlamaForCausalLM", s[0], s[1], s[2], s[3], s[4], s[5], 1e-5,
                    s[6], false, false, s[7], RopeConfig.of(10_000, 2)))
                    .as(names[i]).hasMessage(names[i] + " must be > 0, got 0");
        }
        // a projection width beyond an int, named with its factors
        assertThatThrownBy(() -> config(new int[] {1, 1, 1, 1 << 16, 1, 1 << 16, 1, 1}))
                .hasMessageStartingWith("num_attention_heads · head_dim = 65536 · 65536 = 4294967296");
        assertThatThrownBy(() -> config(new int[] {1, 1, 1, 1, 2, 1 << 30, 1, 1}))
                .hasMessageStartingWith("num_key_value_heads · head_dim = 2 · 1073741824 = 2147483648");
        assertThatThrownBy(() -> config(new int[] {1, 1, 1, 2, 1, 1 << 30, 1, 1}))
                .hasMessageContaining("= 2147483648 is more than");
    }

    @Test
    void eachLayerAttentionArrayIsCheckedByName() {
        AttentionShape s = new AttentionShape(1, 3, 4, 2, 8);
        int qe = (int) s.qElements();
        int kve = (int) s.kvElements();
        assertThat(new LayerAttention(s, new float[qe], new float[kve], new float[qe], new float[kve], new float[kve],
                0.5).scale()).isEqualTo(0.5);
        String[] names = {"qPre", "kPre", "q", "k", "v"};
        int[] sizes = {qe, kve, qe, kve, kve};
        for (int i = 0; i < names.length; i++) {
            float[][] a = new float[5][];
            for (int j = 0; j < 5; j++) {
                a[j] = new float[sizes[j] + (i == j ? 1 : 0)];
            }
            assertThatThrownBy(() -> new LayerAttention(s, a[0], a[1], a[2], a[3], a[4], 0.5))
                    .hasMessage(names[i] + " must have " + sizes[i] + " elements for its shape, got " + (sizes[i] + 1));
        }
        assertThatThrownBy(() -> new LayerAttention(s, null, new float[kve], new float[qe], new float[kve],
                new float[kve], 0.5)).hasMessage("qPre must have " + qe + " elements for its shape, got null");
    }

    @Test
    void crossEntropySums() {
        Metrics.CrossEntropy a = new Metrics.CrossEntropy(3.0, 4);
        Metrics.CrossEntropy b = new Metrics.CrossEntropy(1.5, 2);
        Metrics.CrossEntropy sum = a.plus(b);
        assertThat(sum.nats()).isEqualTo(4.5);
        assertThat(sum.tokens()).isEqualTo(6);
        assertThat(sum.natsPerToken()).isEqualTo(0.75);
        assertThat(sum.bitsPerToken()).isEqualTo(0.75 / Math.log(2), org.assertj.core.data.Offset.offset(1e-15));
        assertThat(Metrics.CrossEntropy.zero().natsPerToken()).isNaN();
        // logits [2, 3]: uniform row and a row sure of its target
        float[] logits = {0, 0, 0, 0, 100, 0};
        Metrics.CrossEntropy ce = Metrics.crossEntropy(logits, 3, new int[] {2, 1});
        assertThat(ce.nats()).isCloseTo(Math.log(3) + 2 * Math.exp(-100), org.assertj.core.data.Offset.offset(1e-12));
        assertThatThrownBy(() -> Metrics.crossEntropy(logits, 3, new int[] {3, 0})).hasMessageContaining("target 0 = 3");
        assertThatThrownBy(() -> Metrics.crossEntropy(logits, 3, new int[] {0, -1})).hasMessageContaining("target 1 = -1");
        assertThatThrownBy(() -> Metrics.crossEntropy(logits, 4, new int[] {0, 1, 0})).hasMessageContaining("elements");
    }
}
