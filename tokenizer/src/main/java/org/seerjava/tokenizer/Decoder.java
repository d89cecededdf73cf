package org.seerjava.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A tokenizer.json {@code decoder}: turns the token strings of some ids back into text. As in the library, each
 * decoder maps a list of strings to a list of strings ({@code decode_chain}); the final text is their
 * concatenation.
 */
interface Decoder {
    List<String> decodeChain(List<String> tokens);

    default String decode(List<String> tokens) {
        return String.join("", decodeChain(tokens));
    }

    /**
     * {@code ByteLevel}: each token's characters mapped back to bytes (a token with a character outside the byte
     * alphabet contributes its own UTF-8 bytes), then all bytes decoded as UTF-8, invalid sequences replaced by
     * U+FFFD.
     */
    record ByteLevel() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            Text.Bytes bytes = new Text.Bytes(64);
            for (String t : tokens) {
                boolean all = true;
                for (int i = 0; i < t.length() && all; i++) {
                    all = ByteLevelAlphabet.byteOf(t.charAt(i)) >= 0;
                }
                if (all) {
                    for (int i = 0; i < t.length(); i++) {
                        bytes.write(ByteLevelAlphabet.byteOf(t.charAt(i)));
                    }
                } else {
                    bytes.writeBytes(t.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            return List.of(Text.decodeLossy(bytes.array(), 0, bytes.size()));
        }
    }

    /**
     * {@code ByteFallback}: runs of {@code <0xNN>} tokens become the text of their bytes; a run that is not valid
     * UTF-8 becomes one U+FFFD per byte.
     */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            Text.Bytes run = new Text.Bytes(16);
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    run.write(b);
                    continue;
                }
                flush(run, out);
                out.add(t);
            }
            flush(run, out);
            return out;
        }

        private static void flush(Text.Bytes run, List<String> out) {
            if (run.size() == 0) {
                return;
            }
            String s = Text.decodeStrict(run.array(), 0, run.size());
            if (s != null) {
                out.add(s);
            } else {
                for (int k = 0; k < run.size(); k++) {
                    out.add(String.valueOf(Text.REPLACEMENT));
                }
            }
            run.reset();
        }

        /**
         * The byte of a token of 6 UTF-8 bytes that reads {@code <0x..>}, parsed as Rust's
         * {@code u8::from_str_radix(_, 16)} (so "+F" is 15), or -1.
         */
        static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') {
                return -1;
            }
            char h = t.charAt(3);
            char l = t.charAt(4);
            if (h == '+') {
                return Character.digit(l, 16) >= 0 && l < 0x80 ? Character.digit(l, 16) : -1;
            }
            int hi = h < 0x80 ? Character.digit(h, 16) : -1;
            int lo = l < 0x80 ? Character.digit(l, 16) : -1;
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }

    /** {@code Fuse}: all tokens joined into one. */
    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /**
     * {@code Strip}: from each token, up to {@code start} leading and {@code stop} trailing occurrences of the
     * content character removed.
     */
    record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int startCut = 0;
                for (int i = 0; i < Math.min(start, cps.length); i++) {
                    if (cps[i] != content) {
                        break;
                    }
                    startCut = i + 1;
                }
                int stopCut = cps.length;
                for (int i = 0; i < stop; i++) {
                    int index = cps.length - i - 1;
                    if (index < 0) {
                        throw new IllegalStateException("the Strip decoder cannot strip " + stop
                                + " characters from a token of " + cps.length);
                    }
                    if (cps[index] != content) {
                        break;
                    }
                    stopCut = index;
                }
                out.add(startCut >= stopCut ? "" : new String(cps, startCut, stopCut - startCut));
            }
            return out;
        }
    }

    /** {@code Replace}: in each token, every match of the pattern replaced by the content. */
    record Replace(SplitPattern pattern, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                out.add(pattern.replaceAll(t, content));
            }
            return out;
        }
    }

    /**
     * {@code Metaspace}: the replacement character becomes a space, except in the first token when the prepend
     * scheme is not "never", where it is removed.
     */
    record Metaspace(int replacement, boolean dropInFirst) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int k = 0; k < tokens.size(); k++) {
                StringBuilder b = new StringBuilder();
                String t = tokens.get(k);
                for (int i = 0; i < t.length(); ) {
                    int cp = t.codePointAt(i);
                    i += Character.charCount(cp);
                    if (cp == replacement) {
                        if (!(k == 0 && dropInFirst)) {
                            b.append(' ');
                        }
                    } else {
                        b.appendCodePoint(cp);
                    }
                }
                out.add(b.toString());
            }
            return out;
        }
    }

    /** {@code Sequence}: the decoders in order, each on the list of the previous one. */
    record Sequence(List<Decoder> decoders) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder d : decoders) {
                tokens = d.decodeChain(tokens);
            }
            return tokens;
        }
    }
}
