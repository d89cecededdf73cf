package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;

/** Library discovery and the no-driver path; runs on any machine. */
class CudaLibrariesTest {

    @Test
    void missingDriverGivesAClearMessage() {
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> CudaLibraries.openDriver("/nonexistent/libcuda.so.1"));
        System.out.println("[seer-gpu] no-driver message: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("no CUDA driver"), e.getMessage());
        assertTrue(e.getMessage().contains("/nonexistent/libcuda.so.1"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dseer.cuda.driver"), e.getMessage());
    }

    /** Runs {@code body} with the system property {@code key} set to {@code value}, then restores it. */
    static void withProperty(String key, String value, Runnable body) {
        String old = System.getProperty(key);
        System.setProperty(key, value);
        try {
            body.run();
        } finally {
            if (old == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, old);
            }
        }
    }

    @Test
    void missingNvrtcNamesEveryPathTried() {
        withProperty(CudaLibraries.CUDA_HOME, "/nonexistent/cuda", () -> {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, CudaLibraries::openNvrtc);
            System.out.println("[seer-gpu] no-NVRTC message: " + e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/cuda/lib64/libnvrtc.so.13"), e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/cuda/targets/x86_64-linux/lib/libnvrtc.so.13"),
                    e.getMessage());
        });
    }

    @Test
    void missingCublasNamesEveryFolderTried() {
        withProperty(CudaLibraries.CUBLAS_DIR, "/nonexistent/cublas", () -> {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, CudaLibraries::findCublas);
            System.out.println("[seer-gpu] no-cuBLAS message: " + e.getMessage());
            assertTrue(e.getMessage().startsWith("no cuBLAS"), e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/cublas"), e.getMessage());
            assertTrue(e.getMessage().contains("-D" + CudaLibraries.CUBLAS_DIR), e.getMessage());
        });
        withProperty(CudaLibraries.CUDA_HOME, "/nonexistent/cuda", () -> {
            var folders = CudaLibraries.cublasFolders();
            assertEquals("/nonexistent/cuda/lib64", folders.get(0).toString());
            assertEquals("/nonexistent/cuda/targets/x86_64-linux/lib", folders.get(1).toString());
            assertTrue(folders.stream().anyMatch(f -> f.toString().endsWith("site-packages/nvidia/cu13/lib")),
                    "" + folders);
        });
    }

    @Test
    void nvrtcPathOverrideIsUsedAlone() {
        withProperty(CudaLibraries.NVRTC_PATH, "/opt/x/libnvrtc.so.13", () -> {
            assertEquals(1, CudaLibraries.nvrtcCandidates().size());
            assertEquals("/opt/x/libnvrtc.so.13", CudaLibraries.nvrtcCandidates().get(0).toString());
        });
    }

    @Test
    void providerIsRegisteredWithPriority20() {
        EngineProvider cuda = Engines.providers().stream().filter(p -> p.name().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("cuda provider not registered"));
        assertEquals(20, cuda.priority());
        String reason = cuda.unavailableReason();
        System.out.println("[seer-gpu] cuda engine unavailable reason: " + reason);
        if (reason != null) {
            // no driver or GPU here: the fastest engine is another one, and asking for cuda says why
            assertTrue(!Engines.fastest().name().equals("cuda"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engines.byName("cuda"));
            assertTrue(e.getMessage().contains(reason.lines().findFirst().orElseThrow()), e.getMessage());
        } else {
            assertNotNull(Engines.byName("cuda").description());
        }
    }
}
