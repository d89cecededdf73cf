package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.model.TinyCheckpoint;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.io.DType;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * Every family through the CPU session against an independent float64 forward: prefill of N tokens, then M decode
 * steps, each position's logits compared with the one-pass float64 logits of the same position.
 */
class CpuFamiliesTest {

    @ParameterizedTest(name = "{0} hidden={1} heads={2}/{3} D={4} tied={5} bias={6} {7} llama3={8}")
    @CsvSource({
            "LlamaForCausalLM,    64, 4, 2, 16, false, false, F32,  false",
            "LlamaForCausalLM,    48, 6, 2, 8,  true,  true,  BF16, true",
            "MistralForCausalLM,  64, 8, 2, 8,  false, false, BF16, false",
            "Qwen2ForCausalLM,    48, 4, 1, 12, true,  false, F16,  false",
            "Qwen3ForCausalLM,    32, 4, 2, 16, true,  false, BF16, true",
            "Qwen3ForCausalLM,    40, 2, 2, 32, false, true,  F32,  false",
    })
    void prefillThenDecodeMatchesTheFloat64Forward(String arch, int hidden, int heads, int kv, int d, boolean tied,
                                                   boolean bias, DType dtype, boolean llama3, @TempDir Path dir) {
        RopeConfig rope = llama3
                ? new RopeConfig(500000, d, new RopeConfig.Scaling.Llama3(8, 1, 4, 64))
                : RopeConfig.of(10000, d);
        TinyCheckpoint m = TinyCheckpoint.build(arch, hidden, heads, kv, d, 72, 2, 61, tied, bias, rope, hidden * 7L + d);
        m.dtype = dtype;
        m.write(dir);
        Random r = new Random(3);
        int n = 40;
        int steps = 9;
        int[] tokens = new int[n + steps];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = r.nextInt(61);
        }
        double[] expected = m.forward(tokens);
        try (ModelRuntime rt = ModelRuntime.open(ModelSource.checkpoint(dir), RuntimeOptions.defaults().backend("cpu"));
             Session s = rt.newSession(n + steps)) {
            assertEquals(arch, rt.config().architecture());
            float[] got = s.prefill(java.util.Arrays.copyOf(tokens, n));
            double worst = compare(expected, n - 1, got, 61);
            for (int i = n; i < n + steps; i++) {
                got = s.decode(tokens[i]);
                worst = Math.max(worst, compare(expected, i, got, 61));
            }
            assertEquals(n + steps, s.length());
            System.out.printf("%s %s: max abs logit error %.2e over %d positions%n", arch, dtype, worst, steps + 1);
            // logits are O(1–10) here; float32 through 2 layers agrees with float64 to ~1e-5
            assertTrue(worst < 2e-4, arch + ": max abs logit error " + worst);
        }
    }

    static double compare(double[] expected, int row, float[] got, int vocab) {
        double max = 0;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, Math.abs(expected[row * vocab + v] - got[v]));
        }
        return max;
    }
}
