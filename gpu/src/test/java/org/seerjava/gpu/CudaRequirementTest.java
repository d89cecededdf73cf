package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code -Dseer.requireCuda=true} turns a GPU test's skip reason into a failure naming it; no GPU needed. */
class CudaRequirementTest {
    private final String saved = System.getProperty(CudaRequirement.PROPERTY);

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(CudaRequirement.PROPERTY);
        } else {
            System.setProperty(CudaRequirement.PROPERTY, saved);
        }
    }

    @Test
    void withoutThePropertyAReasonIsASkip() {
        System.clearProperty(CudaRequirement.PROPERTY);
        assertEquals("no libcuda.so.1", CudaRequirement.skipReason("no libcuda.so.1"));
        assertNull(CudaRequirement.skipReason(null));
    }

    @Test
    void withThePropertyAReasonFailsAndNamesIt() {
        System.setProperty(CudaRequirement.PROPERTY, "true");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> CudaRequirement.skipReason("no NVRTC: libnvrtc.so.13 not found"));
        assertEquals("-Dseer.requireCuda=true but this GPU test cannot run: no NVRTC: libnvrtc.so.13 not found",
                e.getMessage());
        assertNull(CudaRequirement.skipReason(null), "nothing missing: the test runs");
    }

    @Test
    void onThisMachineTheEngineReasonFollowsTheProperty() {
        String reason = new CudaEngine.Provider().unavailableReason();
        System.setProperty(CudaRequirement.PROPERTY, "true");
        if (reason == null) {
            assertNull(CudaRequirement.engineSkipReason());
        } else {
            IllegalStateException e = assertThrows(IllegalStateException.class, CudaRequirement::engineSkipReason);
            assertEquals("-Dseer.requireCuda=true but this GPU test cannot run: " + reason, e.getMessage());
        }
        System.setProperty(CudaRequirement.PROPERTY, "false");
        assertEquals(reason, CudaRequirement.engineSkipReason());
    }
}
