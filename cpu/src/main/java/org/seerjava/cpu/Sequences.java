package org.seerjava.cpu;

import java.util.Arrays;
import org.seerjava.reference.Checks;
import org.seerjava.reference.VarlenBatch;

/**
 * The sequences of one call of a CPU kernel: sequence s holds the token rows {@code [start[s], start[s+1])} of the
 * packed inputs and the block rows {@code [blockStart[s], blockStart[s+1])} of the block tensors (docs/SPEC.md §11). A
 * batch {@code [B, N, …]} is B sequences of N tokens and a varlen batch has its own offsets, so every kernel has one
 * code path for both, and a varlen call is one parallel region over every sequence's work.
 *
 * @param start      cumulative token offsets, B + 1 entries
 * @param blockStart cumulative block offsets, B + 1 entries
 * @param blockSize  bs
 * @param maxLength  the longest sequence's tokens
 */
record Sequences(int[] start, int[] blockStart, int blockSize, int maxLength) {

    /** B sequences of {@code n} tokens each. */
    static Sequences uniform(int batch, int n, int blockSize) {
        int nb = Math.ceilDiv(n, blockSize);
        int[] start = new int[batch + 1];
        int[] blocks = new int[batch + 1];
        for (int b = 0; b < batch; b++) {
            start[b + 1] = start[b] + n;
            blocks[b + 1] = blocks[b] + nb;
        }
        return new Sequences(start, blocks, blockSize, n);
    }

    /** The sequences of a varlen batch. */
    static Sequences of(VarlenBatch batch, int blockSize) {
        return new Sequences(batch.cuSeqLens(), batch.cuBlocks(blockSize), blockSize, batch.maxLength());
    }

    /** B. */
    int count() {
        return start.length - 1;
    }

    /** The first token row of sequence s. */
    int start(int s) {
        return start[s];
    }

    /** N_s. */
    int length(int s) {
        return start[s + 1] - start[s];
    }

    /** The first block row of sequence s. */
    int blockStart(int s) {
        return blockStart[s];
    }

    /** nb_s. */
    int blocks(int s) {
        return blockStart[s + 1] - blockStart[s];
    }

    /** Σ N_s. */
    int total() {
        return start[count()];
    }

    /** Σ nb_s. */
    int totalBlocks() {
        return blockStart[count()];
    }

    /** The largest nb_s. */
    int maxBlocks() {
        return Math.ceilDiv(maxLength, blockSize);
    }

    /** The sequence that block row {@code block} belongs to. */
    int sequenceOfBlock(int block) {
        int at = Arrays.binarySearch(blockStart, 0, count(), block);
        if (at >= 0) {
            return at;                    // the sequence's first block (block offsets are strictly increasing)
        }
        return -at - 2;                   // the sequence whose first block is the largest one before it
    }

    /** Cumulative offsets of per-sequence maps {@code [heads, nb_s, nb_s]} (B + 1 entries). */
    int[] mapStart(int heads) {
        int[] offsets = new int[count() + 1];
        long at = 0;
        for (int s = 0; s < count(); s++) {
            at += (long) heads * blocks(s) * blocks(s);
            offsets[s + 1] = Checks.arraySize("block maps", at);
        }
        return offsets;
    }
}
