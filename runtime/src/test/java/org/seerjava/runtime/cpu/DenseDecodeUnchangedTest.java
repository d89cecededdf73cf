package org.seerjava.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.seerjava.gate.GateSet;
import org.seerjava.gate.ModelDims;
import org.seerjava.model.LlamaConfig;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.PrefillAttention;
import org.seerjava.runtime.RuntimeOptions;
import org.seerjava.runtime.Session;

/**
 * Without decode gates a CPU session decodes exactly as it did before SeerAttention-R decoding was added: the logits
 * of a fixed run on the embedded model (a prefill of 100 tokens, 40 decode steps crossing a 64-token block boundary,
 * a continuation prefill of 10 tokens, 30 more decode steps; once with a dense and once with a SeerAttention prefill)
 * have, bit for bit, the SHA-256 digests this same test printed on the runtime before the change (main at b5cc5b3,
 * 2026-12-04). The test is written against the API both versions have ({@code newSession(capacity)} and
 * {@code newSession(capacity, PrefillAttention)}), so it can be run on either.
 *
 * <p>The bits depend on the float vector width (the order of the Vector API's sums): the digests are recorded per
 * {@code FloatVector.SPECIES_PREFERRED} width; on a machine of another width the test prints its digests and skips.
 * Within one machine they are fixed (the CPU engine gives the same bits at every JIT tier: cpu's DeterminismTest).
 */
class DenseDecodeUnchangedTest {
    static final Path DIR = Path.of("../models/tiny-llama-bytes");

    /** Recorded on main b5cc5b3 (before sparse decoding), by vector width in bits: dense prefill, Seer prefill. */
    static final Map<Integer, String[]> RECORDED = Map.of(
            512, new String[] {"76a2390e8338b3bf780d3db0c5ed9b35", "a0a69a579274c4440f340c88a46efd3a"});

    static ModelRuntime rt;
    static GateSet gates;
    static int[] text;

    @BeforeAll
    static void load() throws Exception {
        rt = ModelRuntime.open(ModelSource.checkpoint(DIR), RuntimeOptions.defaults().backend("cpu"));
        LlamaConfig c = rt.config();
        gates = GateSet.load(DIR.resolve("reference-gates/attn_gate_weights.safetensors"), ModelDims.of(c));
        byte[] b = Files.readAllBytes(Path.of("../corpus/eval-moby.bin"));
        text = new int[180];
        for (int i = 0; i < text.length; i++) {
            text[i] = b[30_000 + i] & 0xFF;
        }
    }

    @AfterAll
    static void close() {
        rt.close();
    }

    /** The digest of every logit the run produced, in order. */
    private static String run(Session s) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        add(sha, s.prefill(Arrays.copyOf(text, 100)));
        for (int i = 100; i < 140; i++) {
            add(sha, s.decode(text[i]));
        }
        add(sha, s.prefill(Arrays.copyOfRange(text, 140, 150)));
        for (int i = 150; i < 180; i++) {
            add(sha, s.decode(text[i]));
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
    }

    private static void add(MessageDigest sha, float[] logits) {
        ByteBuffer b = ByteBuffer.allocate(logits.length * 4);
        for (float f : logits) {
            b.putInt(Float.floatToRawIntBits(f));
        }
        sha.update(b.array());
    }

    @Test
    void denseDecodingHasTheBitsOfTheRuntimeBeforeSparseDecoding() throws Exception {
        String dense;
        String seer;
        try (Session s = rt.newSession(text.length)) {
            dense = run(s);
        }
        try (Session s = rt.newSession(text.length, PrefillAttention.topK(gates, 0.5))) {
            seer = run(s);
        }
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        System.out.printf("dense decode digests (%d-bit vectors): dense prefill %s, seer prefill %s%n",
                bits, dense, seer);
        String[] recorded = RECORDED.get(bits);
        assumeTrue(recorded != null, "no digests recorded for " + bits + "-bit vectors (only for "
                + RECORDED.keySet() + "); printed above");
        assertEquals(recorded[0], dense, "dense prefill, dense decode");
        assertEquals(recorded[1], seer, "SeerAttention prefill, dense decode");
    }
}
