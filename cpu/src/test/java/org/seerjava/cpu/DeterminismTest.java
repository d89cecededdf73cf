package org.seerjava.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.GateConfig;
import org.seerjava.reference.GateType;
import org.seerjava.reference.Pool;
import org.seerjava.reference.RopeConfig;
import org.seerjava.reference.SelectionRule;

/**
 * Every CPU operation gives the same bits whatever the JIT tier: a first (interpreted or C1) call and a call after
 * a few hundred warm-up calls (C2) agree bitwise, and so do fresh JVMs running only the interpreter ({@code -Xint})
 * or only C1. The Vector API EXP and ADD-reduction intrinsics did not (SVML exp and a tree sum when compiled,
 * {@code Math.exp} per lane and a left-to-right sum otherwise).
 */
class DeterminismTest {
    /** Small shapes with tails: N not a multiple of 64 or of the vector width, D not a multiple of the width. */
    private static final AttentionShape SHAPE = new AttentionShape(1, 100, 4, 2, 72);

    /** SHA-256 of the raw bits of every operation's output, by operation, for fixed seeded inputs. */
    static Map<String, String> digests() {
        CpuEngine cpu = new CpuEngine();
        AttentionShape s = SHAPE;
        Random random = new Random(42);
        float[] q = TestData.gaussian(random, s.qElements(), 2.0);
        float[] k = TestData.gaussian(random, s.kvElements(), 2.0);
        float[] v = TestData.gaussian(random, s.kvElements(), 1.0);
        Map<String, String> out = new LinkedHashMap<>();

        float[] pooled = new float[s.blocks(16) * s.qHeads() * s.headDim() * 3];
        cpu.pool(q, pooled, 1, s.seqLen(), s.qHeads(), s.headDim(), 16, List.of(Pool.MAX, Pool.MIN, Pool.AVG));
        out.put("pool", digest(pooled));

        int bs = 16;
        int nb = s.blocks(bs);
        GateConfig config = new GateConfig(GateType.DEFAULT, bs, 48, false, RopeConfig.of(10000, 48));
        float[] wq = TestData.gaussian(random, config.qWeightElements(s), 0.1);
        float[] wk = TestData.gaussian(random, config.kWeightElements(s), 0.1);
        float[] logits = new float[s.qHeads() * nb * nb];
        float[] scores = new float[logits.length];
        cpu.gateScores(q, k, wq, wk, logits, s, config, false);
        cpu.gateScores(q, k, wq, wk, scores, s, config, true);
        out.put("gateLogits", digest(logits));
        out.put("gateScores", digest(scores));
        BlockMask mask = cpu.select(scores, 1, s.qHeads(), nb, new SelectionRule.TopK(0.4, true, true));
        out.put("select", digest(mask.toBytes()));

        float[] dense = new float[s.qElements()];
        cpu.denseCausal(q, k, v, dense, s, s.defaultScale());
        out.put("dense", digest(dense));
        float[] sparse = new float[s.qElements()];
        cpu.blockSparse(q, k, v, mask, sparse, s, bs, s.defaultScale());
        out.put("sparse", digest(sparse));
        float[] fused = new float[s.qElements()];
        float[] target = new float[logits.length];
        cpu.attentionWithPooledTarget(q, k, v, fused, target, s, bs, s.defaultScale());
        out.put("fusedOut", digest(fused));
        out.put("fusedTarget", digest(target));
        float[] grad = new float[logits.length];
        double loss = cpu.distillationLoss(logits, target, grad, 1, s.qHeads(), nb);
        out.put("loss", Long.toHexString(Double.doubleToRawLongBits(loss)));
        out.put("lossGrad", digest(grad));

        float[] x = new float[203];
        for (int i = 0; i < x.length; i++) {
            x[i] = -100f + i;                     // covers the flush to zero, the clamp and the normal range
        }
        float[] e = new float[x.length];
        int i = 0;
        for (; i + Vec.L <= x.length; i += Vec.L) {
            VectorMath.exp(FloatVector.fromArray(Vec.F, x, i)).intoArray(e, i);
        }
        for (; i < x.length; i++) {
            e[i] = VectorMath.exp(x[i]);
        }
        out.put("exp", digest(e));
        return out;
    }

    private static String digest(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4);
        for (float f : a) {
            b.putInt(Float.floatToRawIntBits(f));
        }
        return digest(b.array());
    }

    private static String digest(byte[] a) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(a)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Prints the digests as {@code op=hex} lines (run in a child JVM by the test). */
    public static void main(String[] args) {
        digests().forEach((op, hex) -> System.out.println(op + "=" + hex));
    }

    @Test
    void sameBitsBeforeAndAfterWarmUp() {
        Map<String, String> first = digests();
        for (int i = 0; i < 300; i++) {
            digests();
        }
        assertThat(digests()).isEqualTo(first);
    }

    @Test
    void sameBitsInterpretedC1AndC2() throws Exception {
        for (int i = 0; i < 300; i++) {
            digests();
        }
        Map<String, String> c2 = digests();
        assertThat(child("-Xint")).as("-Xint").isEqualTo(c2);
        assertThat(child("-XX:TieredStopAtLevel=1")).as("C1 only").isEqualTo(c2);
    }

    /**
     * Where the tiles sit in memory changes no bit: a JVM whose objects are 64-byte aligned (tiles shifted onto
     * cache lines) and one with a deliberately odd shift give the same digests as this one.
     */
    @Test
    void sameBitsWithAlignedAndShiftedTiles() throws Exception {
        Map<String, String> here = digests();
        assertThat(child("-XX:ObjectAlignmentInBytes=64")).as("64-byte aligned objects").isEqualTo(here);
        assertThat(child("-D" + Vec.TILE_OFFSET_PROPERTY + "=5")).as("tiles shifted by 5 floats").isEqualTo(here);
    }

    /**
     * The thread count changes no bit: fresh JVMs with {@code -Dseer.threads} = 1, 2, 3 and 4 give this JVM's
     * digests (every kernel splits work by rows and heads, never a sum across workers).
     */
    @Test
    void sameBitsWithOneToFourThreads() throws Exception {
        Map<String, String> here = digests();
        for (int threads = 1; threads <= 4; threads++) {
            assertThat(child("-D" + Parallel.THREADS_PROPERTY + "=" + threads)).as("-Dseer.threads=%d", threads)
                    .isEqualTo(here);
        }
    }

    @Test
    void tileOffsetPutsVectorsOnBoundaries() {
        assertThat(Vec.tileOffset(64, 16, 64)).isEqualTo(12);   // compressed class pointers: elements at +16 bytes
        assertThat(Vec.tileOffset(64, 12, 64)).isEqualTo(13);   // compact object headers: elements at +12 bytes
        assertThat(Vec.tileOffset(128, 16, 64)).isEqualTo(12);
        assertThat(Vec.tileOffset(32, 16, 32)).isEqualTo(4);    // 256-bit vectors need 32-byte objects only
        assertThat(Vec.tileOffset(8, 16, 64)).isZero();         // default 8-byte objects: nothing to gain
        assertThat(Vec.tileOffset(64, -1, 64)).isZero();        // unknown array layout
        for (int alignment : new int[] {64, 128}) {
            for (int base : new int[] {12, 16}) {
                assertThat((base + 4 * Vec.tileOffset(alignment, base, 64)) % 64).isZero();
            }
        }
        assertThat(Vec.tileOffset("7")).isEqualTo(7);
        assertThat(Vec.tileOffset("0")).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Vec.tileOffset("64"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seer.cpu.tileOffset");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Vec.tileOffset("x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 to 63");
    }

    @Test
    void softmaxExpMatchesScalarTwinAndEdges() {
        Random random = new Random(8);
        float[] x = new float[Vec.L * 4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (-random.nextDouble() * 100);
        }
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = -0f;
        x[2] = 0f;
        x[3] = -87.5f;
        x[4] = Float.NaN;
        x[5] = -Float.MIN_VALUE;
        for (int i = 0; i < x.length; i += Vec.L) {
            FloatVector e = VectorMath.expNonPositive(FloatVector.fromArray(Vec.F, x, i));
            for (int l = 0; l < Vec.L; l++) {
                assertThat(Float.floatToRawIntBits(e.lane(l))).as("expNonPositive(%s)", x[i + l])
                        .isEqualTo(Float.floatToRawIntBits(VectorMath.expNonPositive(x[i + l])));
            }
        }
        assertThat(VectorMath.expNonPositive(Float.NEGATIVE_INFINITY)).isEqualTo(0f);
        assertThat(VectorMath.expNonPositive(-87.5f)).isEqualTo(0f);
        assertThat(VectorMath.expNonPositive(0f)).isEqualTo(1f);
        assertThat(VectorMath.expNonPositive(-0f)).isEqualTo(1f);
        assertThat(Float.isNaN(VectorMath.expNonPositive(Float.NaN))).isTrue();
        for (float t = -87f; t <= 0f; t += 0.0137f) {
            assertThat(Math.abs(VectorMath.expNonPositive(t) / Math.exp(t) - 1)).as("exp(%s)", t).isLessThan(3e-7);
        }
    }

    @Test
    void vectorExpMatchesScalarTwinAndEdges() {
        Random random = new Random(7);
        float[] x = new float[Vec.L * 4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextDouble() * 200 - 100);
        }
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = 0f;
        x[3] = -87.5f;
        for (int i = 0; i < x.length; i += Vec.L) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(Vec.F, x, i));
            for (int l = 0; l < Vec.L; l++) {
                assertThat(Float.floatToRawIntBits(e.lane(l)))
                        .as("exp(%s)", x[i + l]).isEqualTo(Float.floatToRawIntBits(VectorMath.exp(x[i + l])));
            }
        }
        assertThat(VectorMath.exp(Float.NEGATIVE_INFINITY)).isEqualTo(0f);
        assertThat(VectorMath.exp(-87.5f)).isEqualTo(0f);
        assertThat(VectorMath.exp(0f)).isEqualTo(1f);
        assertThat(Float.isNaN(VectorMath.exp(Float.NaN))).isTrue();
        for (float t = -87f; t <= 88f; t += 0.37f) {
            assertThat(Math.abs(VectorMath.exp(t) / Math.exp(t) - 1)).as("exp(%s)", t).isLessThan(3e-7);
        }
        float[] lanes = new float[Vec.L];
        for (int l = 0; l < Vec.L; l++) {
            lanes[l] = 1f / (l + 3);
        }
        float tree = VectorMath.sum(FloatVector.fromArray(Vec.F, lanes, 0));
        assertThat(Math.abs(tree - FloatVector.fromArray(Vec.F, lanes, 0).reduceLanes(
                jdk.incubator.vector.VectorOperators.ADD))).isLessThan(1e-6f);
    }

    private static Map<String, String> child(String jvmFlag) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add(jvmFlag);
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        String species = System.getProperty(Vec.SPECIES_PROPERTY);
        if (species != null) {
            cmd.add("-D" + Vec.SPECIES_PROPERTY + "=" + species);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(DeterminismTest.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(text);
        }
        String output = text.toString(StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("child JVM %s exit status; output:%n%s", jvmFlag, output).isZero();
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : output.split("\\R")) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("WARNING")) {
                out.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return out;
    }
}
