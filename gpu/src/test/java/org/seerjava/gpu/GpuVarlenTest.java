package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.seerjava.reference.AttentionShape;
import org.seerjava.reference.BlockMask;
import org.seerjava.reference.LeftPadding;
import org.seerjava.reference.Pool;
import org.seerjava.reference.VarlenBatch;
import org.seerjava.reference.VarlenShape;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.PerSequenceEngine;
import org.seerjava.reference.engine.ReferenceEngine;

/**
 * The CUDA engine's native varlen launches (docs/SPEC.md §11; {@link CudaVarlen}) against the same engine's
 * single-sequence kernels run on each sequence alone ({@link PerSequenceEngine}): the same bits for pooling, dense and
 * block-sparse attention and the fused pass with its target, since each sequence is computed by the same kernel code —
 * so a sequence found at the wrong offset, a block of another sequence's mask or target, a CTA left out or run twice
 * all show. Block sizes 16 and 64 (the fp32 kernels' CTA is one block), GQA, lengths of 1 token, one block plus one, a
 * whole number of blocks; a left-padded batch run as its varlen form; a sample against the reference. The
 * reference comparison over long random batches (lengths up to 4,999) is {@code CrossEngineVarlenTest} in module
 * tests. Skips with the reason printed without a GPU.
 */
class GpuVarlenTest {
    CudaEngine gpu;
    Engine perSequence;

    @BeforeEach
    void setUp() {
        Gpu.assume();
        gpu = new CudaEngine();
        perSequence = new PerSequenceEngine(gpu);
    }

    static void assertSameBits(String what, float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, what + ": length");
        int at = Arrays.mismatch(actual, expected);
        if (at >= 0) {
            throw new AssertionError(what + ": element " + at + " is " + actual[at] + ", one sequence at a time gave "
                    + expected[at] + " (expected the same bits)");
        }
        System.out.printf("[seer-gpu] %-60s same bits as one sequence at a time (%d elements)%n", what, actual.length);
    }

    /** Random masks, one per sequence, of about half the causal blocks; rows without a block happen. */
    static List<BlockMask> randomMasks(Random r, VarlenBatch batch, int heads, int bs) {
        List<BlockMask> masks = new ArrayList<>();
        for (int s = 0; s < batch.sequences(); s++) {
            int nb = batch.blocks(s, bs);
            byte[] bits = new byte[heads * nb * nb];
            for (int i = 0; i < bits.length; i++) {
                int qb = (i / nb) % nb;
                int kb = i % nb;
                bits[i] = (byte) (kb <= qb && r.nextBoolean() ? 1 : 0);
            }
            masks.add(BlockMask.of(1, heads, nb, bits));
        }
        return masks;
    }

    @ParameterizedTest(name = "block {0}, Hq={1}, Hkv={2}, D={3}")
    @CsvSource({"64, 6, 2, 128", "16, 4, 4, 64", "64, 8, 1, 64", "32, 3, 1, 72"})
    void theNativeVarlenLaunchGivesEachSequenceItsOwnBits(int bs, int hq, int hkv, int d) {
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(1, bs + 1, 3 * bs - 5, 2 * bs, 7, 190, 1000), hq,
                hkv, d);
        VarlenBatch batch = shape.batch();
        Random r = new Random(bs * 31L + hq);
        float[] q = Gpu.random(r, shape.qElements());
        float[] k = Gpu.random(r, shape.kvElements());
        float[] v = Gpu.random(r, shape.kvElements());
        List<BlockMask> masks = randomMasks(r, batch, hq, bs);
        String tag = "block " + bs + " Hq" + hq + " Hkv" + hkv + " D" + d;
        double scale = 1 / Math.sqrt(d);
        Engine[] engines = {gpu, perSequence};
        float[][] pooled = new float[2][batch.totalBlocks(bs) * hkv * d * 2];
        float[][] dense = new float[2][shape.qElements()];
        float[][] sparse = new float[2][shape.qElements()];
        float[][] fused = new float[2][shape.qElements()];
        float[][] target = new float[2][batch.mapElements(hq, bs)];
        for (int e = 0; e < 2; e++) {
            Arrays.fill(dense[e], Float.NaN);                 // an output left unwritten shows as NaN
            Arrays.fill(sparse[e], Float.NaN);
            Arrays.fill(fused[e], Float.NaN);
            Arrays.fill(target[e], Float.NaN);
            engines[e].poolVarlen(k, pooled[e], batch, hkv, d, bs, List.of(Pool.MAX, Pool.AVG));
            engines[e].denseCausalVarlen(q, k, v, dense[e], shape, scale);
            engines[e].blockSparseVarlen(q, k, v, masks, sparse[e], shape, bs, scale);
            engines[e].attentionWithPooledTargetVarlen(q, k, v, fused[e], target[e], shape, bs, scale);
        }
        assertSameBits(tag + " pooled k (max, avg)", pooled[0], pooled[1]);
        assertSameBits(tag + " dense attention", dense[0], dense[1]);
        assertSameBits(tag + " block-sparse attention", sparse[0], sparse[1]);
        assertSameBits(tag + " fused pass, attention", fused[0], fused[1]);
        assertSameBits(tag + " fused pass, pooled target", target[0], target[1]);
        Gpu.assertAllFinite(tag + " dense attention", dense[0]);
        Gpu.assertAllFinite(tag + " pooled target", target[0]);
        assertFalse(Arrays.equals(sparse[0], dense[0]), "the masks drop blocks");
    }

    /**
     * The native launches against the reference on a batch with a long sequence (≤ 1e-5 relative, as the
     * single-sequence operations in {@link GpuOpsTest}).
     */
    @Test
    void theNativeVarlenLaunchMatchesTheReference() {
        VarlenShape shape = new VarlenShape(VarlenBatch.ofLengths(1500, 1, 130, 77), 4, 2, 128);
        VarlenBatch batch = shape.batch();
        Random r = new Random(19);
        float[] q = Gpu.random(r, shape.qElements());
        float[] k = Gpu.random(r, shape.kvElements());
        float[] v = Gpu.random(r, shape.kvElements());
        List<BlockMask> masks = randomMasks(r, batch, 4, 64);
        ReferenceEngine ref = new ReferenceEngine();
        double scale = shape.defaultScale();
        float[] got = new float[shape.qElements()];
        float[] want = new float[shape.qElements()];
        gpu.denseCausalVarlen(q, k, v, got, shape, scale);
        ref.denseCausalVarlen(q, k, v, want, shape, scale);
        Gpu.assertClose("varlen dense attention vs reference", got, want, GpuOpsTest.TOL);
        gpu.blockSparseVarlen(q, k, v, masks, got, shape, 64, scale);
        ref.blockSparseVarlen(q, k, v, masks, want, shape, 64, scale);
        Gpu.assertClose("varlen block-sparse attention vs reference", got, want, GpuOpsTest.TOL);
        float[] target = new float[batch.mapElements(4, 64)];
        float[] targetRef = new float[target.length];
        gpu.attentionWithPooledTargetVarlen(q, k, v, got, target, shape, 64, scale);
        ref.attentionWithPooledTargetVarlen(q, k, v, want, targetRef, shape, 64, scale);
        Gpu.assertClose("varlen fused attention vs reference", got, want, GpuOpsTest.TOL);
        Gpu.assertClose("varlen pooled target vs reference", target, targetRef, GpuOpsTest.TOL);
        float[] pooled = new float[batch.totalBlocks(64) * 2 * 128 * 3];
        float[] pooledRef = new float[pooled.length];
        List<Pool> pools = List.of(Pool.MAX, Pool.MIN, Pool.AVG);
        gpu.poolVarlen(k, pooled, batch, 2, 128, 64, pools);
        ref.poolVarlen(k, pooledRef, batch, 2, 128, 64, pools);
        Gpu.assertClose("varlen pooled k vs reference", pooled, pooledRef, GpuOpsTest.TOL);
    }

    /**
     * A left-padded batch (docs/SPEC.md §11.3; pad lengths 0, 5, 70 and 129 with blocks of 64) run as its varlen form,
     * unpad → the native varlen fused pass → pad: each sequence's rows and target are those of the sequence run alone,
     * bit for bit, and the pad rows are 0.
     */
    @Test
    void aLeftPaddedBatchIsItsVarlenForm() {
        int lmax = 300;
        LeftPadding padding = LeftPadding.ofPadLengths(lmax, 0, 5, 70, 129);
        int hq = 4;
        int hkv = 2;
        int d = 64;
        Random r = new Random(17);
        float[] q = Gpu.random(r, 4 * lmax * hq * d);
        float[] k = Gpu.random(r, 4 * lmax * hkv * d);
        float[] v = Gpu.random(r, 4 * lmax * hkv * d);
        VarlenShape shape = new VarlenShape(padding.varlen(), hq, hkv, d);
        float[] packed = new float[shape.qElements()];
        float[] target = new float[padding.varlen().mapElements(hq, 64)];
        gpu.attentionWithPooledTargetVarlen(padding.unpad(q, hq * d), padding.unpad(k, hkv * d),
                padding.unpad(v, hkv * d), packed, target, shape, 64, 0.125);
        float[] out = padding.pad(packed, hq * d);
        int[] cuMaps = padding.varlen().cuMaps(hq, 64);
        for (int b = 0; b < 4; b++) {
            int pad = padding.padLength(b);
            AttentionShape alone = new AttentionShape(1, padding.length(b), hq, hkv, d);
            float[] expected = new float[alone.qElements()];
            float[] expectedTarget = new float[cuMaps[b + 1] - cuMaps[b]];
            gpu.attentionWithPooledTarget(Arrays.copyOfRange(q, (b * lmax + pad) * hq * d, (b + 1) * lmax * hq * d),
                    Arrays.copyOfRange(k, (b * lmax + pad) * hkv * d, (b + 1) * lmax * hkv * d),
                    Arrays.copyOfRange(v, (b * lmax + pad) * hkv * d, (b + 1) * lmax * hkv * d), expected,
                    expectedTarget, alone, 64, 0.125);
            assertSameBits("left-padded sequence " + b + " (pad " + pad + ")",
                    Arrays.copyOfRange(out, (b * lmax + pad) * hq * d, (b + 1) * lmax * hq * d), expected);
            assertSameBits("left-padded sequence " + b + " target",
                    Arrays.copyOfRange(target, cuMaps[b], cuMaps[b + 1]), expectedTarget);
            for (int i = b * lmax * hq * d; i < (b * lmax + pad) * hq * d; i++) {
                assertEquals(0f, out[i], "pad row element " + i);
            }
        }
    }
}
