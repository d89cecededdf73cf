package org.seerjava.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's reversible map between the 256 byte values and 256 printable characters, used by byte-level BPE: bytes
 * {@code '!'..'~'}, {@code 0xA1..0xAC} and {@code 0xAE..0xFF} stand for themselves; the other 68 bytes (controls,
 * space, 0x7F..0xA0, 0xAD) take the characters U+0100, U+0101, ... in byte order (so the space is {@code Ġ}, U+0120,
 * and the newline {@code Ċ}, U+010A).
 */
final class ByteLevelAlphabet {
    private ByteLevelAlphabet() {
    }

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[324];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    /** The character standing for byte {@code b} (0..255). */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a character stands for, or -1 if it is not in the alphabet. */
    static int byteOf(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Every UTF-8 byte of {@code s} replaced by its character. */
    static String encode(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(out);
    }
}
