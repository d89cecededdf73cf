package org.seerjava.tornado;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The engine conformance suite with the task graphs run by the KernelContext emulator: the engine's host code
 * (checks, buffers, graph reuse) and every kernel against the reference and the 45 golden comparisons, without a GPU.
 */
class EmulatedEngineTest extends EngineConformance {
    private final TornadoEngine engine = EmulatedEngine.create();

    @Override
    TornadoEngine engine() {
        return engine;
    }

    @Override
    Stream<Arguments> shapes() {
        return Stream.of(                                  // N not a multiple of 64, GQA 1–4, B = 2, D = 64 and 128
                Arguments.of(2, 77, 4, 4, 64),
                Arguments.of(2, 130, 4, 2, 128),
                Arguments.of(1, 200, 3, 1, 64),
                Arguments.of(1, 150, 4, 1, 128));
    }
}
