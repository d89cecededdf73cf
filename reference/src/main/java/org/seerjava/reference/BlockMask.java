package org.seerjava.reference;

import java.util.Arrays;

/**
 * A block mask {@code [batch, heads, blocks, blocks]}: entry (b, h, i, j) says whether query block i of head h
 * attends to key block j. Immutable; built by {@link BlockSelection} or from bytes (0/1, as the golden files
 * store them).
 */
public final class BlockMask {
    private final int batch;
    private final int heads;
    private final int blocks;
    private final byte[] bits;

    private BlockMask(int batch, int heads, int blocks, byte[] bits) {
        this.batch = batch;
        this.heads = heads;
        this.blocks = blocks;
        this.bits = bits;
    }

    /** A mask from 0/1 bytes laid out {@code [batch, heads, blocks, blocks]} (copied). */
    public static BlockMask of(int batch, int heads, int blocks, byte[] bits) {
        Checks.positive("mask batch", batch);
        Checks.positive("mask heads", heads);
        Checks.positive("mask blocks", blocks);
        if (bits == null || bits.length != (long) batch * heads * blocks * blocks) {
            throw new IllegalArgumentException("mask bits have " + (bits == null ? "null" : bits.length)
                    + " entries, expected batch·heads·blocks² = " + (long) batch * heads * blocks * blocks);
        }
        for (int i = 0; i < bits.length; i++) {
            if (bits[i] != 0 && bits[i] != 1) {
                throw new IllegalArgumentException("mask bits must be 0 or 1, found " + bits[i] + " at flat index " + i);
            }
        }
        return new BlockMask(batch, heads, blocks, bits.clone());
    }

    /** Wraps an array the caller hands over and never touches again. */
    static BlockMask adopt(int batch, int heads, int blocks, byte[] bits) {
        return new BlockMask(batch, heads, blocks, bits);
    }

    /** Every causal block (j ≤ i) kept: the dense causal pattern. */
    public static BlockMask causal(int batch, int heads, int blocks) {
        byte[] bits = new byte[Checks.arraySize("mask", (long) batch * heads * blocks * blocks)];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int i = 0; i < blocks; i++) {
                for (int j = 0; j <= i; j++) {
                    bits[(bh * blocks + i) * blocks + j] = 1;
                }
            }
        }
        return new BlockMask(batch, heads, blocks, bits);
    }

    public int batch() {
        return batch;
    }

    public int heads() {
        return heads;
    }

    public int blocks() {
        return blocks;
    }

    /** Whether query block {@code i} of (b, h) attends key block {@code j}. */
    public boolean keep(int b, int h, int i, int j) {
        return bits[((b * heads + h) * blocks + i) * blocks + j] != 0;
    }

    /** A copy of the 0/1 bytes. */
    public byte[] toBytes() {
        return bits.clone();
    }

    /** Number of kept blocks. */
    public long count() {
        long n = 0;
        for (byte bit : bits) {
            n += bit;
        }
        return n;
    }

    /**
     * Causal density: kept blocks / (batch · heads · nb(nb+1)/2), as the official profiler counts it
     * (docs/SPEC.md §3.5; assumes the mask is lower triangular).
     */
    public double density() {
        return count() / ((double) batch * heads * blocks * (blocks + 1) / 2.0);
    }

    /** Checks the mask matches the given dimensions. */
    public BlockMask requireShape(int batch, int heads, int blocks) {
        if (this.batch != batch || this.heads != heads || this.blocks != blocks) {
            throw new IllegalArgumentException("block mask is [" + this.batch + ", " + this.heads + ", " + this.blocks
                    + ", " + this.blocks + "], expected [" + batch + ", " + heads + ", " + blocks + ", " + blocks + "]");
        }
        return this;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockMask m && m.batch == batch && m.heads == heads && m.blocks == blocks
                && Arrays.equals(m.bits, bits);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bits) * 31 + blocks;
    }

    @Override
    public String toString() {
        return "BlockMask[" + batch + ", " + heads + ", " + blocks + ", " + blocks + "], density "
                + String.format("%.4f", density());
    }
}
