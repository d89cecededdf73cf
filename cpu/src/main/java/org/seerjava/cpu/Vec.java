package org.seerjava.cpu;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.seerjava.reference.Checks;

/**
 * The vector species of the CPU engine and small vector helpers. The species is fixed at class initialisation:
 * {@code -Dseer.cpu.species=128|256|512|preferred} (default preferred, the widest the CPU runs natively).
 *
 * <p>Tile alignment. A vector load that straddles two cache lines costs two L1 accesses; the attention tiles are
 * loaded a vector at a time, so they should start on a vector boundary. Java places a {@code float[]}'s elements
 * 16 bytes (12 with compact object headers) after the start of the object, and objects are only 8-byte aligned by
 * default, so where a tile starts is left to chance. With {@code -XX:ObjectAlignmentInBytes=64} (or 32 for 256-bit
 * vectors) every object starts on a 64-byte boundary, and skipping {@link #TILE_OFFSET} floats at the start of each
 * tile array puts its vectors on line boundaries (what that saves: docs/PERFORMANCE.md, "Tiles on cache lines"). The offset is derived from the running JVM's options; {@code -Dseer.cpu.tileOffset=F}
 * sets it. It changes where data sits, never a result bit.
 */
final class Vec {
    /** The system property that chooses the species width in bits. */
    static final String SPECIES_PROPERTY = "seer.cpu.species";

    static final VectorSpecies<Float> F = chooseSpecies(System.getProperty(SPECIES_PROPERTY, "preferred"));
    static final int L = F.length();

    /** The system property that sets the tile offset in floats (0 to 63); by default it is derived. */
    static final String TILE_OFFSET_PROPERTY = "seer.cpu.tileOffset";

    /** Floats skipped at the start of every tile array so that the tile's vectors start on vector boundaries. */
    static final int TILE_OFFSET = tileOffset(System.getProperty(TILE_OFFSET_PROPERTY));

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

    static int tileOffset(String value) {
        if (value != null && !value.isBlank()) {
            try {
                int floats = Integer.parseInt(value.trim());
                if (floats >= 0 && floats < 64) {
                    return floats;
                }
            } catch (NumberFormatException ignored) {
                // fall through to the message
            }
            throw new IllegalArgumentException("-D" + TILE_OFFSET_PROPERTY + "=" + value
                    + " must be an integer from 0 to 63 (floats)");
        }
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            int alignment = Integer.parseInt(vm.getVMOption("ObjectAlignmentInBytes").getValue());
            int base = flag(vm, "UseCompactObjectHeaders") ? 12 : flag(vm, "UseCompressedClassPointers") ? 16 : -1;
            return tileOffset(alignment, base, F.vectorByteSize());
        } catch (RuntimeException | LinkageError e) {      // not HotSpot, or no management module: leave it to chance
            return 0;
        }
    }

    private static boolean flag(HotSpotDiagnosticMXBean vm, String name) {
        try {
            return Boolean.parseBoolean(vm.getVMOption(name).getValue());
        } catch (IllegalArgumentException unknown) {
            return false;
        }
    }

    /**
     * Floats to skip so that element {@code offset} of a {@code float[]} whose elements start {@code arrayBase}
     * bytes into an object aligned to {@code objectAlignment} bytes lies on a {@code vectorBytes} boundary; 0 when
     * the objects are aligned to less than a vector or the layout is unknown ({@code arrayBase < 0}).
     */
    static int tileOffset(int objectAlignment, int arrayBase, int vectorBytes) {
        if (arrayBase < 0 || arrayBase % Float.BYTES != 0 || objectAlignment < vectorBytes) {
            return 0;
        }
        return (vectorBytes - arrayBase % vectorBytes) % vectorBytes / Float.BYTES;
    }

    /** Rounds {@code x} up to a multiple of {@code m}. */
    static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    /**
     * Requires every element to be finite and returns the largest magnitude; vectorised (in parallel for large
     * arrays). The maximum of |x| is NaN or +∞ exactly when an element is not finite (max propagates NaN); then
     * {@link Checks#allFinite} gives the message that names the tensor and the index.
     */
    static float maxAbsFinite(String name, float[] a) {
        int chunk = 1 << 18;
        int chunks = Math.ceilDiv(a.length, chunk);
        float max;
        if (chunks <= 1) {
            max = maxAbs(a, 0, a.length);
        } else {
            float[] part = new float[chunks];
            Parallel.forEach(chunks, c -> part[c] = maxAbs(a, c * chunk, Math.min(a.length, (c + 1) * chunk)));
            max = 0;
            for (float m : part) {
                max = Math.max(max, m);
            }
        }
        if (!(max < Float.POSITIVE_INFINITY)) {
            Checks.allFinite(name, a);
        }
        return max;
    }

    /** max |a[i]| over [from, to): NaN when one is NaN, +∞ when one is infinite. */
    static float maxAbs(float[] a, int from, int to) {
        FloatVector acc = FloatVector.zero(F);
        int i = from;
        int bound = from + F.loopBound(to - from);
        for (; i < bound; i += L) {
            acc = acc.max(FloatVector.fromArray(F, a, i).abs());
        }
        float max = acc.reduceLanes(jdk.incubator.vector.VectorOperators.MAX);
        for (; i < to; i++) {
            max = Math.max(max, Math.abs(a[i]));
        }
        return max;
    }
}
