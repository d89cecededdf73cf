package org.seerjava.gpu;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.f64;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i64;
import static org.seerjava.gpu.graph.KernelSpec.Param.in;
import static org.seerjava.gpu.graph.KernelSpec.Param.inout;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;

import java.util.List;
import java.util.Map;
import org.seerjava.gpu.graph.KernelSpec;
import org.seerjava.reference.decode.DecodeSelectionRule;
import org.seerjava.reference.io.DType;

/**
 * The kernels of SeerAttention-R decoding ({@code decode_gate.cu}, {@code decode_fp32.cu}, and the sparse pass of
 * {@code attention_decode.cu}) as {@link KernelSpec}s, with typed launchers. Arguments are device addresses and
 * sizes, checked by the callers ({@link CudaEngine} through {@code EngineArgs}, the decoder by its own shape);
 * launches are asynchronous on the given stream. Kernel names map to the reference classes of
 * {@code org.seerjava.reference.decode} as the source files say.
 */
public final class DecodeKernels {
    private DecodeKernels() {
    }

    static final String GATE = "decode_gate.cu";
    static final String FP32 = "decode_fp32.cu";
    static final String ATT = "attention_decode.cu";

    /** Threads of the gate kernels. */
    static final int GATE_THREADS = 256;
    /** Blocks one CTA of {@code decode_scores_select} scores. */
    static final int SCORE_BLOCKS_PER_CTA = 64;
    /** Most scores {@code decode_scores_select} keeps in shared memory (32 KiB; a longer row stays in global). */
    static final int SCORE_ROW_SHARED = 8192;
    /** Largest head chunk of the fp32 sparse decode kernel. */
    static final int MAX_G = 8;

    private static KernelSpec gate(String fn, KernelSpec.Param... params) {
        return new KernelSpec(GATE, Map.of(), fn, List.of(params));
    }

    public static final KernelSpec GATE_QUERY_F32 = gate("decode_gate_query_f32", in("q", DType.F32),
            out("qGate", DType.F32), in("wq", DType.F32), in("qNorm", DType.F32), in("invFreq", DType.F64),
            in("pos", DType.I32), i32("posAdd"), i32("Hq"), i32("Hkv"), i32("D"), i32("Dg"), i32("pooling"));
    public static final KernelSpec COMPRESSED_KEYS_F32 = gate("decode_compressed_keys_f32", in("k", DType.F32),
            i32("seqLen"), in("positions", DType.I32), out("out", DType.F32), in("wk", DType.F32),
            in("kNorm", DType.F32), in("invFreq", DType.F64), i32("Hkv"), i32("D"), i32("Dg"), i32("B"),
            i32("kPools"));
    public static final KernelSpec KCACHE_APPEND_F32 = append("kcache_append_f32", DType.F32);
    public static final KernelSpec KCACHE_APPEND_BF16 = append("kcache_append_bf16", DType.BF16);
    public static final KernelSpec KCACHE_KEEP_F32 = keep("kcache_keep_remainder_f32", DType.F32);
    public static final KernelSpec KCACHE_KEEP_BF16 = keep("kcache_keep_remainder_bf16", DType.BF16);
    public static final KernelSpec GATE_LOGITS = gate("decode_gate_logits", in("qGate", DType.F32),
            in("kc", DType.F32), i64("kcBatch"), in("blockMask", DType.U8), out("out", DType.F32), i32("nb"),
            i32("Hkv"), i32("Dg"), f32("scale"));
    public static final KernelSpec SELECT = gate("decode_select", in("scores", DType.F32), out("mask", DType.U8),
            in("blockMask", DType.U8), i32("Hkv"), i32("nb"), i32("budget"), f64("threshold"));
    public static final KernelSpec BLOCK_LIST = gate("decode_block_list", in("mask", DType.U8),
            in("first", DType.I32), in("end", DType.I32), out("list", DType.I32), out("count", DType.I32),
            i32("Hkv"), i32("nbMask"), i32("listStride"), i32("B"));
    public static final KernelSpec GATE_STEP_BF16 = gate("decode_gate_step_bf16", in("qPre", DType.BF16),
            in("kPre", DType.BF16), out("qPart", DType.F32), inout("remainder", DType.F32),
            inout("compressed", DType.F32), in("wq", DType.F32), in("wk", DType.F32), in("kNorm", DType.F32),
            in("invFreq", DType.F64), in("pos", DType.I32), i32("posAdd"), i32("Hq"), i32("Hkv"), i32("D"),
            i32("Dg"), i32("B"), i32("pooling"), i32("kPools"), i32("keyPosMode"), i32("slices"));
    public static final KernelSpec SCORES_SELECT = gate("decode_scores_select", in("qPart", DType.F32),
            i32("slices"), in("qNorm", DType.F32), in("invFreq", DType.F64), in("kc", DType.F32),
            out("scores", DType.F32), out("list", DType.I32), out("count", DType.I32), inout("arrivals", DType.I32),
            inout("visits", DType.U64), in("pos", DType.I32), i32("posAdd"), i32("Hkv"), i32("Dg"), i32("B"),
            i32("maxBlocks"), f32("scale"), i32("budget"), f64("threshold"));

    /**
     * Dynamic shared bytes of {@code decode_scores_select} for rows of up to {@code maxBlocks} scores: the row when
     * it fits ({@link #SCORE_ROW_SHARED} floats), else 0 (the kernel then keeps it in global memory).
     */
    public static int scoresSelectShared(int maxBlocks) {
        return maxBlocks <= SCORE_ROW_SHARED ? maxBlocks * 4 : 0;
    }

    /** Rows of the gate query's linear per CTA of {@code decode_gate_step_bf16}. */
    public static final int QUERY_ROWS = 32;

    /** Slices of the runtime's gate query: its linear's rows (g·D for Qproj, D otherwise) in groups of 32. */
    public static int querySlices(org.seerjava.reference.engine.DecodeGateWeights gate) {
        int rows = gate.config().queryPooling() == org.seerjava.reference.decode.QueryHeadPooling.QProj
                ? gate.groupSize() * gate.headDim() : gate.headDim();
        return Math.ceilDiv(rows, QUERY_ROWS);
    }

    /** Dynamic shared bytes of a gate-query slice: 32 + max(256, Dg) + Dg floats. */
    public static int querySliceShared(int hidden) {
        return (QUERY_ROWS + Math.max(GATE_THREADS, hidden) + hidden) * 4;
    }

    private static KernelSpec append(String fn, DType keys) {
        return gate(fn, in("keys", keys), i64("keysBatch"), inout("remainder", DType.F32),
                inout("compressed", DType.F32), i64("compressedBatch"), in("wk", DType.F32), in("kNorm", DType.F32),
                in("invFreq", DType.F64), in("pos", DType.I32), i32("posAdd"), i32("n"), i32("Hkv"), i32("D"),
                i32("Dg"), i32("B"), i32("kPools"), i32("keyPosMode"), i32("writeRemainder"));
    }

    private static KernelSpec keep(String fn, DType keys) {
        return gate(fn, in("keys", keys), i64("keysBatch"), inout("remainder", DType.F32), i32("p0"), i32("n"),
                i32("Hkv"), i32("D"), i32("B"));
    }

    /** Pass 1 of the fp32 block-sparse decode attention for head dim D. */
    public static KernelSpec sparsePartialF32(int headDim) {
        return new KernelSpec(FP32, Map.of("HEAD_DIM", headDim, "MAX_G", MAX_G), "sparse_decode_partial_f32",
                List.of(in("q", DType.F32), i64("qItem"), in("k", DType.F32), in("v", DType.F32), i64("kvItem"),
                        in("first", DType.I32), in("end", DType.I32), in("list", DType.I32), in("count", DType.I32),
                        i32("listStride"), i32("B"), out("ml", DType.F32), out("po", DType.F32), i32("Hq"),
                        i32("Hkv"), i32("S"), i32("G"), f32("scale")));
    }

    /** Pass 2 of the fp32 block-sparse decode attention for head dim D. */
    public static KernelSpec sparseCombineF32(int headDim) {
        return new KernelSpec(FP32, Map.of("HEAD_DIM", headDim, "MAX_G", MAX_G), "sparse_decode_combine_f32",
                List.of(in("ml", DType.F32), in("po", DType.F32), out("out", DType.F32), i64("outItem"), i32("Hq"),
                        i32("S")));
    }

    /** The decode distillation target in fp32 for head dim D. */
    public static KernelSpec targetF32(int headDim) {
        return new KernelSpec(FP32, Map.of("HEAD_DIM", headDim, "MAX_G", MAX_G), "decode_target_f32",
                List.of(in("q", DType.F32), in("k", DType.F32), out("target", DType.F32), i32("N"), i32("Hq"),
                        i32("Hkv"), i32("nb"), i32("B"), f32("scale")));
    }

    /**
     * The bf16 block-sparse decode attention of the model runtime (one token, batch 1): the splits over the kept
     * blocks and their merge by the last CTA of each KV head.
     */
    public static KernelSpec sparseDecodeBf16(int headDim, int maxGroup) {
        return new KernelSpec(ATT, Map.of("HEAD_DIM", headDim, "MAX_G", maxGroup), "attn_sparse_decode",
                List.of(in("q", DType.BF16), in("kCache", DType.BF16), in("vCache", DType.BF16), in("pos", DType.I32),
                        i32("posAdd"), in("list", DType.I32), in("count", DType.I32), i32("listStride"), i32("B"),
                        out("ml", DType.F32), out("po", DType.F32), out("out", DType.BF16),
                        inout("arrivals", DType.I32), i32("Hq"), i32("Hkv"), i32("S"), f32("scaleLog2")));
    }

    /** Dynamic shared bytes of the gate query: 32 doubles and max(256, Dg) + g·D + Dg floats. */
    public static int queryShared(int qHeads, int kvHeads, int headDim, int hidden) {
        return Math.toIntExact(32L * 8 + (Math.max(GATE_THREADS, hidden) + (long) qHeads / kvHeads * headDim
                + hidden) * 4);
    }

    /** Dynamic shared bytes of a block compression: 32 doubles and max(256, Dg) + kdup·D + Dg floats. */
    public static int compressShared(int kDup, int headDim, int hidden) {
        return Math.toIntExact(32L * 8 + (Math.max(GATE_THREADS, hidden) + (long) kDup * headDim + hidden) * 4);
    }

    /** The token budget in blocks for the kernels, or −1 for a threshold. */
    public static int budgetBlocks(DecodeSelectionRule rule, int blockSize) {
        return switch (rule) {
            case DecodeSelectionRule.TokenBudget t -> t.blockBudget(blockSize);
            case DecodeSelectionRule.Threshold t -> -1;
        };
    }

    /** The threshold for the kernels (unused with a token budget). */
    public static double threshold(DecodeSelectionRule rule) {
        return rule instanceof DecodeSelectionRule.Threshold t ? t.threshold() : 0.0;
    }

    /**
     * Appends {@code n} tokens per sequence at host-known position {@code p0} to a K-compression cache on the device
     * ({@code kcache_append}, then {@code kcache_keep_remainder} when a complete block reads the remainder in the
     * same grid as a partial one).
     *
     * @param keys            {@code [batch, n, Hkv, D]} (f32 or bf16), {@code keysBatch} elements apart
     * @param remainder       f32 {@code [batch, B, Hkv, D]}
     * @param compressed      f32 {@code [batch, ≥ blocks, Hkv, Dg]}, {@code compressedBatch} elements apart
     * @param keyPosMode      0: completed blocks rotated at their first token (prefill); 1: at the completing token
     */
    public static void append(Stream s, DecodeGateDevice gate, boolean bf16, long keys, long keysBatch,
                              long remainder, long compressed, long compressedBatch, int p0, int n, int batch,
                              int keyPosMode) {
        var w = gate.weights();
        int b = w.blockSize();
        int hkv = w.kvHeads();
        int d = w.headDim();
        int touched = (p0 + n - 1) / b - p0 / b + 1;
        boolean firstReads = p0 % b != 0 && (p0 / b + 1) * b <= p0 + n;      // completes a block begun before p0
        boolean lastPartial = (p0 + n) % b != 0;
        boolean race = firstReads && lastPartial && touched > 1;
        (bf16 ? KCACHE_APPEND_BF16 : KCACHE_APPEND_F32).kernel().launch(s, hkv, touched, batch, GATE_THREADS, 1, 1,
                compressShared(gate.kDup(), d, w.hiddenSize()), keys, keysBatch, remainder, compressed,
                compressedBatch, gate.wk(), gate.kNorm(), gate.invFreq(), null, p0, n, hkv, d, w.hiddenSize(), b,
                gate.kPools(), keyPosMode, race ? 0 : 1);
        if (race) {
            (bf16 ? KCACHE_KEEP_BF16 : KCACHE_KEEP_F32).kernel().launch(s, hkv, 1, batch, GATE_THREADS, 1, 1, 0, keys,
                    keysBatch, remainder, p0, n, hkv, d, b);
        }
    }
}
