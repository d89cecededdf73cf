package org.seerjava.tokenizer;

import java.util.List;
import java.util.Locale;

/**
 * A tokenizer.json {@code normalizer}: rewrites each piece of text that is not an added token before it is
 * pre-tokenized. Each implementation names the library component it reproduces.
 */
interface Normalizer {
    String normalize(String s);

    /** {@code NFC}, {@code NFD}, {@code NFKC}, {@code NFKD}: Unicode normalization forms. */
    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String normalize(String s) {
            return java.text.Normalizer.normalize(s, form);
        }
    }

    /**
     * {@code Lowercase}: every character replaced by its full lowercase mapping, one character at a time (Rust's
     * {@code char::to_lowercase}, so no context rule such as the final sigma applies).
     */
    record Lowercase() implements Normalizer {
        @Override
        public String normalize(String s) {
            StringBuilder b = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                int len = Character.charCount(cp);
                if (cp < 0x80) {
                    b.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
                } else {
                    b.append(s.substring(i, i + len).toLowerCase(Locale.ROOT));
                }
                i += len;
            }
            return b.toString();
        }
    }

    /** {@code Prepend}: the given text in front of a non-empty piece. */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String normalize(String s) {
            return s.isEmpty() ? s : prefix + s;
        }
    }

    /** {@code Replace}: every match of the pattern replaced by the content. */
    record Replace(SplitPattern pattern, String content) implements Normalizer {
        @Override
        public String normalize(String s) {
            return pattern.replaceAll(s, content);
        }
    }

    /** {@code Strip}: leading and/or trailing White_Space removed. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String s) {
            int from = 0;
            int to = s.length();
            if (left) {
                while (from < to && Text.isWhiteSpace(s.codePointAt(from))) {
                    from += Character.charCount(s.codePointAt(from));
                }
            }
            if (right) {
                while (to > from && Text.isWhiteSpace(s.codePointBefore(to))) {
                    to -= Character.charCount(s.codePointBefore(to));
                }
            }
            return s.substring(from, to);
        }
    }

    /** {@code Sequence}: the normalizers in order. */
    record Sequence(List<Normalizer> normalizers) implements Normalizer {
        @Override
        public String normalize(String s) {
            for (Normalizer n : normalizers) {
                s = n.normalize(s);
            }
            return s;
        }
    }
}
