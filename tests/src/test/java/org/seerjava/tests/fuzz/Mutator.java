package org.seerjava.tests.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded mutations of file contents: byte-level (flips, interesting bytes, deletions, duplications, insertions,
 * truncation, little-endian length fields) and token-level for JSON text (numbers replaced by boundary values,
 * values replaced by other JSON types, keys dropped or duplicated). Each call applies one to four mutations.
 */
final class Mutator {
    /** Boundary numbers that break size arithmetic. */
    static final String[] NUMBERS = {"0", "-1", "1", "2", "63", "64", "65", "127", "128", "255", "256", "1024",
            "65535", "65536", "2147483647", "2147483648", "-2147483648", "4294967296", "4294967295",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999", "1e10",
            "1e308", "1e400", "-1e400", "0.5", "-0.0", "3.4028235e38", "NaN", "Infinity", "1.0", "7", "1e-45"};
    /** Values of other JSON types. */
    static final String[] VALUES = {"null", "true", "false", "\"\"", "\"x\"", "[]", "{}", "[1,2]", "{\"a\":1}",
            "\"F32\"", "\"BF16\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"F64\"", "\"llama3\"", "\"LlamaForCausalLM\"",
            "[\"LlamaForCausalLM\"]", "[0, 0]", "[0, 18446744073709551615]", "[2147483647, 2147483647]",
            "\"\\u0000\"", "\"\\ud800\""};
    private static final byte[] BYTES = {0, (byte) 0xFF, 0x7F, (byte) 0x80, '"', '{', '}', '[', ']', ',', ':', '-',
            '9', '0', '\\', ' ', (byte) 0xC3, (byte) 0xE9};
    private static final long[] LONGS = {0, 1, 7, 8, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, 1L << 32,
            100L << 20, (100L << 20) + 1, 1L << 62};

    private final SplittableRandom r;

    Mutator(SplittableRandom r) {
        this.r = r;
    }

    /** A byte-level mutation of {@code seed}. */
    byte[] bytes(byte[] seed) {
        byte[] b = seed.clone();
        int ops = 1 + r.nextInt(4);
        for (int op = 0; op < ops; op++) {
            if (b.length == 0) {
                b = new byte[] {(byte) r.nextInt(256)};
                continue;
            }
            int at = r.nextInt(b.length);
            switch (r.nextInt(9)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[at] = BYTES[r.nextInt(BYTES.length)];
                case 2 -> b[at] = (byte) r.nextInt(256);
                case 3 -> {                                     // delete a range
                    int len = 1 + r.nextInt(Math.min(16, b.length - at));
                    b = concat(Arrays.copyOf(b, at), Arrays.copyOfRange(b, at + len, b.length));
                }
                case 4 -> {                                     // duplicate a range
                    int len = 1 + r.nextInt(Math.min(32, b.length - at));
                    b = concat(Arrays.copyOf(b, at + len), Arrays.copyOfRange(b, at, b.length));
                }
                case 5 -> {                                     // insert random bytes
                    byte[] ins = new byte[1 + r.nextInt(8)];
                    r.nextBytes(ins);
                    b = concat(concat(Arrays.copyOf(b, at), ins), Arrays.copyOfRange(b, at, b.length));
                }
                case 6 -> b = Arrays.copyOf(b, at);            // truncate
                case 7 -> {                                     // a little-endian 64-bit field (the header length)
                    int pos = r.nextInt(4) == 0 ? 0 : at;
                    if (pos + 8 <= b.length) {
                        long v = r.nextBoolean() ? LONGS[r.nextInt(LONGS.length)]
                                : ByteBuffer.wrap(b, pos, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() + r.nextInt(-9, 10);
                        ByteBuffer.wrap(b, pos, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
                    }
                }
                default -> {                                    // text-level, when it looks like JSON
                    String text = new String(b, StandardCharsets.ISO_8859_1);
                    b = json(text).getBytes(StandardCharsets.ISO_8859_1);
                }
            }
        }
        return b;
    }

    /** A token-level mutation of JSON text (the result may no longer be JSON). */
    String json(String text) {
        String s = text;
        int ops = 1 + r.nextInt(3);
        for (int op = 0; op < ops; op++) {
            switch (r.nextInt(5)) {
                case 0, 1 -> s = replaceToken(s, "-?[0-9][0-9.eE+-]*", NUMBERS);
                case 2 -> s = replaceToken(s, "(?<=:\\s?)(\"[^\"]*\"|-?[0-9][0-9.eE+-]*|true|false|null|\\[[^\\[\\]{}]*\\])",
                        VALUES);
                case 3 -> s = dropKey(s);
                default -> s = s.isEmpty() ? s : s.substring(0, r.nextInt(s.length()));
            }
        }
        return s;
    }

    private String replaceToken(String s, String regex, String[] choices) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(regex).matcher(s);
        int count = 0;
        while (m.find()) {
            count++;
        }
        if (count == 0) {
            return s;
        }
        int pick = r.nextInt(count);
        m.reset();
        for (int i = 0; i <= pick; i++) {
            m.find();
        }
        return s.substring(0, m.start()) + choices[r.nextInt(choices.length)] + s.substring(m.end());
    }

    private String dropKey(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"[A-Za-z_.0-9]+\"\\s*:\\s*[^,{}\\[\\]]+,?").matcher(s);
        java.util.List<int[]> spans = new java.util.ArrayList<>();
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        if (spans.isEmpty()) {
            return s;
        }
        int[] span = spans.get(r.nextInt(spans.size()));
        return s.substring(0, span[0]) + s.substring(span[1]);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(a.length + b.length);
        out.writeBytes(a);
        out.writeBytes(b);
        return out.toByteArray();
    }
}
