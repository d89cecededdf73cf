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

    @Test
    void missingNvrtcNamesEveryPathTried() {
        String old = System.getProperty(CudaLibraries.CUDA_HOME);
        System.setProperty(CudaLibraries.CUDA_HOME, "/nonexistent/cuda");
        try {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, CudaLibraries::openNvrtc);
            System.out.println("[seer-gpu] no-NVRTC message: " + e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/cuda/lib64/libnvrtc.so.13"), e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/cuda/targets/x86_64-linux/lib/libnvrtc.so.13"),
                    e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(CudaLibraries.CUDA_HOME);
            } else {
                System.setProperty(CudaLibraries.CUDA_HOME, old);
            }
        }
    }

    @Test
    void missingCublasNamesEveryFolderTried() {
        System.setProperty(CudaLibraries.CUBLAS_DIR, "/nonexistent/cublas");
        try {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class, CudaLibraries::findCublas);
            System.out.println("[seer-gpu] no-cuBLAS message: " + e.getMessage());
            assertTrue(e.getMessage().startsWith("no cuBLAS"), e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/cublas"), e.getMessage());
            assertTrue(e.getMessage().contains("-D" + CudaLibraries.CUBLAS_DIR), e.getMessage());
        } finally {
            System.clearProperty(CudaLibraries.CUBLAS_DIR);
        }
        String old = System.getProperty(CudaLibraries.CUDA_HOME);
        System.setProperty(CudaLibraries.CUDA_HOME, "/nonexistent/cuda");
        try {
            var folders = CudaLibraries.cublasFolders();
            assertEquals("/nonexistent/cuda/lib64", folders.get(0).toString());
            assertEquals("/nonexistent/cuda/targets/x86_64-linux/lib", folders.get(1).toString());
            assertTrue(folders.stream().anyMatch(f -> f.toString().endsWith("site-packages/nvidia/cu13/lib")), "" + folders);
        } finally {
            if (old == null) {
                System.clearProperty(CudaLibraries.CUDA_HOME);
            } else {
                System.setProperty(CudaLibraries.CUDA_HOME, old);
            }
        }
    }

    @Test
    void nvrtcPathOverrideIsUsedAlone() {
        System.setProperty(CudaLibraries.NVRTC_PATH, "/opt/x/libnvrtc.so.13");
        try {
            assertEquals(1, CudaLibraries.nvrtcCandidates().size());
            assertEquals("/opt/x/libnvrtc.so.13", CudaLibraries.nvrtcCandidates().get(0).toString());
        } finally {
            System.clearProperty(CudaLibraries.NVRTC_PATH);
        }
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
