package org.seerjava.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A tokenizer.json {@code pre_tokenizer}: cuts each text piece into the words the model encodes separately (and, for
 * ByteLevel, maps their bytes to printable characters). Added-token pieces pass through untouched, and empty pieces
 * are dropped, as in the library's {@code PreTokenizedString::split}.
 */
interface PreTokenizer {
    /** Splits one text piece; the result may contain empty strings, which the caller drops. */
    void split(Piece piece, List<Piece> out);

    default List<Piece> apply(List<Piece> pieces) {
        List<Piece> out = new ArrayList<>(pieces.size() * 2);
        List<Piece> one = new ArrayList<>();
        for (Piece p : pieces) {
            if (p.isToken()) {
                out.add(p);
                continue;
            }
            one.clear();
            split(p, one);
            for (Piece q : one) {
                if (!q.text().isEmpty()) {
                    out.add(q);
                }
            }
        }
        return out;
    }

    /** How a Split treats the matched delimiters ({@code SplitDelimiterBehavior}). */
    enum Behavior {
        REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

        static Behavior parse(String name) {
            return switch (name) {
                case "Removed" -> REMOVED;
                case "Isolated" -> ISOLATED;
                case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> MERGED_WITH_NEXT;
                case "Contiguous" -> CONTIGUOUS;
                default -> throw new IllegalArgumentException("unknown Split behavior '" + name + "'");
            };
        }
    }

    /**
     * Splits {@code piece} at the pattern's matches with the behavior, as {@code NormalizedString::split}. A piece
     * other than the first inherits {@code atStart = false}: it begins after at least one character of the piece.
     */
    static void splitBy(Piece piece, SplitPattern pattern, boolean invert, Behavior behavior, List<Piece> out) {
        String s = piece.text();
        SplitPattern.Ranges m = pattern.findMatches(s);
        if (invert) {
            for (int k = 0; k < m.size(); k++) {
                m.set(k, m.start(k), m.end(k), !m.match(k));
            }
        }
        SplitPattern.Ranges r = new SplitPattern.Ranges(); // match flag here means "remove"
        switch (behavior) {
            case ISOLATED -> {
                for (int k = 0; k < m.size(); k++) {
                    r.add(m.start(k), m.end(k), false);
                }
            }
            case REMOVED -> r = m;
            case CONTIGUOUS -> {
                boolean previous = false;
                for (int k = 0; k < m.size(); k++) {
                    if (m.match(k) == previous && r.size() > 0) {
                        int last = r.size() - 1;
                        r.set(last, r.start(last), m.end(k), false);
                    } else {
                        r.add(m.start(k), m.end(k), false);
                    }
                    previous = m.match(k);
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                boolean previous = false;
                for (int k = 0; k < m.size(); k++) {
                    if (m.match(k) && !previous && r.size() > 0) {
                        int last = r.size() - 1;
                        r.set(last, r.start(last), m.end(k), false);
                    } else {
                        r.add(m.start(k), m.end(k), false);
                    }
                    previous = m.match(k);
                }
            }
            case MERGED_WITH_NEXT -> {
                // walk backwards, merging a match into the range that follows it, then restore the order
                SplitPattern.Ranges rev = new SplitPattern.Ranges();
                boolean previous = false;
                for (int k = m.size() - 1; k >= 0; k--) {
                    if (m.match(k) && !previous && rev.size() > 0) {
                        int last = rev.size() - 1;
                        rev.set(last, m.start(k), rev.end(last), false);
                    } else {
                        rev.add(m.start(k), m.end(k), false);
                    }
                    previous = m.match(k);
                }
                for (int k = rev.size() - 1; k >= 0; k--) {
                    r.add(rev.start(k), rev.end(k), false);
                }
            }
        }
        for (int k = 0; k < r.size(); k++) {
            if (!r.match(k)) {
                out.add(Piece.text(s.substring(r.start(k), r.end(k)), piece.atStart() && r.start(k) == 0));
            }
        }
    }

    /** {@code Split}: a pattern, a behavior and {@code invert}. */
    record Split(SplitPattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            splitBy(piece, pattern, invert, behavior, out);
        }
    }

    /**
     * {@code ByteLevel}: optionally a space in front of a piece not starting with one, optionally the GPT-2 split
     * regex (pieces isolated), then every UTF-8 byte of each piece replaced by its printable character.
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        static final String GPT2_REGEX =
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
        private static final SplitPattern GPT2 = SplitPattern.regex(GPT2_REGEX);

        @Override
        public void split(Piece piece, List<Piece> out) {
            Piece p = piece;
            if (addPrefixSpace && !p.text().startsWith(" ")) {
                p = Piece.text(" " + p.text(), p.atStart());
            }
            if (!useRegex) {
                out.add(Piece.text(ByteLevelAlphabet.encode(p.text()), p.atStart()));
                return;
            }
            List<Piece> words = new ArrayList<>();
            splitBy(p, GPT2, false, Behavior.ISOLATED, words);
            for (Piece w : words) {
                out.add(Piece.text(ByteLevelAlphabet.encode(w.text()), w.atStart()));
            }
        }
    }

    /**
     * {@code Metaspace}: spaces replaced by the replacement character (▁), the replacement prepended according to
     * the scheme ("always"; "first": only to the piece at the start of the input; "never") unless the piece already
     * starts with it, then, with {@code split}, a cut before every replacement character.
     */
    final class Metaspace implements PreTokenizer {
        private final String replacement;
        private final String prependScheme;
        private final boolean splitWords;
        private final SplitPattern delimiter;

        Metaspace(String replacement, String prependScheme, boolean splitWords) {
            this.replacement = replacement;
            this.prependScheme = prependScheme;
            this.splitWords = splitWords;
            this.delimiter = SplitPattern.literal(replacement);
        }

        String prependScheme() {
            return prependScheme;
        }

        @Override
        public void split(Piece piece, List<Piece> out) {
            String s = piece.text().replace(" ", replacement);
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> piece.atStart();
                default -> false;
            };
            if (prepend && !s.startsWith(replacement)) {
                s = replacement + s;
            }
            Piece p = Piece.text(s, piece.atStart());
            if (splitWords) {
                splitBy(p, delimiter, false, Behavior.MERGED_WITH_NEXT, out);
            } else {
                out.add(p);
            }
        }
    }

    /** {@code Sequence}: the pre-tokenizers in order, each on the pieces of the previous one. */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            List<Piece> pieces = List.of(piece);
            for (PreTokenizer step : steps) {
                pieces = step.apply(pieces);
            }
            out.addAll(pieces);
        }
    }
}
