package org.seerjava.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The hand-made kernel mutants still apply to the current kernel sources (each pattern occurs as often as the mutant
 * expects), change only what they name, and refuse a source where the pattern is missing. No GPU needed: the kills
 * themselves are shown on the GPU machine by gpu/scripts/kernel-mutants.sh.
 */
class KernelMutantTest {

    @ParameterizedTest
    @EnumSource(KernelMutant.class)
    void mutantAppliesToTheCurrentKernelSource(KernelMutant m) {
        String original = KernelMutant.original(m.file);
        String mutated = m.mutate(original);
        assertNotEquals(original, mutated, m + " changes nothing");
        int replaced = m.occurrence == 0 ? m.expectedMatches : 1;
        assertEquals(original.length() + replaced * (m.replace.length() - m.find.length()), mutated.length(),
                m + ": only the named matches are replaced");
        assertTrue(mutated.contains(m.replace), m.toString());
        assertTrue(m.tests.startsWith("--select-method org.seerjava.gpu."), m.tests);
    }

    @ParameterizedTest
    @EnumSource(KernelMutant.class)
    void aSourceWithoutThePatternIsRefused(KernelMutant m) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.mutate("// nothing here\n"));
        assertTrue(e.getMessage().contains("occurs 0 times in " + m.file), e.getMessage());
    }
}
