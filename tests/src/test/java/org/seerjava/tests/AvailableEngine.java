package org.seerjava.tests;

import org.junit.jupiter.api.Assumptions;
import org.seerjava.gpu.CudaRequirement;
import org.seerjava.reference.engine.Engine;
import org.seerjava.reference.engine.EngineProvider;
import org.seerjava.reference.engine.Engines;

/** The engine a cross-engine test runs on, or the test skipped with the engine's reason printed. */
final class AvailableEngine {
    private AvailableEngine() {
    }

    /**
     * The engine named {@code engineName}; if it is unavailable here, prints "SKIPPED name{what}: reason" and aborts
     * the test as skipped — except the {@code cuda} engine under {@code -Dseer.requireCuda=true}, which fails instead
     * ({@link CudaRequirement#skipReason}).
     */
    static Engine require(String engineName, String what) {
        EngineProvider provider = Engines.providers().stream().filter(p -> p.name().equals(engineName))
                .findFirst().orElseThrow();
        String reason = provider.unavailableReason();
        if (engineName.equals("cuda")) {
            CudaRequirement.skipReason(reason);   // -Dseer.requireCuda=true: no skip
        }
        if (reason != null) {
            System.out.println("SKIPPED " + engineName + what + ": " + reason);
        }
        Assumptions.assumeTrue(reason == null, () -> engineName + " engine unavailable here: " + reason);
        return Engines.byName(engineName);
    }
}
