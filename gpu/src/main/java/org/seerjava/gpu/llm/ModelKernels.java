package org.seerjava.gpu.llm;

import static org.seerjava.gpu.graph.KernelSpec.Param.f32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i32;
import static org.seerjava.gpu.graph.KernelSpec.Param.i64;
import static org.seerjava.gpu.graph.KernelSpec.Param.in;
import static org.seerjava.gpu.graph.KernelSpec.Param.inout;
import static org.seerjava.gpu.graph.KernelSpec.Param.out;

import java.util.List;
import java.util.Map;
import org.seerjava.gpu.CudaContext;
import org.seerjava.gpu.Stream;
import org.seerjava.reference.io.DType;
import org.seerjava.gpu.graph.KernelSpec;

/**
 * Typed launchers of the decoder's kernels ({@code model_bf16.cu}, {@code attention_decode.cu}). Each method names
 * the step of the float32 forward ({@code LlamaModel} in module {@code model}) it computes; arguments are device
 * addresses (a buffer's pointer plus a byte offset, so that callers can pass row ranges) and sizes. Launches are
 * asynchronous on the given stream. Sizes are checked here, once, with messages that name the argument.
 */
public final class ModelKernels {
    private ModelKernels() {
    }

    static final String MODEL = "model_bf16.cu";
    static final String DECODE = "attention_decode.cu";

    private static KernelSpec model(String fn, KernelSpec.Param... params) {
        return new KernelSpec(MODEL, Map.of(), fn, List.of(params));
    }

    public static final KernelSpec EMBED = model("embed_bf16", in("ids", DType.I32), in("table", DType.BF16),
            out("x", DType.F32), i32("H"));
    public static final KernelSpec RMS_NORM = model("rms_norm_bf16", in("x", DType.F32), in("w", DType.BF16),
            out("out", DType.BF16), i32("H"), f32("eps"));
    public static final KernelSpec ROPE_TABLE = model("rope_table", in("invFreq", DType.F32), out("table", DType.F32),
            i64("positions"), i32("half"));
    public static final KernelSpec ROPE_QKV = model("rope_qkv_bf16", in("qkv", DType.BF16), in("bias", DType.BF16),
            in("qNorm", DType.BF16), in("kNorm", DType.BF16), f32("eps"), in("table", DType.F32),
            in("pos", DType.I32), i32("posAdd"), i32("Hq"), i32("Hkv"), i32("D"), out("q", DType.BF16),
            out("kCache", DType.BF16), out("vCache", DType.BF16), out("qPre", DType.BF16), out("kPre", DType.BF16));
    public static final KernelSpec SWIGLU = model("swiglu_bf16", in("gu", DType.BF16), out("a", DType.BF16),
            i64("T"), i32("I"));
    public static final KernelSpec SWIGLU_V8 = model("swiglu_bf16_v8", in("gu", DType.BF16), out("a", DType.BF16),
            i32("I"));
    public static final KernelSpec ADD_BIAS = model("add_bias_f32", inout("x", DType.F32), in("b", DType.BF16),
            i64("T"), i32("H"));
    public static final KernelSpec GEMV = model("gemv_bf16", in("W", DType.BF16), in("x", DType.BF16),
            out("y", DType.F32), i32("N"), i32("K"), i32("mode"));
    public static final KernelSpec ARGMAX = model("argmax_f32", in("x", DType.F32), i32("n"), out("out", DType.I32));
    public static final KernelSpec F32_TO_BF16 = model("f32_to_bf16", in("in", DType.F32), out("out", DType.BF16),
            i64("n"));
    public static final KernelSpec F16_TO_BF16 = model("f16_to_bf16", in("in", DType.F16), out("out", DType.BF16),
            i64("n"));
    public static final KernelSpec BF16_TO_F32 = model("bf16_to_f32", in("in", DType.BF16), out("out", DType.F32),
            i64("n"));
    public static final KernelSpec FILL = model("fill_bf16", out("x", DType.BF16), i64("n"), f32("value"));
    public static final KernelSpec ADVANCE = model("advance_i32", inout("p", DType.I32), i32("by"));

    /** Largest GQA group (query heads per key/value head) of the decode attention. */
    public static final int MAX_GROUP = 8;

    /** Decode attention pass 1 for head dim D. */
    public static KernelSpec decodePartial(int headDim) {
        checkDecodeHeadDim(headDim);
        return new KernelSpec(DECODE, Map.of("HEAD_DIM", headDim, "MAX_G", MAX_GROUP), "attn_decode_partial",
                List.of(in("q", DType.BF16), in("kCache", DType.BF16), in("vCache", DType.BF16), in("pos", DType.I32),
                        i32("posAdd"), out("ml", DType.F32), out("po", DType.F32), i32("Hq"), i32("Hkv"), i32("S"),
                        f32("scaleLog2")));
    }

    /** Decode attention pass 2 for head dim D. */
    public static KernelSpec decodeCombine(int headDim) {
        checkDecodeHeadDim(headDim);
        return new KernelSpec(DECODE, Map.of("HEAD_DIM", headDim, "MAX_G", MAX_GROUP), "attn_decode_combine",
                List.of(in("ml", DType.F32), in("po", DType.F32), out("out", DType.BF16), i32("Hq"), i32("S")));
    }

    static void checkDecodeHeadDim(int d) {
        if (d % 8 != 0 || d < 8 || 32 % (d / 8) != 0) {
            throw new IllegalArgumentException("the decode attention supports head dims 32, 64, 128 and 256 (8 × a"
                    + " divisor of 32), got " + d);
        }
    }

    private static int grid(long threads, int block) {
        long blocks = Math.ceilDiv(threads, block);
        return (int) Math.max(1, Math.min(blocks, 65_535L * 16));
    }

    private static void positive(String what, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, got " + v);
        }
    }

    /** {@code x[t] = embed_tokens[ids[t]]} widened to fp32, t &lt; T. */
    public static void embed(Stream s, long ids, long table, long x, int tokens, int hidden) {
        positive("tokens", tokens);
        positive("hidden", hidden);
        EMBED.kernel().launch(s, tokens, 1, 1, 256, 1, 1, 0, ids, table, x, hidden);
    }

    /** {@code out[r] = bf16(w · x[r] / sqrt(mean(x[r]²) + eps))} for {@code rows} fp32 rows of width H. */
    public static void rmsNorm(Stream s, long x, long w, long out, int rows, int hidden, float eps) {
        positive("rows", rows);
        positive("hidden", hidden);
        RMS_NORM.kernel().launch(s, rows, 1, 1, 256, 1, 1, 0, x, w, out, hidden, eps);
    }

    /** The (cos, sin) table of positions {@code [0, positions)}: {@code [positions, half]} float pairs. */
    public static void ropeTable(Stream s, long invFreq, long table, long positions, int half) {
        positive("positions", positions);
        positive("half", half);
        ROPE_TABLE.kernel().launch(s, grid(positions * half, 256), 1, 1, 256, 1, 1, 0, invFreq, table, positions, half);
    }

    /**
     * Bias, optional per-head RMSNorm, RoPE and the cache write of T tokens' fused q|k|v projection. Zero addresses
     * mean "none" for {@code bias}, {@code qNorm}/{@code kNorm} (both or neither), {@code qPre}, {@code kPre}.
     * Token t is at position {@code *pos + posAdd + t}.
     */
    public static void ropeQkv(Stream s, long qkv, long bias, long qNorm, long kNorm, float eps, long table, long pos,
                               int posAdd, int tokens, int qHeads, int kvHeads, int headDim, long q, long kCache,
                               long vCache, long qPre, long kPre) {
        positive("tokens", tokens);
        if ((qNorm == 0) != (kNorm == 0)) {
            throw new IllegalArgumentException("q and k head norms come together (Qwen3): both or neither");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head dim must be even for rotate-half RoPE, got " + headDim);
        }
        int heads = qHeads + 2 * kvHeads;
        ROPE_QKV.kernel().launch(s, Math.ceilDiv(heads, 4), tokens, 1, 128, 1, 1, 0, qkv, bias, qNorm, kNorm, eps,
                table, pos, posAdd, qHeads, kvHeads, headDim, q, kCache, vCache, qPre, kPre);
    }

    /**
     * {@code a[t, i] = silu(gu[t, i]) · gu[t, I + i]}: 8 outputs per thread, one grid row per token, where I is a
     * multiple of 8 and there are at most 65,535 tokens (16-byte aligned rows); else one output per thread.
     */
    public static void swiglu(Stream s, long gu, long a, long tokens, int intermediate) {
        positive("tokens", tokens);
        positive("intermediate", intermediate);
        if (intermediate % 8 == 0 && tokens <= 65_535 && gu % 16 == 0 && a % 16 == 0) {
            int groups = intermediate / 8;
            SWIGLU_V8.kernel().launch(s, Math.ceilDiv(groups, 256), (int) tokens, 1, 256, 1, 1, 0, gu, a,
                    intermediate);
        } else {
            SWIGLU.kernel().launch(s, grid(tokens * intermediate, 256), 1, 1, 256, 1, 1, 0, gu, a, tokens,
                    intermediate);
        }
    }

    /** {@code x[t, :] += b} on an fp32 {@code [T, H]} matrix. */
    public static void addBias(Stream s, long x, long b, long tokens, int hidden) {
        ADD_BIAS.kernel().launch(s, grid(tokens * hidden, 256), 1, 1, 256, 1, 1, 0, x, b, tokens, hidden);
    }

    /** What {@link #gemv} writes. */
    public enum GemvOut { BF16, F32, F32_ACCUMULATE }

    /** {@code y = W·x} (or {@code y += W·x}) for one token: W bf16 {@code [N, K]}, x bf16 {@code [K]}, K % 8 = 0. */
    public static void gemv(Stream s, long w, long x, long y, int n, int k, GemvOut out) {
        positive("N", n);
        if (k <= 0 || k % 8 != 0) {
            throw new IllegalArgumentException("gemv needs K a positive multiple of 8, got " + k);
        }
        GEMV.kernel().launch(s, Math.ceilDiv(n, 8), 1, 1, 256, 1, 1, 0, w, x, y, n, k, out.ordinal());
    }

    /** {@code out[0] = argmax x[0, n)} (lowest index among ties). */
    public static void argmax(Stream s, long x, int n, long out) {
        positive("n", n);
        ARGMAX.kernel().launch(s, 1, 1, 1, 1024, 1, 1, 0, x, n, out);
    }

    public static void f32ToBf16(Stream s, long in, long out, long n) {
        F32_TO_BF16.kernel().launch(s, grid(n, 256), 1, 1, 256, 1, 1, 0, in, out, n);
    }

    public static void f16ToBf16(Stream s, long in, long out, long n) {
        F16_TO_BF16.kernel().launch(s, grid(n, 256), 1, 1, 256, 1, 1, 0, in, out, n);
    }

    public static void bf16ToF32(Stream s, long in, long out, long n) {
        BF16_TO_F32.kernel().launch(s, grid(n, 256), 1, 1, 256, 1, 1, 0, in, out, n);
    }

    public static void fill(Stream s, long x, long n, float value) {
        FILL.kernel().launch(s, grid(n, 256), 1, 1, 256, 1, 1, 0, x, n, value);
    }

    /** {@code *p += by} on the device. */
    public static void advance(Stream s, long p, int by) {
        ADVANCE.kernel().launch(s, 1, 1, 1, 32, 1, 1, 0, p, by);
    }

    /** Compiles and loads every kernel of a decoder with head dim D now (a CUDA graph capture must not load any). */
    public static void preload(int headDim) {
        for (KernelSpec k : List.of(EMBED, RMS_NORM, ROPE_TABLE, ROPE_QKV, SWIGLU, SWIGLU_V8, ADD_BIAS, GEMV, ARGMAX, F32_TO_BF16,
                F16_TO_BF16, BF16_TO_F32, FILL, ADVANCE, decodePartial(headDim), decodeCombine(headDim))) {
            k.kernel();
        }
    }

    /**
     * The number of key splits for T query tokens of the decode attention: about two CTAs per SM, at least one key
     * block of 64 per split for {@code keys} keys.
     */
    public static int decodeSplits(int tokens, int kvHeads, long keys) {
        int sms = CudaContext.get().multiprocessors();
        long want = Math.ceilDiv(2L * sms, (long) kvHeads * tokens);
        long most = Math.max(1, Math.ceilDiv(keys, 64));
        return (int) Math.max(1, Math.min(Math.min(want, most), 1024));
    }

    /**
     * Causal attention of T tokens at positions {@code *pos + posAdd + t} over cache rows {@code 0 .. *pos + posAdd
     * + t}: {@code out [T, Hq, D]} bf16 from {@code q [T, Hq, D]}. {@code ml} holds {@code T·Hq·S} float pairs and
     * {@code po} {@code T·Hq·S·D} floats.
     */
    public static void decodeAttention(Stream s, long q, long kCache, long vCache, long pos, int posAdd, long ml,
                                       long po, long out, int tokens, int qHeads, int kvHeads, int headDim, int splits,
                                       double scale) {
        positive("tokens", tokens);
        positive("splits", splits);
        if (qHeads % kvHeads != 0 || qHeads / kvHeads > MAX_GROUP) {
            throw new IllegalArgumentException("the decode attention needs Hq a multiple of Hkv with at most "
                    + MAX_GROUP + " query heads per key/value head, got " + qHeads + "/" + kvHeads);
        }
        float scaleLog2 = (float) (scale * org.seerjava.gpu.SeerKernels.LOG2E);
        decodePartial(headDim).kernel().launch(s, splits, kvHeads, tokens, 128, 1, 1, 0, q, kCache, vCache, pos,
                posAdd, ml, po, qHeads, kvHeads, splits, scaleLog2);
        decodeCombine(headDim).kernel().launch(s, qHeads, tokens, 1, headDim, 1, 1, 0, ml, po, out, qHeads, splits);
    }
}
