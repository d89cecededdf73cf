package org.seerjava.reference;

import java.util.Arrays;

/**
 * A varlen batch (docs/SPEC.md §11): B sequences of different lengths packed one after another along the token axis,
 * described by cumulative offsets {@code cuSeqLens[0..B]}. Sequence b holds the packed rows
 * {@code [cu[b], cu[b+1])}, so
 * <pre>
 *   cu[0] = 0,   cu[b+1] − cu[b] = N_b ≥ 1,   total = cu[B] = Σ_b N_b,   nb_b = ⌈N_b / bs⌉
 * </pre>
 * Every tensor of a varlen operation is the concatenation, in sequence order, of the single-sequence tensors:
 * <ul>
 *   <li>token rows {@code [total, H, D]}: sequence b at rows {@code cu[b] …};</li>
 *   <li>block rows (pooled features) {@code [Σ nb_b, H, F]}: sequence b at block row {@link #cuBlocks cuBlocks}[b];</li>
 *   <li>block maps (gate scores, pooled targets) {@code Σ_b [H, nb_b, nb_b]}: sequence b at element
 *       {@link #cuMaps cuMaps}[b] = Σ_{b' &lt; b} H · nb_b'².</li>
 * </ul>
 * Immutable; the offsets are checked when it is made and every derived size is computed in {@code long} and refused
 * when it does not fit a Java array.
 */
public final class VarlenBatch {
    private final int[] cu;
    private final int maxLength;

    private VarlenBatch(int[] cu) {
        this.cu = cu;
        int max = 0;
        for (int b = 0; b + 1 < cu.length; b++) {
            max = Math.max(max, cu[b + 1] - cu[b]);
        }
        this.maxLength = max;
    }

    /**
     * A batch from cumulative offsets (copied).
     *
     * @param cuSeqLens {@code [0, N_0, N_0 + N_1, …, total]}: B + 1 ≥ 2 entries, starting at 0, strictly increasing
     * @throws IllegalArgumentException naming the first bad entry
     */
    public static VarlenBatch of(int... cuSeqLens) {
        if (cuSeqLens == null) {
            throw new IllegalArgumentException("cuSeqLens must not be null (expected B + 1 offsets 0, …, total)");
        }
        if (cuSeqLens.length < 2) {
            throw new IllegalArgumentException("cuSeqLens must have B + 1 >= 2 entries (0, …, total), got "
                    + cuSeqLens.length);
        }
        if (cuSeqLens[0] != 0) {
            throw new IllegalArgumentException("cuSeqLens[0] must be 0, got " + cuSeqLens[0]);
        }
        for (int b = 1; b < cuSeqLens.length; b++) {
            if (cuSeqLens[b] < 0) {
                throw new IllegalArgumentException("cuSeqLens[" + b + "] must be >= 0, got " + cuSeqLens[b]);
            }
            if (cuSeqLens[b] <= cuSeqLens[b - 1]) {
                throw new IllegalArgumentException("cuSeqLens must be strictly increasing (every sequence has at "
                        + "least one token): cuSeqLens[" + b + "] = " + cuSeqLens[b] + " is not greater than cuSeqLens["
                        + (b - 1) + "] = " + cuSeqLens[b - 1]);
            }
        }
        return new VarlenBatch(cuSeqLens.clone());
    }

    /**
     * A batch from sequence lengths: {@code cu[b+1] = cu[b] + lengths[b]}.
     *
     * @param lengths N_b ≥ 1 per sequence, at least one sequence
     * @throws IllegalArgumentException naming the first bad length, or when the total exceeds an int
     */
    public static VarlenBatch ofLengths(int... lengths) {
        if (lengths == null || lengths.length == 0) {
            throw new IllegalArgumentException("lengths must name at least one sequence, got "
                    + (lengths == null ? "null" : "none"));
        }
        int[] cu = new int[lengths.length + 1];
        long total = 0;
        for (int b = 0; b < lengths.length; b++) {
            Checks.positive("lengths[" + b + "]", lengths[b]);
            total += lengths[b];
            if (total > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("lengths add up to more than " + Integer.MAX_VALUE
                        + " tokens (" + total + " by sequence " + b + ")");
            }
            cu[b + 1] = (int) total;
        }
        return new VarlenBatch(cu);
    }

    /** B, the number of sequences. */
    public int sequences() {
        return cu.length - 1;
    }

    /** total = cu[B], the packed rows. */
    public int totalTokens() {
        return cu[cu.length - 1];
    }

    /** cu[b], the first packed row of sequence b. */
    public int start(int b) {
        return cu[index(b)];
    }

    /** N_b = cu[b+1] − cu[b]. */
    public int length(int b) {
        return cu[index(b) + 1] - cu[b];
    }

    /** The longest N_b. */
    public int maxLength() {
        return maxLength;
    }

    /** Whether every sequence has the same length (the batch is then also a {@code [B, N, …]} batch). */
    public boolean uniform() {
        return (long) maxLength * sequences() == totalTokens();
    }

    /** A copy of the offsets {@code cu[0..B]}. */
    public int[] cuSeqLens() {
        return cu.clone();
    }

    /** N_b for every sequence. */
    public int[] lengths() {
        int[] n = new int[sequences()];
        for (int b = 0; b < n.length; b++) {
            n[b] = cu[b + 1] - cu[b];
        }
        return n;
    }

    /** nb_b = ⌈N_b / blockSize⌉, the blocks of sequence b. */
    public int blocks(int b, int blockSize) {
        Checks.positive("blockSize", blockSize);
        return Math.ceilDiv(length(b), blockSize);
    }

    /**
     * Cumulative block offsets {@code [0, nb_0, nb_0 + nb_1, …, Σ nb_b]}: sequence b's blocks are the block rows
     * {@code [cuBlocks[b], cuBlocks[b+1])} of a pooled tensor.
     */
    public int[] cuBlocks(int blockSize) {
        Checks.positive("blockSize", blockSize);
        int[] offsets = new int[cu.length];
        for (int b = 0; b < sequences(); b++) {
            offsets[b + 1] = offsets[b] + Math.ceilDiv(cu[b + 1] - cu[b], blockSize);   // ≤ total: no overflow
        }
        return offsets;
    }

    /** Σ_b nb_b, the block rows of a pooled tensor. */
    public int totalBlocks(int blockSize) {
        return cuBlocks(blockSize)[sequences()];
    }

    /**
     * Cumulative offsets of the block maps {@code [H, nb_b, nb_b]}: {@code cuMaps[b] = Σ_{b' < b} heads · nb_b'²},
     * computed in long.
     *
     * @throws IllegalArgumentException when a size is not positive or the maps exceed a Java array
     */
    public int[] cuMaps(int heads, int blockSize) {
        Checks.positive("heads", heads);
        Checks.positive("blockSize", blockSize);
        int[] offsets = new int[cu.length];
        long at = 0;
        for (int b = 0; b < sequences(); b++) {
            long nb = Math.ceilDiv(cu[b + 1] - cu[b], blockSize);
            try {
                at = Math.addExact(at, Math.multiplyExact(Math.multiplyExact(nb, nb), (long) heads));
            } catch (ArithmeticException overflow) {
                at = Long.MAX_VALUE;                      // refused just below, as any size beyond an array
            }
            offsets[b + 1] = Checks.arraySize("block maps Σ_b [heads, nb_b, nb_b] of " + sequences() + " sequences",
                    at);
        }
        return offsets;
    }

    /** Σ_b heads · nb_b², the elements of a packed block map (gate scores, pooled targets). */
    public int mapElements(int heads, int blockSize) {
        return cuMaps(heads, blockSize)[sequences()];
    }

    private int index(int b) {
        if (b < 0 || b >= sequences()) {
            throw new IndexOutOfBoundsException("sequence " + b + " is not in [0, B = " + sequences() + ")");
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VarlenBatch other && Arrays.equals(other.cu, cu);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(cu);
    }

    @Override
    public String toString() {
        return "VarlenBatch" + Arrays.toString(lengths());
    }
}
