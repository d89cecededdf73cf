package org.seerjava.runtime.cpu;

import org.seerjava.cpu.CpuSparseDecodeAttention;
import org.seerjava.gate.DecodeGateSet;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.engine.CompressedKeyCache;
import org.seerjava.reference.engine.DecodeGateWeights;
import org.seerjava.reference.engine.DecodeOps;
import org.seerjava.reference.engine.Engine;

/**
 * SeerAttention-R in a CPU session (docs/SPEC.md §7.5): per layer a decode gate and a K-compression cache, and for
 * each decode step
 * <pre>
 *   push(kPre)                                     the token's pre-RoPE key into the K-compression cache
 *   Qg  = RoPE_p(qnorm(headpool(qPre)))            the gate query at the token's position p
 *   sel = select(softmax(Qg · Kcᵀ / √Dg))          token budget or threshold, the current block always kept
 *   out = attention of q over the kept blocks of the KV cache (and block 0)
 * </pre>
 * The gate operations run on the engine's {@link DecodeOps}; attention reads the session's off-heap KV cache in place
 * ({@link CpuSparseDecodeAttention}). Counts of attended and cached blocks give {@link #density()}.
 */
final class SparseDecoding {
    private final DecodeOps ops;
    private final DecodeGateWeights[] gates;
    private final CompressedKeyCache[] caches;
    private final DecodeSelectionRule rule;
    private final int kvHeads;
    private final int hidden;
    private final int blockSize;
    private long attended;
    private long cached;

    SparseDecoding(Engine engine, DecodeGateSet set, DecodeSelectionRule rule, int capacity) {
        this.ops = DecodeOps.of(engine);
        this.rule = rule;
        int layers = set.size();
        this.gates = new DecodeGateWeights[layers];
        this.caches = new CompressedKeyCache[layers];
        for (int l = 0; l < layers; l++) {
            gates[l] = set.weights(l);
            caches[l] = ops.kCompressionCache(gates[l], 1, capacity);
        }
        this.kvHeads = set.spec().kvHeads();
        this.hidden = set.spec().gate().hiddenSize();
        this.blockSize = set.spec().blockSize();
    }

    /** The first prefill's keys {@code kPre [n, Hkv, D]} of a layer. */
    void prefill(int layer, float[] kPre, int n) {
        caches[layer].prefill(kPre, n);
    }

    /** A continuation's keys, pushed one token at a time (the continuation itself attends densely). */
    void append(int layer, float[] kPre, int n) {
        int row = kvHeads * gates[layer].headDim();
        for (int i = 0; i < n; i++) {
            caches[layer].push(java.util.Arrays.copyOfRange(kPre, i * row, (i + 1) * row));
        }
    }

    /**
     * One decode step of a layer: the token at {@code position} (already written to the KV cache) attends to the
     * selected blocks of positions {@code 0 … position}.
     *
     * @param qPre {@code [Hq, D]} pre-RoPE, for the gate
     * @param kPre {@code [Hkv, D]} pre-RoPE, for the K-compression cache
     * @param q    {@code [Hq, D]} post-RoPE
     * @param out  receives {@code [Hq, D]}
     */
    void attend(KvCache kv, int layer, float[] qPre, float[] kPre, float[] q, int position, int qHeads, int d,
                float scale, float[] out) {
        CompressedKeyCache cache = caches[layer];
        cache.push(kPre);
        float[] qGate = new float[kvHeads * hidden];
        ops.decodeGateQuery(gates[layer], qPre, qGate, 1, position);
        int blocks = cache.blocks();
        float[] scores = new float[kvHeads * blocks];
        cache.scores(qGate, null, scores);
        boolean[] mask = ops.decodeSelect(scores, 1, kvHeads, blocks, blockSize, null, rule);
        CpuSparseDecodeAttention.Cache view = new CpuSparseDecodeAttention.Cache(kv.segment(),
                kv.keyIndex(layer, 0), kv.segment(), kv.valueIndex(layer, 0), kv.kvDim);
        CpuSparseDecodeAttention.attend(q, 0, view, 0, position + 1, mask, 0, blocks, qHeads, kvHeads, d, blockSize,
                scale, out, 0);
        for (int kh = 0; kh < kvHeads; kh++) {
            for (int n = 0; n < blocks; n++) {
                attended += mask[kh * blocks + n] || n == 0 ? 1 : 0;
            }
        }
        cached += (long) kvHeads * blocks;
    }

    /** Blocks attended ÷ blocks cached over the decode steps so far (NaN before the first). */
    double density() {
        return cached == 0 ? Double.NaN : (double) attended / cached;
    }

    /** Forgets every token and the counts. */
    void reset() {
        for (CompressedKeyCache c : caches) {
            c.reset();
        }
        attended = 0;
        cached = 0;
    }
}
