package org.seerjava.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code pattern} of a Split pre-tokenizer or a Replace normalizer/decoder: {@code {"String": s}} (a literal)
 * or {@code {"Regex": r}} (an Oniguruma pattern, see {@link OnigRegex}).
 *
 * <p>{@link #findMatches} cuts a string into consecutive ranges, each flagged as a match or not, as the library's
 * {@code Pattern::find_matches} does: leftmost non-overlapping matches, the gaps between them, and a single
 * non-match range {@code (0, 0)} for the empty string.
 */
final class SplitPattern {
    private final String literal;
    private final Pattern regex;
    private final String description;

    private SplitPattern(String literal, Pattern regex, String description) {
        this.literal = literal;
        this.regex = regex;
        this.description = description;
    }

    static SplitPattern literal(String s) {
        if (s.isEmpty()) {
            throw new IllegalArgumentException("an empty String pattern matches nothing sensible; not supported");
        }
        return new SplitPattern(s, null, "String " + OnigRegex.quote(s));
    }

    static SplitPattern regex(String onig) {
        if (onig.isEmpty()) {
            throw new IllegalArgumentException("an empty Regex pattern matches nothing sensible; not supported");
        }
        return new SplitPattern(null, OnigRegex.compile(onig), "Regex " + OnigRegex.quote(onig));
    }

    /**
     * Ranges of {@code s} as {@code [start0, end0, match0, start1, ...]} (match is 1 or 0), covering the string.
     */
    Ranges findMatches(String s) {
        Ranges r = new Ranges();
        if (s.isEmpty()) {
            r.add(0, 0, false);
            return r;
        }
        int prev = 0;
        if (literal != null) {
            int at = s.indexOf(literal);
            while (at >= 0) {
                if (prev != at) {
                    r.add(prev, at, false);
                }
                r.add(at, at + literal.length(), true);
                prev = at + literal.length();
                at = s.indexOf(literal, prev);
            }
        } else {
            // The iteration of the Rust onig crate: an empty match right where the previous match ended is skipped
            // (the search moves on by one character), any other empty match is reported.
            Matcher m = regex.matcher(s);
            int from = 0;
            int lastMatchEnd = -1;
            while (from <= s.length() && m.find(from)) {
                int start = m.start();
                int end = m.end();
                if (start == end && end == lastMatchEnd) {
                    if (end >= s.length()) {
                        break;
                    }
                    from = end + Character.charCount(s.codePointAt(end));
                    continue;
                }
                if (prev != start) {
                    r.add(prev, start, false);
                }
                r.add(start, end, true);
                prev = end;
                from = end;
                lastMatchEnd = end;
            }
        }
        if (prev != s.length()) {
            r.add(prev, s.length(), false);
        }
        return r;
    }

    /** Replaces every match in {@code s} with {@code content}. */
    String replaceAll(String s, String content) {
        if (literal != null) {
            return s.replace(literal, content);
        }
        Ranges r = findMatches(s);
        StringBuilder b = new StringBuilder(s.length());
        for (int k = 0; k < r.size(); k++) {
            if (r.match(k)) {
                b.append(content);
            } else {
                b.append(s, r.start(k), r.end(k));
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return description;
    }

    /** A growable list of (start, end, match) triples. */
    static final class Ranges {
        private int[] a = new int[24];
        private int size;

        void add(int start, int end, boolean match) {
            if (3 * size + 3 > a.length) {
                a = java.util.Arrays.copyOf(a, a.length * 2);
            }
            a[3 * size] = start;
            a[3 * size + 1] = end;
            a[3 * size + 2] = match ? 1 : 0;
            size++;
        }

        int size() {
            return size;
        }

        int start(int k) {
            return a[3 * k];
        }

        int end(int k) {
            return a[3 * k + 1];
        }

        boolean match(int k) {
            return a[3 * k + 2] != 0;
        }

        void set(int k, int start, int end, boolean match) {
            a[3 * k] = start;
            a[3 * k + 1] = end;
            a[3 * k + 2] = match ? 1 : 0;
        }
    }
}
