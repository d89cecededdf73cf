package org.seerjava.tornado;

/** The TornadoVM engine with its task graphs run by the {@link KernelEmulator} on the host buffers. */
final class EmulatedEngine {
    private EmulatedEngine() {
    }

    static TornadoEngine create() {
        return new TornadoEngine((name, weights, inputs, tasks, outputs) -> new GraphRunner() {
            @Override
            public void run() {
                KernelEmulator.run(tasks);
            }

            @Override
            public void close() {
            }
        }, "TornadoVM kernels in the CPU KernelContext emulator");
    }
}
