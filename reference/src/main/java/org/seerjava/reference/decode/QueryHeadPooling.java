package org.seerjava.reference.decode;

/**
 * How the decode gate reduces the g query heads of a GQA group to one gate query per KV head (docs/SPEC.md §7.2,
 * {@code seerattn_q_head_pooling_type}). There is no pooling along the sequence: every query token has its own
 * gate query.
 */
public enum QueryHeadPooling {
    /**
     * {@code Qproj} (official default): concatenate the g heads of the group and project,
     * {@code Qg[kh, o] = Σ_{j<g} Σ_i q[kh·g + j, i] · W_q[kh, j, i, o]}, {@code W_q [Hkv, g, D, Dg]}.
     */
    QProj("Qproj"),
    /**
     * {@code Qavgproj}: average the g heads, then project,
     * {@code Qg[kh, o] = Σ_i (1/g · Σ_j q[kh·g + j, i]) · W_q[kh, i, o]}, {@code W_q [Hkv, D, Dg]}.
     */
    QAvgProj("Qavgproj"),
    /** {@code Qavg}: average the g heads, no linear ({@code Qg[kh, i] = 1/g · Σ_j q[kh·g + j, i]}; needs Dg = D). */
    QAvg("Qavg");

    private final String officialName;

    QueryHeadPooling(String officialName) {
        this.officialName = officialName;
    }

    /** The name used in the official configuration, e.g. {@code Qproj}. */
    public String officialName() {
        return officialName;
    }

    /** Whether a {@code W_q} weight exists. */
    public boolean hasLinear() {
        return this != QAvg;
    }

    /**
     * Parses an official name ({@code Qproj}, {@code Qavgproj}, {@code Qavg}).
     *
     * @throws IllegalArgumentException naming the value when it is none of them ({@code Qorig} is rejected, as the
     *                                  official constructor asserts)
     */
    public static QueryHeadPooling parse(String name) {
        for (QueryHeadPooling p : values()) {
            if (p.officialName.equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("seerattn_q_head_pooling_type must be one of Qproj, Qavgproj, Qavg, got '"
                + name + "'");
    }
}
