// The non-attention kernels of a Llama-family decoder on the GPU: bf16 weights and activations, fp32 math, the
// residual stream in fp32. Each kernel names the step of LlamaModel's float32 forward it computes (model module):
//
//   x = embed_tokens[tokens]                                   embed_bf16
//   h = RMSNorm(x) · w                                         rms_norm_bf16
//   qkv = h · W_qkvᵀ                                           (cuBLASLt, Matmul)
//   q, k = RoPE(qkv + b) (+ per-head RMSNorm, Qwen3); v          rope_qkv_bf16 (writes k, v into the KV cache)
//   x += attention · W_oᵀ                                      (cuBLASLt, fp32 output accumulated)
//   g|u = RMSNorm(x) · W_gate|upᵀ; a = silu(g) ⊙ u             swiglu_bf16
//   x += a · W_downᵀ                                           (cuBLASLt)
//
// and the helpers of decoding: a bf16 matrix-vector product (one token), argmax, dtype conversions, weights drawn
// on the device. Positions are read from device memory (`pos`) so that a captured CUDA graph of a decode step can be
// replayed at every position.

#include "common.cuh"
#include <cuda_fp16.h>

typedef __nv_bfloat16 bf16;

static __device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets the total
static __device__ __forceinline__ float block_sum(float v) {
    __shared__ float part[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();                                      // part[] may still be read by an earlier call
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float t = lane < warps ? part[lane] : 0.f;
    return warp_sum(t);
}

// x[t, :] = table[ids[t], :] widened to fp32. grid (T), block 256. ids were checked on the host (or are an argmax).
extern "C" __global__ void embed_bf16(const int *__restrict__ ids, const bf16 *__restrict__ table,
                                      float *__restrict__ x, int H) {
    const long t = blockIdx.x;
    const bf16 *row = table + (long)ids[t] * H;
    float *xr = x + t * H;
    for (int i = threadIdx.x; i < H; i += blockDim.x) xr[i] = __bfloat162float(row[i]);
}

// RMSNorm of one fp32 row into bf16: out = bf16(w · (x · inv)), inv = 1 / sqrt(mean(x²) + eps) — LlamaModel.rmsNorm.
// grid (rows), block 256; rows are H apart in x and out.
extern "C" __global__ void rms_norm_bf16(const float *__restrict__ x, const bf16 *__restrict__ w,
                                         bf16 *__restrict__ out, int H, float eps) {
    const float *xr = x + (long)blockIdx.x * H;
    bf16 *o = out + (long)blockIdx.x * H;
    float ss = 0.f;
    for (int i = threadIdx.x; i < H; i += blockDim.x) ss = fmaf(xr[i], xr[i], ss);
    ss = block_sum(ss);
    const float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = threadIdx.x; i < H; i += blockDim.x)
        o[i] = __float2bfloat16_rn(__fmul_rn(__bfloat162float(w[i]), __fmul_rn(xr[i], inv)));
}

// The RoPE table [positions, half] of (cos, sin): angle = fl32(invFreq[k] · fl32(p)), cos and sin computed in
// double precision and rounded to fp32 — LlamaModel.ropeTables. grid-stride over positions · half.
extern "C" __global__ void rope_table(const float *__restrict__ invFreq, float2 *__restrict__ table, long positions,
                                      int half) {
    const long total = positions * half;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total; e += (long)gridDim.x * blockDim.x) {
        const long p = e / half;
        const int k = (int)(e % half);
        const float angle = __fmul_rn(invFreq[k], (float)p);
        table[e] = make_float2((float)cos((double)angle), (float)sin((double)angle));
    }
}

// Bias, per-head RMSNorm (Qwen3), RoPE and the KV-cache write of the fused projection's output.
//   qkv  [T, (Hq + 2 Hkv) · D] bf16: the q heads, then the k heads, then the v heads of each token
//   bias [(Hq + 2 Hkv) · D] bf16 or null; qNorm, kNorm [D] bf16 or null (then no per-head norm), eps
//   table [*, D/2] (cos, sin) (rope_table); token t is at position *pos + posAdd + t
//   qOut [T, Hq, D] bf16 (RoPE applied); kCache, vCache [*, Hkv, D] bf16: the rows of those positions written
//   qPre [T, Hq, D], kPre [T, Hkv, D] bf16 or null: q and k before RoPE (the gate's input)
// RoPE in LlamaModel.applyRope's order, x1' = x1·c + (−x2)·s and x2' = x2·c + x1·s (x1, x2 = elements k, k + D/2),
// every product and sum rounded to fp32 (no fused multiply-add), as the float32 forward computes it.
// One warp per (token, head): grid (ceil((Hq + 2 Hkv) / 4), T), block 128.
extern "C" __global__ void rope_qkv_bf16(const bf16 *__restrict__ qkv, const bf16 *__restrict__ bias,
                                         const bf16 *__restrict__ qNorm, const bf16 *__restrict__ kNorm, float eps,
                                         const float2 *__restrict__ table, const int *__restrict__ pos, int posAdd, int Hq,
                                         int Hkv, int D, bf16 *__restrict__ qOut, bf16 *__restrict__ kCache,
                                         bf16 *__restrict__ vCache, bf16 *__restrict__ qPre,
                                         bf16 *__restrict__ kPre) {
    const int lane = threadIdx.x & 31;
    const int head = blockIdx.x * 4 + (threadIdx.x >> 5);
    const int heads = Hq + 2 * Hkv;
    if (head >= heads) return;
    const long t = blockIdx.y;
    const long p = (long)pos[0] + posAdd + t;
    const int half = D / 2;
    const bf16 *in = qkv + t * (long)heads * D + (long)head * D;
    const bf16 *b = bias == nullptr ? nullptr : bias + (long)head * D;
    if (head >= Hq + Hkv) {                               // v: bias only, into the cache
        bf16 *dst = vCache + (p * Hkv + (head - Hq - Hkv)) * (long)D;
        for (int i = lane; i < D; i += 32) {
            float v = __bfloat162float(in[i]);
            if (b != nullptr) v = __fadd_rn(v, __bfloat162float(b[i]));
            dst[i] = __float2bfloat16_rn(v);
        }
        return;
    }
    const bool isQ = head < Hq;
    const bf16 *norm = isQ ? qNorm : kNorm;
    float inv = 1.f;
    if (norm != nullptr) {
        float ss = 0.f;
        for (int i = lane; i < D; i += 32) {
            float v = __bfloat162float(in[i]);
            if (b != nullptr) v = __fadd_rn(v, __bfloat162float(b[i]));
            ss = fmaf(v, v, ss);
        }
        ss = warp_sum(ss);
        inv = 1.0f / sqrtf(ss / (float)D + eps);
    }
    bf16 *dst = isQ ? qOut + (t * Hq + head) * (long)D : kCache + (p * Hkv + (head - Hq)) * (long)D;
    bf16 *pre = isQ ? (qPre == nullptr ? nullptr : qPre + (t * Hq + head) * (long)D)
                    : (kPre == nullptr ? nullptr : kPre + (t * Hkv + (head - Hq)) * (long)D);
    const float2 *cs = table + p * half;
    for (int k = lane; k < half; k += 32) {
        float x1 = __bfloat162float(in[k]);
        float x2 = __bfloat162float(in[k + half]);
        if (b != nullptr) {
            x1 = __fadd_rn(x1, __bfloat162float(b[k]));
            x2 = __fadd_rn(x2, __bfloat162float(b[k + half]));
        }
        if (norm != nullptr) {
            x1 = __fmul_rn(__bfloat162float(norm[k]), __fmul_rn(x1, inv));
            x2 = __fmul_rn(__bfloat162float(norm[k + half]), __fmul_rn(x2, inv));
        }
        if (pre != nullptr) {
            pre[k] = __float2bfloat16_rn(x1);
            pre[k + half] = __float2bfloat16_rn(x2);
        }
        const float2 r = cs[k];
        dst[k] = __float2bfloat16_rn(__fadd_rn(__fmul_rn(x1, r.x), __fmul_rn(-x2, r.y)));
        dst[k + half] = __float2bfloat16_rn(__fadd_rn(__fmul_rn(x2, r.x), __fmul_rn(x1, r.y)));
    }
}

// a[t, i] = silu(g) · u with g = gu[t, i], u = gu[t, I + i] (the fused gate|up projection's output), silu(g) =
// g / (1 + e^−g), in fp32 — LlamaModel.swiglu. grid-stride over T · I.
extern "C" __global__ void swiglu_bf16(const bf16 *__restrict__ gu, bf16 *__restrict__ a, long T, int I) {
    const long total = T * I;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total; e += (long)gridDim.x * blockDim.x) {
        const long t = e / I;
        const int i = (int)(e % I);
        const float g = __bfloat162float(gu[t * 2 * I + i]);
        const float u = __bfloat162float(gu[t * 2 * I + I + i]);
        const float silu = __fdiv_rn(g, __fadd_rn(1.f, expf(-g)));
        a[e] = __float2bfloat16_rn(__fmul_rn(silu, u));
    }
}

// The same with 8 outputs per thread (16-byte loads and stores) and a 2-D grid: rows on y (at most 65,535 rows per
// call: the prefill's chunks), no 64-bit division per element. Needs I % 8 == 0.
extern "C" __global__ void swiglu_bf16_v8(const bf16 *__restrict__ gu, bf16 *__restrict__ a, int I) {
    const long t = blockIdx.y;
    const int groups = I >> 3;
    const uint4 *g4 = reinterpret_cast<const uint4 *>(gu + t * 2 * I);
    const uint4 *u4 = reinterpret_cast<const uint4 *>(gu + t * 2 * I + I);
    uint4 *a4 = reinterpret_cast<uint4 *>(a + t * I);
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < groups; j += gridDim.x * blockDim.x) {
        const uint4 gv = g4[j], uv = u4[j];
        const __nv_bfloat162 *gp = reinterpret_cast<const __nv_bfloat162 *>(&gv);
        const __nv_bfloat162 *up = reinterpret_cast<const __nv_bfloat162 *>(&uv);
        uint4 out;
        __nv_bfloat162 *op = reinterpret_cast<__nv_bfloat162 *>(&out);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const float2 g = __bfloat1622float2(gp[k]);
            const float2 u = __bfloat1622float2(up[k]);
            const float s0 = __fdiv_rn(g.x, __fadd_rn(1.f, expf(-g.x)));
            const float s1 = __fdiv_rn(g.y, __fadd_rn(1.f, expf(-g.y)));
            op[k] = __floats2bfloat162_rn(__fmul_rn(s0, u.x), __fmul_rn(s1, u.y));
        }
        a4[j] = out;
    }
}

// x[t, i] += b[i] for an fp32 [T, H] matrix (the o_proj bias of Llama checkpoints with attention_bias).
extern "C" __global__ void add_bias_f32(float *__restrict__ x, const bf16 *__restrict__ b, long T, int H) {
    const long total = T * H;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total; e += (long)gridDim.x * blockDim.x)
        x[e] = __fadd_rn(x[e], __bfloat162float(b[e % H]));
}

// y = W·x for one token: W [N, K] bf16 row-major, x [K] bf16, fp32 accumulation. mode 0: y bf16; 1: y fp32;
// 2: y fp32 += (the residual). One warp per row, 8 rows per 256-thread block; each lane reads 16 bytes of the row
// per step, four steps in flight. K must be a multiple of 8.
extern "C" __global__ void __launch_bounds__(256) gemv_bf16(const bf16 *__restrict__ W, const bf16 *__restrict__ x,
                                                             void *__restrict__ y, int N, int K, int mode) {
    const int lane = threadIdx.x & 31;
    const int row = blockIdx.x * 8 + (threadIdx.x >> 5);
    if (row >= N) return;
    const uint4 *w4 = reinterpret_cast<const uint4 *>(W + (long)row * K);
    const uint4 *x4 = reinterpret_cast<const uint4 *>(x);
    const int chunks = K >> 3;
    float acc = 0.f;
    int c = lane;
    for (; c + 96 < chunks; c += 128) {
        uint4 wv[4], xv[4];
#pragma unroll
        for (int u = 0; u < 4; u++) {
            wv[u] = __ldcs(w4 + c + 32 * u);                // streamed once: do not keep in L2
            xv[u] = __ldg(x4 + c + 32 * u);
        }
#pragma unroll
        for (int u = 0; u < 4; u++) {
            const __nv_bfloat162 *wp = reinterpret_cast<const __nv_bfloat162 *>(&wv[u]);
            const __nv_bfloat162 *xp = reinterpret_cast<const __nv_bfloat162 *>(&xv[u]);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const float2 wf = __bfloat1622float2(wp[j]);
                const float2 xf = __bfloat1622float2(xp[j]);
                acc = fmaf(wf.x, xf.x, acc);
                acc = fmaf(wf.y, xf.y, acc);
            }
        }
    }
    for (; c < chunks; c += 32) {
        const uint4 wv = __ldcs(w4 + c);
        const uint4 xv = __ldg(x4 + c);
        const __nv_bfloat162 *wp = reinterpret_cast<const __nv_bfloat162 *>(&wv);
        const __nv_bfloat162 *xp = reinterpret_cast<const __nv_bfloat162 *>(&xv);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const float2 wf = __bfloat1622float2(wp[j]);
            const float2 xf = __bfloat1622float2(xp[j]);
            acc = fmaf(wf.x, xf.x, acc);
            acc = fmaf(wf.y, xf.y, acc);
        }
    }
    acc = warp_sum(acc);
    if (lane == 0) {
        if (mode == 0) reinterpret_cast<bf16 *>(y)[row] = __float2bfloat16_rn(acc);
        else if (mode == 1) reinterpret_cast<float *>(y)[row] = acc;
        else reinterpret_cast<float *>(y)[row] += acc;
    }
}

// out[0] = the index of the largest of x[0, n), the lowest among equal maxima; -1 when a logit is NaN or +inf or
// every logit is -inf (the host then refuses to pick a token). One block of 1024 threads.
extern "C" __global__ void argmax_f32(const float *__restrict__ x, int n, int *__restrict__ out) {
    __shared__ float sv[32];
    __shared__ int si[32];
    float best = -INFINITY;
    int bi = n;
    int bad = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = x[i];
        if (isnan(v) || v == INFINITY) bad = 1;
        if (v > best) {                                  // ascending i per thread: keeps the lowest on ties
            best = v;
            bi = i;
        }
    }
    bad = __syncthreads_or(bad);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float v = __shfl_xor_sync(0xffffffffu, best, o);
        const int j = __shfl_xor_sync(0xffffffffu, bi, o);
        if (v > best || (v == best && j < bi)) {
            best = v;
            bi = j;
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sv[warp] = best;
        si[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        const int warps = blockDim.x >> 5;
        best = lane < warps ? sv[lane] : -INFINITY;
        bi = lane < warps ? si[lane] : n;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float v = __shfl_xor_sync(0xffffffffu, best, o);
            const int j = __shfl_xor_sync(0xffffffffu, bi, o);
            if (v > best || (v == best && j < bi)) {
                best = v;
                bi = j;
            }
        }
        if (lane == 0) out[0] = bad || bi >= n ? -1 : bi;
    }
}

// dtype conversions of checkpoint tensors stored as fp32 or fp16 (round to nearest even)
extern "C" __global__ void f32_to_bf16(const float *__restrict__ in, bf16 *__restrict__ out, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(in[i]);
}

extern "C" __global__ void f16_to_bf16(const __half *__restrict__ in, bf16 *__restrict__ out, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(__half2float(in[i]));
}

// x[i] = value for i < n (RMSNorm weights of a random-weight model)
extern "C" __global__ void fill_bf16(bf16 *__restrict__ x, long n, float value) {
    const bf16 v = __float2bfloat16_rn(value);
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) x[i] = v;
}

// out[i] = in[i] widened to fp32
extern "C" __global__ void bf16_to_f32(const bf16 *__restrict__ in, float *__restrict__ out, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __bfloat162float(in[i]);
}

// *p += by (the position of a captured decode step, advanced inside the graph)
extern "C" __global__ void advance_i32(int *p, int by) {
    if (threadIdx.x == 0 && blockIdx.x == 0) p[0] += by;
}
