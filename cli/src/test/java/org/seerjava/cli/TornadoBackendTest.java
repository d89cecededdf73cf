package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@code --backend tornado} where TornadoVM cannot run (this test JVM never has TornadoVM's JVM arguments): a clear
 * error naming what to set, exit 3, for check and bench alike — whether or not the build included the tornado module.
 */
class TornadoBackendTest {
    @Test
    void checkAndBenchSayWhatIsMissing() {
        for (String command : new String[] {"check", "bench"}) {
            CheckCommandTest.Run r = CheckCommandTest.run(command, "--backend", "tornado");
            assertThat(r.exit()).as(r.err()).isEqualTo(Seer.ERROR);
            assertThat(r.err()).contains("tornado").contains("TORNADOVM_HOME").doesNotContain("Exception");
        }
    }
}
