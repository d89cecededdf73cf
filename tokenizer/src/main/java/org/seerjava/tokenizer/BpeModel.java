package org.seerjava.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code BPE} model: a word (one pre-tokenized piece) becomes a sequence of vocabulary ids.
 *
 * <p>The word starts as one symbol per character (a character missing from the vocabulary becomes its UTF-8 bytes'
 * {@code <0xNN>} tokens with {@code byte_fallback}, else the unknown token, consecutive unknowns fused into one with
 * {@code fuse_unk}, else it is dropped). Then, repeatedly, the adjacent pair whose merge has the lowest rank (the
 * merge's index in {@code merges}) is replaced by the merged token; among equal ranks the leftmost goes first. With
 * {@code ignore_merges} a word that is itself in the vocabulary is one token without merging.
 *
 * <p>The merge loop is the library's ({@code Word::merge_all}): a min-heap of (rank, position) candidates, where a
 * popped candidate is applied if the pair now at that position still merges into the same token. Being
 * exact matters here: the heap-and-recheck order can differ from a textbook "merge the best pair everywhere" loop
 * when two different pairs merge into the same token.
 */
final class BpeModel {
    /** The library caches words shorter than this many UTF-8 bytes, up to {@link #CACHE_CAPACITY} of them. */
    private static final int CACHE_MAX_BYTES = 256;
    private static final int CACHE_CAPACITY = 10_000;

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final LongLongMap merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final int[] byteIds = new int[256];
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs of token strings, in rank order
     * @param unkToken the unknown token, or null
     */
    BpeModel(Map<String, Integer> vocab, String[][] merges, String unkToken, boolean fuseUnk, boolean byteFallback,
             boolean ignoreMerges) {
        this.vocab = vocab;
        int maxId = -1;
        for (int id : vocab.values()) {
            if (id < 0) {
                throw new IllegalArgumentException("vocab has a negative id " + id);
            }
            maxId = Math.max(maxId, id);
        }
        if (maxId >= 16 * Math.max(vocab.size(), 1024)) {
            throw new IllegalArgumentException("vocab ids are too sparse: " + vocab.size() + " tokens, largest id "
                    + maxId);
        }
        this.idToToken = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            idToToken[e.getValue()] = e.getKey();
        }
        this.merges = new LongLongMap(Math.max(16, merges.length * 2));
        for (int rank = 0; rank < merges.length; rank++) {
            String a = merges[rank][0];
            String b = merges[rank][1];
            Integer ia = vocab.get(a);
            Integer ib = vocab.get(b);
            Integer merged = vocab.get(a + b);
            if (ia == null || ib == null || merged == null) {
                String missing = ia == null ? a : ib == null ? b : a + b;
                throw new IllegalArgumentException("merge " + rank + " (" + OnigRegex.quote(a) + " "
                        + OnigRegex.quote(b) + ") uses " + OnigRegex.quote(missing) + ", which is not in the vocab");
            }
            this.merges.put(pair(ia, ib), ((long) rank << 32) | merged);
        }
        if (unkToken != null) {
            Integer id = vocab.get(unkToken);
            if (id == null) {
                throw new IllegalArgumentException("unk_token " + OnigRegex.quote(unkToken)
                        + " is not in the vocab");
            }
            this.unkId = id;
        } else {
            this.unkId = -1;
        }
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            byteIds[b] = id == null ? -1 : id;
        }
    }

    int size() {
        return vocab.size();
    }

    Integer tokenToId(String token) {
        return vocab.get(token);
    }

    String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    boolean byteFallback() {
        return byteFallback;
    }

    int maxId() {
        return idToToken.length - 1;
    }

    /** Appends the ids of one word (a non-empty pre-tokenized piece). */
    void tokenize(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) {
                out.add(id);
                return;
            }
        }
        int[] cached = cache.get(word);
        if (cached == null) {
            cached = mergeWord(word);
            if (cache.size() < CACHE_CAPACITY && word.length() < CACHE_MAX_BYTES
                    && Text.utf8Length(word) < CACHE_MAX_BYTES) {
                cache.putIfAbsent(word, cached);
            }
        }
        out.addAll(cached);
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** {@code BPE::merge_word} followed by {@code Word::merge_all}. */
    private int[] mergeWord(String w) {
        Symbols word = new Symbols(w.length());
        int pendingUnkLen = -1; // byte length of the pending unknown, -1 when none
        for (int i = 0; i < w.length(); ) {
            int cp = w.codePointAt(i);
            int charLen = Character.charCount(cp);
            String s = w.substring(i, i + charLen);
            i += charLen;
            int byteLen = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            Integer id = vocab.get(s);
            if (id != null) {
                if (pendingUnkLen >= 0) {
                    word.add(unkId, pendingUnkLen);
                    pendingUnkLen = -1;
                }
                word.add(id, byteLen);
                continue;
            }
            if (byteFallback) {
                byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteIds[b & 0xFF] >= 0;
                }
                if (all) {
                    // as in the library, a pending unknown is not flushed first: it lands after these bytes
                    for (byte b : bytes) {
                        word.add(byteIds[b & 0xFF], 1);
                    }
                    continue;
                }
            }
            if (unkId >= 0) {
                if (pendingUnkLen >= 0 && fuseUnk) {
                    pendingUnkLen += byteLen;
                } else {
                    if (pendingUnkLen >= 0) {
                        word.add(unkId, pendingUnkLen);
                    }
                    pendingUnkLen = byteLen;
                }
            }
        }
        if (pendingUnkLen >= 0) {
            word.add(unkId, pendingUnkLen);
        }
        word.mergeAll(merges);
        return word.ids();
    }

    /** The symbols of a word being merged: parallel arrays as the library's {@code Word}. */
    private static final class Symbols {
        int[] c;
        int[] prev;
        int[] next;
        int[] len;
        int size;

        Symbols(int capacity) {
            c = new int[Math.max(capacity, 4)];
            prev = new int[c.length];
            next = new int[c.length];
            len = new int[c.length];
        }

        void add(int id, int byteLen) {
            if (size == c.length) {
                int n = size * 2;
                c = Arrays.copyOf(c, n);
                prev = Arrays.copyOf(prev, n);
                next = Arrays.copyOf(next, n);
                len = Arrays.copyOf(len, n);
            }
            if (size > 0) {
                next[size - 1] = size;
            }
            c[size] = id;
            prev[size] = size - 1;
            next[size] = -1;
            len[size] = byteLen;
            size++;
        }

        void mergeAll(LongLongMap merges) {
            MergeHeap queue = new MergeHeap(size);
            for (int i = 0; i + 1 < size; i++) {
                long m = merges.get(pair(c[i], c[i + 1]));
                if (m >= 0) {
                    queue.push((int) (m >>> 32), i, (int) m);
                }
            }
            while (queue.size > 0) {
                int pos = queue.topPos();
                int newId = queue.topNewId();
                queue.pop();
                if (len[pos] == 0 || next[pos] == -1) {
                    continue;
                }
                int right = next[pos];
                long now = merges.get(pair(c[pos], c[right]));
                if (now < 0 || (int) now != newId) {
                    continue; // an expired candidate
                }
                c[pos] = newId;
                len[pos] += len[right];
                next[pos] = next[right];
                len[right] = 0;
                if (next[right] > -1 && next[right] < size) {
                    prev[next[right]] = pos;
                }
                if (prev[pos] >= 0) {
                    long m = merges.get(pair(c[prev[pos]], c[pos]));
                    if (m >= 0) {
                        queue.push((int) (m >>> 32), prev[pos], (int) m);
                    }
                }
                if (next[pos] >= 0 && next[pos] < size) {
                    long m = merges.get(pair(c[pos], c[next[pos]]));
                    if (m >= 0) {
                        queue.push((int) (m >>> 32), pos, (int) m);
                    }
                }
            }
        }

        int[] ids() {
            int n = 0;
            for (int i = 0; i < size; i++) {
                if (len[i] != 0) {
                    n++;
                }
            }
            int[] out = new int[n];
            int k = 0;
            for (int i = 0; i < size; i++) {
                if (len[i] != 0) {
                    out[k++] = c[i];
                }
            }
            return out;
        }
    }

    /** A binary min-heap of merge candidates ordered by (rank, position). */
    private static final class MergeHeap {
        int[] rank;
        int[] pos;
        int[] newId;
        int size;

        MergeHeap(int capacity) {
            int n = Math.max(capacity, 4);
            rank = new int[n];
            pos = new int[n];
            newId = new int[n];
        }

        int topPos() {
            return pos[0];
        }

        int topNewId() {
            return newId[0];
        }

        private boolean less(int i, int j) {
            return rank[i] != rank[j] ? rank[i] < rank[j] : pos[i] < pos[j];
        }

        private void swap(int i, int j) {
            int t = rank[i];
            rank[i] = rank[j];
            rank[j] = t;
            t = pos[i];
            pos[i] = pos[j];
            pos[j] = t;
            t = newId[i];
            newId[i] = newId[j];
            newId[j] = t;
        }

        void push(int r, int p, int id) {
            if (size == rank.length) {
                int n = size * 2;
                rank = Arrays.copyOf(rank, n);
                pos = Arrays.copyOf(pos, n);
                newId = Arrays.copyOf(newId, n);
            }
            int i = size++;
            rank[i] = r;
            pos[i] = p;
            newId[i] = id;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (!less(i, parent)) {
                    break;
                }
                swap(i, parent);
                i = parent;
            }
        }

        void pop() {
            size--;
            if (size == 0) {
                return;
            }
            rank[0] = rank[size];
            pos[0] = pos[size];
            newId[0] = newId[size];
            int i = 0;
            while (true) {
                int l = 2 * i + 1;
                if (l >= size) {
                    break;
                }
                int m = l + 1 < size && less(l + 1, l) ? l + 1 : l;
                if (!less(m, i)) {
                    break;
                }
                swap(i, m);
                i = m;
            }
        }
    }

    /** Open-addressing map from a non-negative-valued long key to a non-negative long value (-1: absent). */
    static final class LongLongMap {
        private long[] keys;
        private long[] values;
        private boolean[] used;
        private int size;

        LongLongMap(int capacity) {
            int n = Integer.highestOneBit(Math.max(4, capacity) * 2 - 1);
            keys = new long[n];
            values = new long[n];
            used = new boolean[n];
        }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }

        long get(long key) {
            int mask = keys.length - 1;
            for (int i = hash(key) & mask; used[i]; i = (i + 1) & mask) {
                if (keys[i] == key) {
                    return values[i];
                }
            }
            return -1;
        }

        /** Inserts or overwrites (a later duplicate merge wins, as when the library builds its map). */
        void put(long key, long value) {
            if (2 * (size + 1) > keys.length) {
                grow();
            }
            int mask = keys.length - 1;
            int i = hash(key) & mask;
            while (used[i]) {
                if (keys[i] == key) {
                    values[i] = value;
                    return;
                }
                i = (i + 1) & mask;
            }
            used[i] = true;
            keys[i] = key;
            values[i] = value;
            size++;
        }

        private void grow() {
            long[] k = keys;
            long[] v = values;
            boolean[] u = used;
            keys = new long[k.length * 2];
            values = new long[k.length * 2];
            used = new boolean[k.length * 2];
            size = 0;
            for (int i = 0; i < k.length; i++) {
                if (u[i]) {
                    put(k[i], v[i]);
                }
            }
        }
    }
}
