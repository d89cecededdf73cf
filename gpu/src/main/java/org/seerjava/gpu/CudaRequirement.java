package org.seerjava.gpu;

/**
 * Whether GPU tests may skip. Every GPU test of the project asks {@link #skipReason(String)} before it runs: without
 * {@code -Dseer.requireCuda=true} a reason (no driver, no GPU, no NVRTC, no cuBLAS, a missing model file) makes the
 * test skip with that reason printed; with it, the same reason fails the test instead, so that a GPU machine whose
 * CUDA set-up is incomplete cannot pass by skipping. The GPU machine's test scripts set the property.
 */
public final class CudaRequirement {
    /** System property: {@code true} turns every GPU test skip into a failure. */
    public static final String PROPERTY = "seer.requireCuda";

    private CudaRequirement() {
    }

    /** True when {@code -Dseer.requireCuda=true}. */
    public static boolean required() {
        return Boolean.getBoolean(PROPERTY);
    }

    /**
     * The reason a GPU test cannot run, {@code null} when it can.
     *
     * @param reason why the test would skip ({@code null}: nothing is missing)
     * @return {@code reason} unchanged when CUDA is not required
     * @throws IllegalStateException with the reason when {@code -Dseer.requireCuda=true} and {@code reason} is not null
     */
    public static String skipReason(String reason) {
        if (reason != null && required()) {
            throw new IllegalStateException("-D" + PROPERTY + "=true but this GPU test cannot run: " + reason);
        }
        return reason;
    }

    /** {@link #skipReason(String)} of the CUDA engine's own reason (no driver, no GPU, no NVRTC). */
    public static String engineSkipReason() {
        return skipReason(new CudaEngine.Provider().unavailableReason());
    }
}
