package org.seerjava.tokenizer;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Translation of the regular expressions in a tokenizer.json (compiled by the Hugging Face library with Oniguruma,
 * Ruby syntax, UTF-8) into {@link java.util.regex.Pattern}s that match the same text.
 *
 * <p>Both engines are backtracking, leftmost-first, and agree on groups, look-around, atomic groups, possessive and
 * lazy quantifiers. What differs, and is therefore rewritten explicitly:
 * <ul>
 *   <li>{@code \s}: Oniguruma's Unicode whitespace (U+0009..000D, U+0085 and the Z categories, which together are the
 *       White_Space property) becomes {@code [\t\n\x0B\f\r\x85\p{Z}]}; Java's plain {@code \s} is ASCII only.</li>
 *   <li>{@code \d} becomes {@code \p{Nd}}; {@code \w} becomes {@code [\p{L}\p{M}\p{N}\p{Pc}]} (Oniguruma's Unicode
 *       word); {@code \h} (a hexadecimal digit in Oniguruma, horizontal space in Java) becomes {@code [0-9a-fA-F]};
 *       {@code \v} (vertical tab) becomes {@code \x0B}.</li>
 *   <li>{@code (?i)} becomes {@code (?iu)} so that case folding is Unicode-aware (the Llama 3 pattern's
 *       {@code (?i:'s|...)} then matches {@code 'S} and {@code 'ſ} as Oniguruma does); Oniguruma's {@code (?m)}
 *       (dot matches newline) becomes Java's {@code (?s)}.</li>
 *   <li>{@code \p{Name}}: general categories pass through (long names are shortened), scripts become
 *       {@code \p{IsScript}}, {@code \p{^X}} becomes {@code \P{X}}.</li>
 *   <li>{@code {,n}} becomes {@code {0,n}}; a brace that is not a quantifier is a literal.</li>
 *   <li>{@code .} matches anything but {@code \n} (the pattern is compiled with {@link Pattern#UNIX_LINES}).</li>
 * </ul>
 * Constructs whose meaning differs and that no known tokenizer uses ({@code ^}/{@code $} line anchors,
 * {@code \b}, {@code \K}, {@code \R}, {@code \X}, POSIX brackets, subexpression calls, other inline options) are
 * refused with an {@link IllegalArgumentException} naming them, rather than translated approximately.
 */
final class OnigRegex {
    private OnigRegex() {
    }

    /** White_Space as the content of a character class. */
    static final String SPACE = "\\t\\n\\x0B\\f\\r\\x85\\p{Z}";
    static final String DIGIT = "\\p{Nd}";
    static final String WORD = "\\p{L}\\p{M}\\p{N}\\p{Pc}";
    static final String HEX = "0-9a-fA-F";

    private static final Map<String, String> LONG_CATEGORY = Map.ofEntries(
            Map.entry("letter", "L"), Map.entry("casedletter", "LC"), Map.entry("uppercaseletter", "Lu"),
            Map.entry("lowercaseletter", "Ll"), Map.entry("titlecaseletter", "Lt"),
            Map.entry("modifierletter", "Lm"), Map.entry("otherletter", "Lo"), Map.entry("mark", "M"),
            Map.entry("combiningmark", "M"), Map.entry("nonspacingmark", "Mn"), Map.entry("spacingmark", "Mc"),
            Map.entry("enclosingmark", "Me"), Map.entry("number", "N"), Map.entry("decimalnumber", "Nd"),
            Map.entry("letternumber", "Nl"), Map.entry("othernumber", "No"), Map.entry("punctuation", "P"),
            Map.entry("connectorpunctuation", "Pc"), Map.entry("dashpunctuation", "Pd"),
            Map.entry("openpunctuation", "Ps"), Map.entry("closepunctuation", "Pe"),
            Map.entry("initialpunctuation", "Pi"), Map.entry("finalpunctuation", "Pf"),
            Map.entry("otherpunctuation", "Po"), Map.entry("symbol", "S"), Map.entry("mathsymbol", "Sm"),
            Map.entry("currencysymbol", "Sc"), Map.entry("modifiersymbol", "Sk"), Map.entry("othersymbol", "So"),
            Map.entry("separator", "Z"), Map.entry("spaceseparator", "Zs"), Map.entry("lineseparator", "Zl"),
            Map.entry("paragraphseparator", "Zp"), Map.entry("other", "C"), Map.entry("control", "Cc"),
            Map.entry("format", "Cf"), Map.entry("surrogate", "Cs"), Map.entry("privateuse", "Co"),
            Map.entry("unassigned", "Cn"));

    private static final java.util.Set<String> SHORT_CATEGORY = java.util.Set.of("L", "LC", "Lu", "Ll", "Lt", "Lm",
            "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S",
            "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co", "Cn");

    private static final Map<String, String> BINARY = Map.of("alphabetic", "IsAlphabetic", "whitespace",
            "IsWhite_Space", "ideographic", "IsIdeographic", "emoji", "IsEmoji");

    /** Compiles an Oniguruma pattern; the message of a refusal names the construct and the pattern. */
    static Pattern compile(String onig) {
        String java = translate(onig);
        try {
            return Pattern.compile(java, Pattern.UNIX_LINES);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("regex " + quote(onig) + " (translated to " + quote(java)
                    + ") does not compile: " + e.getDescription(), e);
        }
    }

    static String translate(String p) {
        StringBuilder out = new StringBuilder(p.length() + 32);
        int depth = 0; // character-class nesting
        int i = 0;
        int n = p.length();
        while (i < n) {
            char c = p.charAt(i);
            if (c == '\\') {
                if (i + 1 >= n) {
                    throw refuse(p, "a trailing backslash");
                }
                i = escape(p, i + 1, depth > 0, out);
                continue;
            }
            if (c == '[') {
                if (i + 1 < n && p.charAt(i + 1) == ':') {
                    throw refuse(p, "a POSIX bracket expression [:...:]");
                }
                depth++;
                out.append('[');
                i++;
                if (i < n && p.charAt(i) == '^') {
                    out.append('^');
                    i++;
                }
                if (i < n && p.charAt(i) == ']') { // a ']' first in a class is a literal
                    out.append("\\]");
                    i++;
                }
                continue;
            }
            if (depth > 0) {
                if (c == ']') {
                    depth--;
                    out.append(']');
                } else if (c == '&' && i + 1 < n && p.charAt(i + 1) == '&') {
                    out.append("&&");
                    i++;
                } else if (c == '[' || c == '&') {
                    out.append('\\').append(c);
                } else {
                    out.append(c);
                }
                i++;
                continue;
            }
            switch (c) {
                case '(' -> i = group(p, i, out);
                case '{' -> i = brace(p, i, out);
                case '^', '$' -> throw refuse(p, "the line anchor '" + c + "'");
                default -> {
                    out.append(c);
                    i++;
                }
            }
        }
        if (depth != 0) {
            throw refuse(p, "an unclosed character class");
        }
        return out.toString();
    }

    /** Translates the escape whose letter is at {@code i}; returns the index after it. */
    private static int escape(String p, int i, boolean inClass, StringBuilder out) {
        char c = p.charAt(i);
        switch (c) {
            case 's' -> cls(SPACE, false, inClass, out);
            case 'S' -> cls(SPACE, true, inClass, out);
            case 'd' -> cls(DIGIT, false, inClass, out);
            case 'D' -> cls(DIGIT, true, inClass, out);
            case 'w' -> cls(WORD, false, inClass, out);
            case 'W' -> cls(WORD, true, inClass, out);
            case 'h' -> cls(HEX, false, inClass, out);
            case 'H' -> cls(HEX, true, inClass, out);
            case 'v' -> out.append("\\x0B");
            case 't', 'n', 'r', 'f', 'e', 'a' -> out.append('\\').append(c);
            case 'p', 'P' -> {
                return property(p, i, c == 'P', out);
            }
            case 'x' -> {
                int j = i + 1;
                if (j < p.length() && p.charAt(j) == '{') {
                    int close = p.indexOf('}', j);
                    if (close < 0) {
                        throw refuse(p, "an unterminated \\x{...}");
                    }
                    out.append(p, i - 1, close + 1);
                    return close + 1;
                }
                int end = j;
                while (end < p.length() && end < j + 2 && isHex(p.charAt(end))) {
                    end++;
                }
                if (end == j) {
                    throw refuse(p, "\\x without hexadecimal digits");
                }
                out.append("\\x{").append(p, j, end).append('}');
                return end;
            }
            case 'u' -> {
                int end = i + 1;
                while (end < p.length() && end < i + 5 && isHex(p.charAt(end))) {
                    end++;
                }
                if (end != i + 5) {
                    throw refuse(p, "\\u without four hexadecimal digits");
                }
                out.append(p, i - 1, end);
                return end;
            }
            case 'A', 'z' -> {
                if (inClass) {
                    throw refuse(p, "\\" + c + " inside a character class");
                }
                out.append('\\').append(c);
            }
            default -> {
                if (c >= '1' && c <= '9' && !inClass) {
                    out.append('\\').append(c); // back-reference
                } else if (Character.isLetterOrDigit(c)) {
                    throw refuse(p, "the escape \\" + c);
                } else {
                    out.append('\\').append(c); // an escaped literal: \. \( \\ \' ...
                }
            }
        }
        return i + 1;
    }

    private static void cls(String content, boolean negate, boolean inClass, StringBuilder out) {
        if (inClass && !negate) {
            out.append(content);
        } else {
            out.append(negate ? "[^" : "[").append(content).append(']');
        }
    }

    private static int property(String p, int i, boolean negate, StringBuilder out) {
        int j = i + 1;
        String name;
        int next;
        if (j < p.length() && p.charAt(j) == '{') {
            int close = p.indexOf('}', j);
            if (close < 0) {
                throw refuse(p, "an unterminated \\p{...}");
            }
            name = p.substring(j + 1, close);
            next = close + 1;
        } else if (j < p.length()) {
            name = String.valueOf(p.charAt(j));
            next = j + 1;
        } else {
            throw refuse(p, "a \\p without a property name");
        }
        if (name.startsWith("^")) {
            negate = !negate;
            name = name.substring(1);
        }
        out.append(negate ? "\\P{" : "\\p{").append(javaProperty(p, name)).append('}');
        return next;
    }

    private static String javaProperty(String p, String name) {
        if (SHORT_CATEGORY.contains(name)) {
            return name;
        }
        String key = name.toLowerCase(Locale.ROOT).replace("_", "").replace(" ", "").replace("-", "");
        String category = LONG_CATEGORY.get(key);
        if (category != null) {
            return category;
        }
        for (String shortName : SHORT_CATEGORY) {
            if (shortName.toLowerCase(Locale.ROOT).equals(key)) {
                return shortName;
            }
        }
        String binary = BINARY.get(key);
        if (binary != null) {
            return binary;
        }
        try {
            Character.UnicodeScript script = Character.UnicodeScript.forName(name.replace(' ', '_'));
            return "Is" + script.name();
        } catch (IllegalArgumentException notAScript) {
            throw refuse(p, "the Unicode property \\p{" + name + "}");
        }
    }

    /** A group opening at {@code i}; returns the index after what was copied. */
    private static int group(String p, int i, StringBuilder out) {
        int n = p.length();
        if (i + 1 >= n || p.charAt(i + 1) != '?') {
            out.append('(');
            return i + 1;
        }
        int j = i + 2;
        if (j >= n) {
            throw refuse(p, "an unterminated group");
        }
        char k = p.charAt(j);
        if (k == ':' || k == '=' || k == '!' || k == '>') {
            out.append("(?").append(k);
            return j + 1;
        }
        if (k == '<') {
            if (j + 1 < n && (p.charAt(j + 1) == '=' || p.charAt(j + 1) == '!')) {
                out.append("(?<").append(p.charAt(j + 1));
                return j + 2;
            }
            int close = p.indexOf('>', j);
            if (close < 0) {
                throw refuse(p, "an unterminated group name");
            }
            String name = p.substring(j + 1, close);
            if (!name.matches("[A-Za-z][A-Za-z0-9]*")) {
                throw refuse(p, "the group name '" + name + "'");
            }
            out.append(p, i, close + 1);
            return close + 1;
        }
        // inline options: (?imx-imx) or (?imx-imx:...)
        StringBuilder flags = new StringBuilder();
        while (j < n && p.charAt(j) != ')' && p.charAt(j) != ':') {
            char f = p.charAt(j);
            switch (f) {
                case 'i' -> flags.append("iu");
                case 'm' -> flags.append('s');
                case 'x' -> flags.append('x');
                case '-' -> flags.append('-');
                default -> throw refuse(p, "the inline option '" + f + "' in (?" + p.substring(i + 2, j + 1));
            }
            j++;
        }
        if (j >= n) {
            throw refuse(p, "an unterminated inline option group");
        }
        out.append("(?").append(flags).append(p.charAt(j));
        return j + 1;
    }

    /** A '{' outside a class: an interval quantifier, Oniguruma's {,n}, or a literal brace. */
    private static int brace(String p, int i, StringBuilder out) {
        int close = p.indexOf('}', i);
        if (close > i) {
            String body = p.substring(i + 1, close);
            if (body.matches("\\d+") || body.matches("\\d+,\\d*")) {
                out.append(p, i, close + 1);
                return close + 1;
            }
            if (body.matches(",\\d+")) {
                out.append("{0").append(body).append('}');
                return close + 1;
            }
        }
        out.append("\\{");
        return i + 1;
    }

    private static boolean isHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static IllegalArgumentException refuse(String p, String what) {
        return new IllegalArgumentException("regex " + quote(p) + " uses " + what
                + ", which Oniguruma and java.util.regex do not read alike; not supported");
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '"' -> b.append("\\\"");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
