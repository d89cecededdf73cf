package org.seerjava.runtime.cuda;

import org.seerjava.gpu.Cublas;
import org.seerjava.gpu.CudaEngine;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeBackend;
import org.seerjava.runtime.RuntimeOptions;

/**
 * The {@code cuda} backend: the model on one NVIDIA GPU in bf16 ({@link CudaModelRuntime}). Available where the
 * CUDA driver finds a GPU and NVRTC and cuBLAS are installed; otherwise {@link #unavailableReason()} says which is
 * missing and where it was looked for.
 */
public final class CudaBackend implements RuntimeBackend {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String unavailableReason() {
        String reason = new CudaEngine.Provider().unavailableReason();
        return reason != null ? reason : Cublas.unavailableReason();
    }

    @Override
    public ModelRuntime open(ModelSource source, RuntimeOptions options) {
        return CudaModelRuntime.open(source, options);
    }
}
