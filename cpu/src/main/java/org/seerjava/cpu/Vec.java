package org.seerjava.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.seerjava.reference.Checks;

/**
 * The vector species of the CPU engine and small vector helpers. The species is fixed at class initialisation:
 * {@code -Dseer.cpu.species=128|256|512|preferred} (default preferred, the widest the CPU runs natively).
 */
final class Vec {
    /** The system property that chooses the species width in bits. */
    static final String SPECIES_PROPERTY = "seer.cpu.species";

    static final VectorSpecies<Float> F = chooseSpecies(System.getProperty(SPECIES_PROPERTY, "preferred"));
    static final int L = F.length();

    private Vec() {
    }

    static VectorSpecies<Float> chooseSpecies(String value) {
        return switch (value.trim()) {
            case "preferred", "" -> FloatVector.SPECIES_PREFERRED;
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("-D" + SPECIES_PROPERTY + "=" + value
                    + " is not one of 128, 256, 512, preferred");
        };
    }

    /** Rounds {@code x} up to a multiple of {@code m}. */
    static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    /**
     * Requires every element to be finite; vectorised (in parallel for large arrays), and on failure delegates to {@link Checks#allFinite} for the
     * message that names the tensor and the index.
     */
    static float[] allFinite(String name, float[] a) {
        int chunk = 1 << 18;
        int chunks = Math.ceilDiv(a.length, chunk);
        boolean[] bad = new boolean[1];
        if (chunks <= 1) {
            bad[0] = !finite(a, 0, a.length);
        } else {
            Parallel.forEach(chunks, c -> {
                if (!finite(a, c * chunk, Math.min(a.length, (c + 1) * chunk))) {
                    bad[0] = true;
                }
            });
        }
        if (bad[0]) {
            Checks.allFinite(name, a);
        }
        return a;
    }

    private static boolean finite(float[] a, int from, int to) {
        FloatVector acc = FloatVector.zero(F);
        int i = from;
        int bound = from + F.loopBound(to - from);
        for (; i < bound; i += L) {
            acc = acc.add(FloatVector.fromArray(F, a, i).mul(0f)); // x·0 is NaN for NaN and ±∞
        }
        float tail = 0f;
        for (; i < to; i++) {
            tail += a[i] * 0f;
        }
        return !Float.isNaN(VectorMath.sum(acc) + tail);
    }
}
