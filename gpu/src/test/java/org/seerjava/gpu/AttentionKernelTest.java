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
        assertEquals(List.of("q", "k", "v", "out", "scratch", "target", "N", "Hq", "Hkv", "nb", "scaleLog2"),
                paramNames(AttentionKernel.TARGET_SM90.spec(128)));
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
    void everyOperationHasAnFp32KernelAndPathsAreLabelled() {
        for (Op op : Op.values()) {
            assertEquals(Path.FP32, AttentionKernel.fp32(op).path());
            assertEquals(op, AttentionKernel.fp32(op).op());
        }
        assertEquals("dense attention + pooled target, 128-row wgmma (sm90)", AttentionKernel.TARGET_SM90.label());
        assertEquals("block-sparse attention, 64-row mma.sync (sm80)", AttentionKernel.SPARSE_SM80.label());
    }
}
