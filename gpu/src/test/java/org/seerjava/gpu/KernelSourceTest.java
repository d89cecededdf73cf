package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Kernel sources as NVRTC receives them: local headers pasted in, with #line directives (no GPU needed). */
class KernelSourceTest {
    @Test
    void localIncludesArePastedOnceWithLineDirectives() {
        for (String file : List.of("attention_bf16.cu", "attention_wgmma.cu", "attention_sparse_wgmma.cu", "ops_fp32.cu")) {
            String src = KernelCompiler.resource(file);
            assertFalse(src.lines().anyMatch(l -> l.strip().startsWith("#include \"")), file + " keeps a local #include");
            assertTrue(src.contains("#line 1 \"common.cuh\""), file);
            assertEquals(1, count(src, "static __device__ __forceinline__ u32 pack_bf16("), file);
            assertTrue(src.contains("#include <cuda_bf16.h>"), file + ": system includes stay for NVRTC");
        }
        String wg = KernelCompiler.resource("attention_wgmma.cu");
        String[] lines = wg.split("\n");
        int at = -1;                                     // the last resumption (after common.cuh and wgmma.cuh)
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].startsWith("#line ") && lines[i].endsWith("\"attention_wgmma.cu\"")) {
                at = i;
            }
        }
        int resumed = Integer.parseInt(lines[at].split(" ")[1]);
        String original = readRaw("attention_wgmma.cu");
        assertEquals(original.split("\n")[resumed - 1], lines[at + 1], "#line names the next line of the source");
    }

    @Test
    void missingHeaderIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelCompiler.resource("no-such-kernel.cu"));
        assertTrue(e.getMessage().contains("no-such-kernel.cu"), e.getMessage());
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    private static String readRaw(String file) {
        try (var in = KernelCompiler.class.getResourceAsStream("/org/seerjava/gpu/kernels/" + file)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
