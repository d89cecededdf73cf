package org.seerjava.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code added_tokens} of a tokenizer.json: strings matched in the text before the model sees it (special tokens
 * such as {@code <|begin_of_text|>} or {@code <s>}, and any tokens added after training).
 *
 * <p>Matching follows the library's {@code AddedVocabulary::extract_and_normalize}: first the tokens with
 * {@code normalized: false} are found in the raw text (leftmost-longest, non-overlapping); then each remaining text
 * piece is normalized and the tokens with {@code normalized: true} are found in it (matched against their own
 * normalized form). A match is dropped if the token is {@code single_word} and a word character touches it; it
 * swallows the whitespace on its left with {@code lstrip} and on its right with {@code rstrip}.
 */
final class AddedVocabulary {
    private static final System.Logger LOG = System.getLogger(AddedVocabulary.class.getName());

    /** One entry of {@code added_tokens}. */
    record AddedToken(String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized,
                      boolean special) {
    }

    private final Map<String, Integer> contentToId = new HashMap<>();
    private final Map<Integer, AddedToken> idToToken = new LinkedHashMap<>();
    private final Map<Integer, String> normalizedForm = new HashMap<>();
    private final Set<String> specialContents = new HashSet<>();
    private final Trie rawTrie;
    private final Trie normalizedTrie;
    private final Normalizer normalizer;

    /**
     * Adds the tokens as the library does on load ({@code AddedVocabulary::add_tokens}): a token already in the
     * model's vocabulary keeps that id, others take ids from the model's vocabulary size upwards, in file order. The
     * {@code id} written in the file is not used: where it differs, the library logs a warning and keeps its own
     * assignment, and so does this class ({@link System.Logger} warning).
     *
     * @param fileIds the {@code id} of each token as written in the file
     */
    AddedVocabulary(List<AddedToken> tokens, int[] fileIds, BpeModel model, Normalizer normalizer) {
        this.normalizer = normalizer;
        int nextId = model.size();
        for (int k = 0; k < tokens.size(); k++) {
            AddedToken t = tokens.get(k);
            if (t.content().isEmpty()) {
                continue;
            }
            if (!Text.isWellFormed(t.content())) {
                throw new IllegalArgumentException("added token " + k + " has an unpaired surrogate");
            }
            Integer existing = contentToId.get(t.content());
            if (existing != null && t.equals(idToToken.get(existing))) {
                continue;
            }
            int id;
            if (existing != null) {
                id = existing;
            } else if (model.tokenToId(t.content()) != null) {
                id = model.tokenToId(t.content());
            } else {
                id = nextId++;
            }
            if (id != fileIds[k]) {
                LOG.log(System.Logger.Level.WARNING, "added token " + OnigRegex.quote(t.content()) + " has id "
                        + fileIds[k] + " in tokenizer.json but gets id " + id + ", as in the Hugging Face library "
                        + "(added tokens not in the model's vocab take ids from the vocab size, " + model.size()
                        + ", upwards in file order)");
            }
            if (t.normalized() && normalizer != null) {
                String normed = normalizer.normalize(t.content());
                if (!normed.equals(t.content())) {
                    normalizedForm.put(id, normed);
                }
            }
            contentToId.put(t.content(), id);
            if (t.special()) {
                specialContents.add(t.content());
            }
            idToToken.put(id, t);
        }
        Trie raw = new Trie();
        Trie norm = new Trie();
        for (Map.Entry<Integer, AddedToken> e : idToToken.entrySet()) {
            AddedToken t = e.getValue();
            if (t.normalized()) {
                norm.add(normalizedForm.getOrDefault(e.getKey(), t.content()), e.getKey());
            } else {
                raw.add(t.content(), e.getKey());
            }
        }
        this.rawTrie = raw.isEmpty() ? null : raw;
        this.normalizedTrie = norm.isEmpty() ? null : norm;
    }

    Integer tokenToId(String content) {
        return contentToId.get(content);
    }

    /** The added token's string for decoding: its normalized form when it has one, else its content. */
    String idToToken(int id) {
        AddedToken t = idToToken.get(id);
        return t == null ? null : normalizedForm.getOrDefault(id, t.content());
    }

    AddedToken token(int id) {
        return idToToken.get(id);
    }

    boolean isSpecial(String content) {
        return specialContents.contains(content);
    }

    Map<Integer, AddedToken> tokens() {
        return java.util.Collections.unmodifiableMap(idToToken);
    }

    boolean anyNormalized() {
        return normalizedTrie != null;
    }

    /** How many contents are also in the model's vocabulary (for the vocabulary size). */
    int overlapWith(BpeModel model) {
        int n = 0;
        for (String c : contentToId.keySet()) {
            if (model.tokenToId(c) != null) {
                n++;
            }
        }
        return n;
    }

    int size() {
        return contentToId.size();
    }

    /** The text cut into added-token pieces and normalized text pieces (non-empty). */
    List<Piece> extractAndNormalize(String text) {
        List<Piece> first = new ArrayList<>();
        split(Piece.text(text, true), rawTrie, first);
        List<Piece> out = new ArrayList<>(first.size() + 4);
        for (Piece p : first) {
            if (p.isToken()) {
                out.add(p);
                continue;
            }
            String normed = normalizer == null ? p.text() : normalizer.normalize(p.text());
            split(Piece.text(normed, p.atStart()), normalizedTrie, out);
        }
        return out;
    }

    /** {@code split_with_indices} over {@code find_matches}; empty pieces are dropped. */
    private void split(Piece piece, Trie trie, List<Piece> out) {
        String s = piece.text();
        if (s.isEmpty()) {
            return;
        }
        if (trie == null) {
            out.add(piece);
            return;
        }
        int startOffset = 0;
        int n = s.length();
        int i = 0;
        while (i < n) {
            long m = trie.longestAt(s, i);
            if (m < 0) {
                i++;
                continue;
            }
            int start = i;
            int stop = i + (int) (m >>> 32);
            int id = (int) m;
            i = stop; // the underlying iteration resumes after the raw match, whatever is done with it below
            AddedToken t = idToToken.get(id);
            if (t.singleWord()) {
                boolean startSpace = start == 0 || !Text.isWordChar(s.codePointBefore(start));
                boolean stopSpace = stop == n || !Text.isWordChar(s.codePointAt(stop));
                if (!startSpace || !stopSpace) {
                    continue;
                }
            }
            if (t.lstrip()) {
                int newStart = start;
                while (newStart > 0 && Text.isWhiteSpace(s.codePointBefore(newStart))) {
                    newStart -= Character.charCount(s.codePointBefore(newStart));
                }
                start = Math.max(newStart, startOffset);
            }
            if (t.rstrip()) {
                while (stop < n && Text.isWhiteSpace(s.codePointAt(stop))) {
                    stop += Character.charCount(s.codePointAt(stop));
                }
            }
            if (startOffset < start) {
                out.add(Piece.text(s.substring(startOffset, start), piece.atStart() && startOffset == 0));
            }
            out.add(new Piece(s.substring(start, stop), id, piece.atStart() && start == 0));
            startOffset = stop;
        }
        if (startOffset != n) {
            out.add(Piece.text(s.substring(startOffset), piece.atStart() && startOffset == 0));
        }
    }

    /** A character trie answering "the longest token starting here". */
    private static final class Trie {
        private final Node root = new Node();
        private boolean empty = true;

        private static final class Node {
            final Map<Character, Node> next = new HashMap<>(4);
            int id = -1;
        }

        void add(String s, int id) {
            Node node = root;
            for (int i = 0; i < s.length(); i++) {
                node = node.next.computeIfAbsent(s.charAt(i), c -> new Node());
            }
            if (node.id >= 0 && node.id != id) {
                throw new IllegalArgumentException("two added tokens match the same text " + OnigRegex.quote(s)
                        + " (ids " + node.id + " and " + id + ")");
            }
            node.id = id;
            empty = false;
        }

        boolean isEmpty() {
            return empty;
        }

        /** (length << 32 | id) of the longest token at {@code from}, or -1. */
        long longestAt(String s, int from) {
            Node node = root;
            long best = -1;
            for (int i = from; i < s.length(); i++) {
                node = node.next.get(s.charAt(i));
                if (node == null) {
                    break;
                }
                if (node.id >= 0) {
                    best = ((long) (i + 1 - from) << 32) | node.id;
                }
            }
            return best;
        }
    }
}
