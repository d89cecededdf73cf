package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.seerjava.gpu.AttentionKernel.Op;
import org.seerjava.gpu.AttentionKernel.Path;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.gpu.graph.KernelSpec.Launch;

/** The typed attention kernels: entry points, defines, parameters and launches (no GPU needed). */
class AttentionKernelTest {
    private static List<String> paramNames(KernelSpec spec) {
        return spec.params().stream().map(KernelSpec.Param::name).toList();
    }

    @Test
    void eachKernelNamesItsEntryPointAndSource() {
        assertEquals("attn_sparse_f32", AttentionKernel.fp32(Op.SPARSE).function());
        assertEquals("attn_dense_f32", AttentionKernel.fp32(Op.DENSE).function());
        assertEquals("attn_dense_target_f32", AttentionKernel.fp32(Op.DENSE_TARGET).function());
        assertEquals("attn2_dense_bf16", AttentionKernel.DENSE_SM80.function());
        assertEquals("attn3_target_bf16", AttentionKernel.TARGET_SM90.function());
        for (AttentionKernel k : AttentionKernel.values()) {
            String source = KernelCompiler.resource(k.spec(64).resource());
            assertTrue(source.lines().anyMatch(l -> l.startsWith(k.function() + "(")),
                    k + " has no entry point " + k.function());
        }
    }

    @Test
    void parametersFollowTheOperation() {
        assertEquals(List.of("q", "k", "v", "mask", "out", "N", "Hq", "Hkv", "nb", "scale"),
                paramNames(AttentionKernel.SPARSE_F32.spec(64, 32, 0)));
        assertEquals(List.of("q", "k", "v", "out", "rowmax", "target", "N", "Hq", "Hkv", "nb", "scale"),
                paramNames(AttentionKernel.TARGET_F32.spec(64, 64, 0)));
        assertEquals(List.of("q", "k", "v", "mask", "out", "N", "Hq", "Hkv", "nb", "scaleLog2"),
                paramNames(AttentionKernel.SPARSE_SM80.spec(128)));
        assertEquals(List.of("q", "k", "v", "out", "scratch", "target", "N", "Hq", "Hkv", "nb", "scaleLog2", "slots"),
                paramNames(AttentionKernel.TARGET_SM90.spec(128)));
        assertEquals(paramNames(AttentionKernel.TARGET_SM90.spec(128)),
                paramNames(AttentionKernel.TARGET_SM80.spec(128)));
        // the tensor-core kernels read their scratch's lock words: a task graph must declare it (zeroed) first
        assertEquals(KernelSpec.Kind.INOUT, AttentionKernel.TARGET_SM90.spec(128).params().get(4).kind());
        assertEquals(KernelSpec.Kind.OUT, AttentionKernel.TARGET_F32.spec(64, 64, 0).params().get(4).kind());
        assertEquals(List.of("q", "k", "v", "out", "N", "Hq", "Hkv", "nb", "scaleLog2"),
                paramNames(AttentionKernel.DENSE_SM80_64.spec(64)));
    }

    @Test
    void definesAndSharedScratchLimits() {
        assertEquals(Map.of("HEAD_DIM", 64, "ATTN_BLOCK", 16), AttentionKernel.DENSE_F32.spec(64, 16, 0).defines());
        assertEquals(Map.of("HEAD_DIM", 128, "SCRATCH_SMEM_NB", SeerKernels.TARGET_SHARED_MAX_NB),
                AttentionKernel.TARGET_SM80.spec(128).defines());
        assertEquals(Map.of("HEAD_DIM", 128, "STAGES", SeerKernels.WG_STAGES, "SCRATCH_SMEM_NB", 0),
                AttentionKernel.TARGET_SM90.spec(128, 64, 0).defines());
        assertEquals(SeerKernels.TARGET_SHARED_MAX_NB_WG, AttentionKernel.TARGET_SM90.sharedScratchMaxNb());
    }

    @Test
    void launchesByPathAndTileRows() {
        assertEquals(new Launch(5, 3, 2, 32, 1, 1, 0), AttentionKernel.SPARSE_F32.launch(5, 3, 2, 64, 32, 0));
        assertEquals(new Launch(5, 3, 2, 128, 1, 1, SeerKernels.attentionBf16Shared(64, 5)),
                AttentionKernel.SPARSE_SM80.launch(5, 3, 2, 64));
        assertEquals(new Launch(3, 3, 2, 128, 1, 1, 6 * 64 * 128 * 2), AttentionKernel.DENSE_SM80.launch(5, 3, 2, 128));
        // the target kernels keep 128 rows × nb block maxima in shared memory up to their limit
        assertEquals(6 * 64 * 128 * 2 + 128 * 5 * 4, AttentionKernel.TARGET_SM80.launch(5, 3, 2, 128).sharedBytes());
        assertEquals(6 * 64 * 128 * 2, AttentionKernel.TARGET_SM80.launch(30, 3, 2, 128).sharedBytes());
        // the wgmma block-sparse kernel: a CTA per query block, 2 warpgroups, Q + K/V rings + the kept-block list
        assertEquals(new Launch(5, 3, 2, 256, 1, 1, 1024 + (1 + 2 * SeerKernels.WG_STAGES) * 64 * 128 * 2 + 16),
                AttentionKernel.SPARSE_SM90.launch(5, 3, 2, 128));
        assertEquals(1024 + (1 + 2 * SeerKernels.WG_STAGES) * 64 * 64 * 2 + 4096,
                AttentionKernel.SPARSE_SM90.launch(2048, 32, 1, 64).sharedBytes());
        Launch wg = AttentionKernel.TARGET_SM90.launch(5, 3, 2, 128);
        assertEquals(384, wg.bx());
        assertEquals(1024 + 128 * 128 * 2 + SeerKernels.WG_STAGES * 2 * SeerKernels.WG_KEYS * 128 * 2 + 128 * 5 * 4,
                wg.sharedBytes());
    }

    @Test
    void unsupportedSizesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionKernel.SPARSE_F32.spec(64, 48, 0));
        assertTrue(e.getMessage().contains("blockSize 48"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AttentionKernel.SPARSE_SM80.spec(64, 32, 0));
        assertTrue(e.getMessage().contains("blockSize 64, got 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AttentionKernel.DENSE_SM90.spec(96));
        assertTrue(e.getMessage().contains("DENSE_SM90") && e.getMessage().contains("96"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AttentionKernel.DENSE_SM80.spec(136));
    }

    @Test
    void targetScratchHasASlotPerResidentCtaThenTheLockWords() {
        assertEquals(132, AttentionKernel.TARGET_SM90.targetScratchSlots(132));    // one 384-thread CTA per SM
        assertEquals(264, AttentionKernel.TARGET_SM80.targetScratchSlots(132));    // two 128-thread CTAs per SM
        assertEquals(1, AttentionKernel.TARGET_SM90.targetScratchSlots(1));
        // N = 131,072 (nb = 2048) on 132 SMs: 132 slots of 128 × 2048 floats, then 132 lock words, whatever the
        // heads and the batch; with the target (32 heads × 2048² floats) well within 4 GiB
        assertEquals(132L * (128 * 2048 + 1), SeerKernels.targetScratchElements(132, 2048));
        assertEquals(132L * 128 * 2048 * 4 + 132 * 4, SeerKernels.targetScratchBytes(132, 2048));
        assertEquals(132L * 128 * 2048 * 4, SeerKernels.targetScratchLockOffset(132, 2048));
        assertTrue(SeerKernels.targetScratchBytes(264, 2048) + 32L * 2048 * 2048 * 4 < 4L << 30);
        assertEquals((128 + 1) * 4, SeerKernels.targetScratchBytes(1, 1));
        assertEquals(3 * 128 * 5 * 4, SeerKernels.targetScratchLockOffset(3, 5));
    }

    @Test
    void targetScratchSizesAreCheckedBeforeAllocating() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SeerKernels.targetScratchElements(0, 5));
        assertTrue(e.getMessage().contains("slots 0, nb 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SeerKernels.targetScratchBytes(3, 0));
        assertTrue(e.getMessage().contains("slots 3, nb 0"), e.getMessage());
        assertThrows(ArithmeticException.class, () -> SeerKernels.targetScratchElements(Integer.MAX_VALUE,
                Integer.MAX_VALUE));
        // the words fit a long, the bytes do not
        assertThrows(ArithmeticException.class, () -> SeerKernels.targetScratchBytes(Integer.MAX_VALUE, 1 << 24));
        for (AttentionKernel k : List.of(AttentionKernel.TARGET_F32, AttentionKernel.DENSE_SM90,
                AttentionKernel.SPARSE_SM80)) {
            e = assertThrows(IllegalArgumentException.class, () -> k.targetScratchSlots(132));
            assertTrue(e.getMessage().contains(k.name()), e.getMessage());
        }
        e = assertThrows(IllegalArgumentException.class, () -> AttentionKernel.TARGET_SM80.targetScratchSlots(0));
        assertTrue(e.getMessage().contains("got 0"), e.getMessage());
    }

    /**
     * The CTAs per SM behind {@link AttentionKernel#targetScratchSlots} are those of the kernel source: its entry
     * point's {@code __launch_bounds__} minimum, and the first slot it tries ({@code %smid} times that).
     */
    @Test
    void slotsPerSmMatchTheKernelsLaunchBounds() {
        for (AttentionKernel k : List.of(AttentionKernel.TARGET_SM90, AttentionKernel.TARGET_SM80)) {
            int perSm = k.targetScratchSlots(1);
            List<String> lines = KernelCompiler.resource(k.spec(128).resource()).lines().toList();
            int entry = lines.indexOf(k.function() + "(const __nv_bfloat16 *q, const __nv_bfloat16 *k,"
                    + " const __nv_bfloat16 *v,");
            assertTrue(entry > 0, k + ": entry point not found");
            assertEquals("extern \"C\" __global__ void __launch_bounds__(NTHREADS, " + perSm + ")",
                    lines.get(entry - 1), k + ": launch bounds");
            assertEquals(1, lines.stream().filter(l -> l.contains(
                    "scratch_slot_acquire(scratch_locks(scratch, slots, nb), slots, " + perSm + ")")).count(),
                    k + ": first slot tried");
        }
    }

    @Test
    void everyOperationHasAnFp32KernelAndPathsAreLabelled() {
        for (Op op : Op.values()) {
            assertEquals(Path.FP32, AttentionKernel.fp32(op).path());
            assertEquals(op, AttentionKernel.fp32(op).op());
        }
        assertEquals("dense attention + pooled target, 128-row wgmma (sm90)", AttentionKernel.TARGET_SM90.label());
        assertEquals("block-sparse attention, 64-row mma.sync (sm80)", AttentionKernel.SPARSE_SM80.label());
        assertEquals("block-sparse attention, 64-row wgmma (sm90)", AttentionKernel.SPARSE_SM90.label());
        assertEquals(Map.of("HEAD_DIM", 64, "STAGES", SeerKernels.WG_STAGES),
                AttentionKernel.SPARSE_SM90.spec(64).defines());
        assertEquals(AttentionKernel.SPARSE_SM80.spec(128).params(), AttentionKernel.SPARSE_SM90.spec(128).params());
        assertThrows(IllegalArgumentException.class, () -> AttentionKernel.SPARSE_SM90.spec(96));
    }
}
