package org.seerjava.reference;

/**
 * A pooling function applied per block along the sequence axis. The declaration order (max, min, avg) is the
 * order in which pooled features are concatenated and in which they must appear in a gate-type name.
 */
public enum Pool {
    /** Maximum over the block's real tokens. */
    MAX("max"),
    /** Minimum over the block's real tokens. */
    MIN("min"),
    /** Mean over the block's real tokens (a partial last block divides by its real token count). */
    AVG("avg");

    private final String label;

    Pool(String label) {
        this.label = label;
    }

    /** The lower-case name used in gate-type strings. */
    public String label() {
        return label;
    }
}
