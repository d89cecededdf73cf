package org.seerjava.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Character and UTF-8 rules shared by the pipeline, written to match the Rust definitions the Hugging Face library
 * relies on (the JDK's own differ in places: {@link Character#isWhitespace} excludes U+00A0 and includes U+001C..1F,
 * and {@code new String(bytes, UTF_8)} is not specified to replace exactly the maximal invalid subsequences).
 */
final class Text {
    private Text() {
    }

    static final char REPLACEMENT = '\uFFFD';

    /**
     * Rust's {@code char::is_whitespace}: the Unicode White_Space property (U+0009..000D, U+0020, U+0085, U+00A0,
     * U+1680, U+2000..200A, U+2028, U+2029, U+202F, U+205F, U+3000).
     */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /**
     * The Rust {@code regex} crate's Unicode {@code \w}: Alphabetic, Mark, Decimal_Number, Connector_Punctuation and
     * Join_Control (used by added tokens marked {@code single_word}).
     */
    static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp) || cp == 0x200C || cp == 0x200D) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK || type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.CONNECTOR_PUNCTUATION;
    }

    /**
     * The text with every unpaired surrogate replaced by U+FFFD. Rust strings cannot hold unpaired surrogates (the
     * Python binding refuses them); replacing them is what a lossy UTF-16 to UTF-8 conversion does.
     */
    static String wellFormed(String s) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                i += 2;
            } else if (Character.isSurrogate(c)) {
                break;
            } else {
                i++;
            }
        }
        if (i == n) {
            return s;
        }
        StringBuilder b = new StringBuilder(n).append(s, 0, i);
        while (i < n) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(i + 1));
                i += 2;
            } else {
                b.append(Character.isSurrogate(c) ? REPLACEMENT : c);
                i++;
            }
        }
        return b.toString();
    }

    /** Whether {@code s} has no unpaired surrogate. */
    static boolean isWellFormed(String s) {
        return wellFormed(s) == s;
    }

    /** UTF-8 length of a well-formed string. */
    static int utf8Length(String s) {
        int len = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                len += 1;
            } else if (c < 0x800) {
                len += 2;
            } else if (Character.isHighSurrogate(c)) {
                len += 4;
                i++;
            } else {
                len += 3;
            }
        }
        return len;
    }

    /**
     * Rust's {@code String::from_utf8_lossy}: valid UTF-8 decoded, and each maximal subpart of an ill-formed sequence
     * (Unicode's recommended practice, chapter 3) replaced by one U+FFFD.
     */
    static String decodeLossy(byte[] b, int from, int to) {
        StringBuilder out = new StringBuilder(to - from);
        int i = from;
        while (i < to) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 == 0xE0) {
                need = 2;
                lo = 0xA0;
            } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
                need = 2;
            } else if (b0 == 0xED) {
                need = 2;
                hi = 0x9F;
            } else if (b0 == 0xF0) {
                need = 3;
                lo = 0x90;
            } else if (b0 >= 0xF1 && b0 <= 0xF3) {
                need = 3;
            } else if (b0 == 0xF4) {
                need = 3;
                hi = 0x8F;
            } else {
                out.append(REPLACEMENT);
                i++;
                continue;
            }
            int cp = b0 & (need == 1 ? 0x1F : need == 2 ? 0x0F : 0x07);
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++, j++) {
                int lower = k == 0 ? lo : 0x80;
                int upper = k == 0 ? hi : 0xBF;
                if (j >= to || (b[j] & 0xFF) < lower || (b[j] & 0xFF) > upper) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (b[j] & 0x3F);
            }
            if (ok) {
                out.appendCodePoint(cp);
                i = j;
            } else {
                out.append(REPLACEMENT); // the lead byte and the valid continuation bytes read so far
                i = j;
            }
        }
        return out.toString();
    }

    static String decodeLossy(byte[] b) {
        return decodeLossy(b, 0, b.length);
    }

    /** Rust's {@code String::from_utf8}: the text, or null when the bytes are not valid UTF-8. */
    static String decodeStrict(byte[] b, int from, int to) {
        String s = decodeLossy(b, from, to);
        // A lossy decoding equals the strict one unless a replacement was made; a genuine U+FFFD in the input is
        // EF BF BD, so compare byte lengths to tell the two apart.
        if (s.indexOf(REPLACEMENT) < 0) {
            return s;
        }
        byte[] round = s.getBytes(StandardCharsets.UTF_8);
        if (round.length != to - from) {
            return null;
        }
        for (int k = 0; k < round.length; k++) {
            if (round[k] != b[from + k]) {
                return null;
            }
        }
        return s;
    }

    /** A growable byte buffer without synchronization. */
    static final class Bytes extends ByteArrayOutputStream {
        Bytes(int size) {
            super(size);
        }

        byte[] array() {
            return buf;
        }
    }
}
