package org.seerjava.runtime.cpu;

import org.seerjava.cpu.VectorApi;
import org.seerjava.runtime.ModelRuntime;
import org.seerjava.runtime.ModelSource;
import org.seerjava.runtime.RuntimeBackend;
import org.seerjava.runtime.RuntimeOptions;

/**
 * The CPU backend ({@code cpu}): weights read in place, Vector API kernels on all cores. Its name, priority and
 * availability are those of the CPU attention engine's provider ({@code CpuEngine.Provider}, the same
 * {@link VectorApi} check), answered again here because this is another service interface.
 */
public final class CpuBackend implements RuntimeBackend {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String unavailableReason() {
        return VectorApi.unavailableReason();
    }

    @Override
    public ModelRuntime open(ModelSource source, RuntimeOptions options) {
        return CpuModelRuntime.open(source, options);
    }
}
