package org.seerjava.reference;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * A prefill gate type: which pooling functions build the gate query and the gate key, named
 * {@code "Q" + qPools + "_K" + kPools}, e.g. {@code Qavg_Kmaxminavg}. Each pool list is a non-empty subset of
 * (max, min, avg) written in that order, so there are 7 × 7 = 49 gate types.
 *
 * @param qPools pooling functions of the gate query, in max-min-avg order
 * @param kPools pooling functions of the gate key, in max-min-avg order
 */
public record GateType(List<Pool> qPools, List<Pool> kPools) {

    /** The official default, {@code Qavg_Kmaxminavg}. */
    public static final GateType DEFAULT = parse("Qavg_Kmaxminavg");

    public GateType {
        qPools = checkOrdered("qPools", qPools);
        kPools = checkOrdered("kPools", kPools);
    }

    private static List<Pool> checkOrdered(String name, List<Pool> pools) {
        if (pools == null || pools.isEmpty()) {
            throw new IllegalArgumentException(name + " must name at least one of max, min, avg");
        }
        for (int i = 1; i < pools.size(); i++) {
            if (pools.get(i).ordinal() <= pools.get(i - 1).ordinal()) {
                throw new IllegalArgumentException(name + " must list distinct pools in max, min, avg order, got "
                        + pools);
            }
        }
        return List.copyOf(pools);
    }

    /** qdup, the number of query pooling functions. */
    public int qDup() {
        return qPools.size();
    }

    /** kdup, the number of key pooling functions. */
    public int kDup() {
        return kPools.size();
    }

    /** The official name, e.g. {@code Qavg_Kmaxminavg}. */
    public String name() {
        return "Q" + labels(qPools) + "_K" + labels(kPools);
    }

    @Override
    public String toString() {
        return name();
    }

    private static String labels(List<Pool> pools) {
        StringBuilder sb = new StringBuilder();
        for (Pool p : pools) {
            sb.append(p.label());
        }
        return sb.toString();
    }

    /**
     * Parses an official gate-type name.
     *
     * @throws IllegalArgumentException naming the gate type when it is not one of the 49 valid names
     */
    public static GateType parse(String name) {
        if (name == null) {
            throw new IllegalArgumentException("gate type must not be null");
        }
        int underscore = name.indexOf('_');
        if (!name.startsWith("Q") || underscore < 0 || !name.startsWith("K", underscore + 1)) {
            throw unknown(name);
        }
        List<Pool> q = parsePools(name, name.substring(1, underscore));
        List<Pool> k = parsePools(name, name.substring(underscore + 2));
        return new GateType(q, k);
    }

    private static List<Pool> parsePools(String full, String part) {
        List<Pool> pools = new ArrayList<>();
        int at = 0;
        int last = -1;
        while (at < part.length()) {
            Pool found = null;
            for (Pool p : Pool.values()) {
                if (part.startsWith(p.label(), at)) {
                    found = p;
                    break;
                }
            }
            if (found == null || found.ordinal() <= last) {
                throw unknown(full);
            }
            pools.add(found);
            last = found.ordinal();
            at += found.label().length();
        }
        if (pools.isEmpty()) {
            throw unknown(full);
        }
        return pools;
    }

    private static IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("unknown gate type '" + name
                + "': expected Q<pools>_K<pools> with pools a non-empty subset of max, min, avg in that order,"
                + " e.g. Qavg_Kmaxminavg");
    }

    /** All 49 valid gate types. */
    public static List<GateType> all() {
        List<List<Pool>> subsets = new ArrayList<>();
        for (int bits = 1; bits < 8; bits++) {
            EnumSet<Pool> set = EnumSet.noneOf(Pool.class);
            for (Pool p : Pool.values()) {
                if ((bits & (1 << p.ordinal())) != 0) {
                    set.add(p);
                }
            }
            subsets.add(List.copyOf(set));
        }
        List<GateType> all = new ArrayList<>();
        for (List<Pool> q : subsets) {
            for (List<Pool> k : subsets) {
                all.add(new GateType(q, k));
            }
        }
        return List.copyOf(all);
    }
}
