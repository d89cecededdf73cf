// Causal attention of a few new tokens over the KV cache (decoding), split over the key length
// ("flash-decoding"): bf16 q and cache, fp32 softmax and accumulation.
//
//   q     [T, Hq, D] bf16, RoPE applied; token t is at position P + t, P = *pos + posAdd (*pos in device memory,
//         so that a captured CUDA graph can be replayed at every step)
//   kc,vc [*, Hkv, D] bf16, the cache rows 0 .. P + T - 1 written (row r = position r)
//   out   [T, Hq, D] bf16:  out[t, h] = Σ_{j ≤ P+t} softmax_j(q[t,h]·k[j, h/g] · scale) · v[j, h/g],  g = Hq / Hkv
//
// Pass 1 (attn_decode_partial): grid (S, Hkv, T), 128 threads. CTA (s, kh, t) takes the keys of split s,
// [s·c, min(L, (s+1)·c)) with L = P + t + 1 and c = ceil(L / S), for the g query heads of kv head kh, so each key and
// value row is read once for the whole group. A key is handled by D/8 lanes (16 bytes each); a warp takes 32/(D/8)
// keys at a time. Each lane group keeps a running maximum m, sum l and output o (log2 units, scale·log2 e folded
// into q); the groups and warps are merged in shared memory; the CTA writes (m, l) and o of its split.
// Pass 2 (attn_decode_combine): grid (Hq, T), D threads: out = Σ_s 2^(m_s − M) o_s / Σ_s 2^(m_s − M) l_s.
// A split without keys writes m = −∞, l = 0, o = 0 and weighs nothing.
//
// Compile-time constants (-D): HEAD_DIM (8 · a divisor of 32: 32, 64, 128, 256), MAX_G (largest g, default 8).

#include "common.cuh"

#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif
#ifndef MAX_G
#define MAX_G 8
#endif

#define LANES (HEAD_DIM / 8)          // lanes per key (16 bytes each)
#define KPW (32 / LANES)              // keys per warp step
#define WARPS 4
// the most splits of attn_sparse_decode: its merge keeps MAX_G·S weights and S·MAX_G (m, l) pairs in the partials'
// shared scratch, WARPS·KPW·MAX_G·HEAD_DIM floats (3·MAX_G·S floats ≤ that for HEAD_DIM ≥ 32)
#define SPARSE_MAX_S ((WARPS * KPW * HEAD_DIM / 3) & ~1)   // even: the (m, l) pairs after the weights are 8-byte aligned
#if 32 % LANES != 0
#error "attention_decode.cu needs HEAD_DIM / 8 to divide 32"
#endif

typedef __nv_bfloat16 bf16;

static __device__ __forceinline__ void unpack8(const uint4 &v, float *f) {
    const __nv_bfloat162 *p = reinterpret_cast<const __nv_bfloat162 *>(&v);
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const float2 x = __bfloat1622float2(p[j]);
        f[2 * j] = x.x;
        f[2 * j + 1] = x.y;
    }
}

// The state of one lane group for the g query heads of a KV head: q (scaled to log2 units), running maximum m,
// sum l and output o of its 8 channels.
struct DecodeLanes {
    float qf[MAX_G][8];
    float m[MAX_G], l[MAX_G], o[MAX_G][8];
};

static __device__ __forceinline__ void lanes_init(DecodeLanes &st, const bf16 *__restrict__ q, int t, int Hq, int kh,
                                                  int g, int sub, float scaleLog2) {
#pragma unroll
    for (int i = 0; i < MAX_G; i++) {
        if (i < g) {
            const uint4 qv = *reinterpret_cast<const uint4 *>(q + ((long)t * Hq + kh * g + i) * HEAD_DIM + sub * 8);
            unpack8(qv, st.qf[i]);
#pragma unroll
            for (int e = 0; e < 8; e++) st.qf[i][e] *= scaleLog2;
        }
    }
#pragma unroll
    for (int i = 0; i < MAX_G; i++) {
        st.m[i] = -INFINITY;
        st.l[i] = 0.f;
#pragma unroll
        for (int e = 0; e < 8; e++) st.o[i][e] = 0.f;
    }
}

// Keys [start, end) of KV head kh: warp w, lane group grp takes keys start + w·KPW + grp, then every WARPS·KPW-th.
// Every lane of a warp runs the same number of steps (the shuffles need the whole warp); a lane group whose key is
// past the end computes on zeros and keeps its state.
static __device__ __forceinline__ void lanes_visit(DecodeLanes &st, const bf16 *__restrict__ kc,
                                                   const bf16 *__restrict__ vc, long start, long end, int kh, int Hkv,
                                                   int g, int warp, int grp, int sub) {
    const long rowStride = (long)Hkv * HEAD_DIM;
    for (long j0 = start + warp * KPW; j0 < end; j0 += WARPS * KPW) {
        const long j = j0 + grp;
        const bool valid = j < end;
        uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
        if (valid) {
            kv = *reinterpret_cast<const uint4 *>(kc + j * rowStride + kh * HEAD_DIM + sub * 8);
            vv = *reinterpret_cast<const uint4 *>(vc + j * rowStride + kh * HEAD_DIM + sub * 8);
        }
        float kf[8], vf[8];
        unpack8(kv, kf);
        unpack8(vv, vf);
#pragma unroll
        for (int i = 0; i < MAX_G; i++) {
            if (i < g) {                                      // g is the same for the whole CTA
                float d = 0.f;
#pragma unroll
                for (int e = 0; e < 8; e++) d = fmaf(st.qf[i][e], kf[e], d);
#pragma unroll
                for (int off = LANES / 2; off > 0; off >>= 1) d += __shfl_xor_sync(0xffffffffu, d, off);
                if (valid) {
                    const float mNew = fmaxf(st.m[i], d);     // finite: d is
                    const float corr = exp2f(st.m[i] - mNew); // 0 while m is −∞
                    const float p = exp2f(d - mNew);
                    st.l[i] = st.l[i] * corr + p;
#pragma unroll
                    for (int e = 0; e < 8; e++) st.o[i][e] = fmaf(p, vf[e], st.o[i][e] * corr);
                    st.m[i] = mNew;
                }
            }
        }
    }
}

// Merges the lane groups and warps of the CTA in shared memory and writes (m, l) and o of split s for query token t.
static __device__ __forceinline__ void lanes_store(const DecodeLanes &st, float (*sM)[MAX_G], float (*sL)[MAX_G],
                                                   float (*sO)[MAX_G][HEAD_DIM], float2 *__restrict__ ml,
                                                   float *__restrict__ po, int t, int Hq, int kh, int g, int S, int s,
                                                   int warp, int grp, int sub) {
    const int slot = warp * KPW + grp;
#pragma unroll
    for (int i = 0; i < MAX_G; i++) {
        if (i < g) {
            if (sub == 0) {
                sM[slot][i] = st.m[i];
                sL[slot][i] = st.l[i];
            }
#pragma unroll
            for (int e = 0; e < 8; e++) sO[slot][i][sub * 8 + e] = st.o[i][e];
        }
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < g * HEAD_DIM; idx += WARPS * 32) {
        const int i = idx / HEAD_DIM, e = idx % HEAD_DIM;
        float M = -INFINITY;
        for (int r = 0; r < WARPS * KPW; r++) M = fmaxf(M, sM[r][i]);
        float lsum = 0.f, osum = 0.f;
        if (M != -INFINITY) {
            for (int r = 0; r < WARPS * KPW; r++) {
                const float w = exp2f(sM[r][i] - M);
                lsum = fmaf(w, sL[r][i], lsum);
                osum = fmaf(w, sO[r][i][e], osum);
            }
        }
        const long row = ((long)t * Hq + kh * g + i) * S + s;
        po[row * HEAD_DIM + e] = osum;
        if (e == 0) ml[row] = make_float2(M, lsum);
    }
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
attn_decode_partial(const bf16 *__restrict__ q, const bf16 *__restrict__ kc, const bf16 *__restrict__ vc,
                    const int *__restrict__ pos, int posAdd, float2 *__restrict__ ml, float *__restrict__ po, int Hq, int Hkv,
                    int S, float scaleLog2) {
    __shared__ float sM[WARPS * KPW][MAX_G], sL[WARPS * KPW][MAX_G];
    __shared__ float sO[WARPS * KPW][MAX_G][HEAD_DIM];
    const int s = blockIdx.x, kh = blockIdx.y, t = blockIdx.z;
    const int g = Hq / Hkv;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int grp = lane / LANES, sub = lane % LANES;
    const long L = (long)pos[0] + posAdd + t + 1;
    const long chunk = (L + S - 1) / S;
    const long start = s * chunk, end = min(L, start + chunk);
    DecodeLanes st;
    lanes_init(st, q, t, Hq, kh, g, sub, scaleLog2);
    lanes_visit(st, kc, vc, start, end, kh, Hkv, g, warp, grp, sub);
    lanes_store(st, sM, sL, sO, ml, po, t, Hq, kh, g, S, s, warp, grp, sub);
}

// Block-sparse decoding of one token (SeerAttention-R, SparseDecodeAttention with one unpadded sequence): as
// attn_decode_partial with T = 1, over the visited blocks of each KV head instead of the whole cache, and with the
// merge of the splits done by the last CTA of each KV head instead of a second kernel. list [Hkv, listStride] holds
// the blocks in ascending order and count [Hkv] their number (decode_scores_select of decode_gate.cu); block n is
// keys [n·B, min((n+1)·B, L)), L = *pos + posAdd + 1. The kept keys, count·B of them in list order, are dealt to the
// S splits in contiguous ranges of ceil(count·B / S) (so a split may take part of a block, and many CTAs share a few
// blocks); CTA (s, kh) writes (m, l) and o of its range as attn_decode_partial does (S ≤ SPARSE_MAX_S); the last of the S CTAs of kh to finish (arrivals[kh] counts them; it resets it for the
// next step) merges them as attn_decode_combine does into out [Hq, D] bf16 for the g query heads of kh. out may be q:
// every CTA of kh has read q before it arrives. Grid (S, Hkv), 128 threads.
extern "C" __global__ void __launch_bounds__(WARPS * 32)
attn_sparse_decode(const bf16 *q, const bf16 *__restrict__ kc, const bf16 *__restrict__ vc,
                   const int *__restrict__ pos, int posAdd, const int *__restrict__ list, const int *__restrict__ count,
                   int listStride, int B, float2 *ml, float *po, bf16 *out, unsigned *arrivals, int Hq, int Hkv, int S,
                   float scaleLog2) {
    __shared__ float sM[WARPS * KPW][MAX_G], sL[WARPS * KPW][MAX_G];
    __shared__ float sO[WARPS * KPW][MAX_G][HEAD_DIM];
    __shared__ int isLast;
    const int s = blockIdx.x, kh = blockIdx.y;
    const int g = Hq / Hkv;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int grp = lane / LANES, sub = lane % LANES;
    const long L = (long)pos[0] + posAdd + 1;
    const long total = (long)count[kh] * B;               // kept keys, the current block's unwritten ones included
    const long per = (total + S - 1) / S;
    const long k0 = s * per, k1 = min(total, k0 + per);
    DecodeLanes st;
    lanes_init(st, q, 0, Hq, kh, g, sub, scaleLog2);
    for (long e = k0 / B; e * B < k1; e++) {
        const long n = list[(long)kh * listStride + e];
        const long a = max(k0, e * B) - e * B, b = min(k1, (e + 1) * B) - e * B;
        lanes_visit(st, kc, vc, n * B + a, min(L, n * B + b), kh, Hkv, g, warp, grp, sub);
    }
    lanes_store(st, sM, sL, sO, ml, po, 0, Hq, kh, g, S, s, warp, grp, sub);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) isLast = atomicAdd(arrivals + kh, 1u) == (unsigned)S - 1;
    __syncthreads();
    if (!isLast) return;
    if (threadIdx.x == 0) arrivals[kh] = 0;
    __threadfence();
    // The merge, in three parallel steps (S ≤ SPARSE_MAX_S): every split's (m, l) into shared memory; per head the
    // maximum M and each split's weight 2^(m_s − M) / Σ_s 2^(m_s − M) l_s (warp w takes heads w, w + WARPS, …); then
    // out = Σ_s weight_s · o_s, the splits' rows read in blocks of 8 loads in flight.
    float *w = &sO[0][0][0];                                // g·S weights, reusing the partials' scratch
    float2 *sml = reinterpret_cast<float2 *>(w + MAX_G * SPARSE_MAX_S);
    for (int idx = threadIdx.x; idx < g * S; idx += WARPS * 32) sml[idx] = __ldcg(&ml[(long)kh * g * S + idx]);
    __syncthreads();
    for (int i = warp; i < g; i += WARPS) {
        float M = -INFINITY;
        for (int x = lane; x < S; x += 32) M = fmaxf(M, sml[i * S + x].x);
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, off));
        float l = 0.f;
        for (int x = lane; x < S; x += 32)
            if (M != -INFINITY) l = fmaf(exp2f(sml[i * S + x].x - M), sml[i * S + x].y, l);
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) l += __shfl_xor_sync(0xffffffffu, l, off);
        const float inv = l > 0.f ? 1.f / l : 0.f;
        for (int x = lane; x < S; x += 32) w[i * S + x] = M != -INFINITY ? exp2f(sml[i * S + x].x - M) * inv : 0.f;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < g * HEAD_DIM; idx += WARPS * 32) {
        const int i = idx / HEAD_DIM, e = idx % HEAD_DIM;
        const float *src = po + ((long)kh * g + i) * S * HEAD_DIM + e;
        float acc = 0.f;
        int x = 0;
        for (; x + 8 <= S; x += 8) {
            float v[8];
#pragma unroll
            for (int u = 0; u < 8; u++) v[u] = __ldcg(src + (long)(x + u) * HEAD_DIM);
#pragma unroll
            for (int u = 0; u < 8; u++) acc = fmaf(w[i * S + x + u], v[u], acc);
        }
        for (; x < S; x++) acc = fmaf(w[i * S + x], __ldcg(src + (long)x * HEAD_DIM), acc);
        out[((long)kh * g + i) * HEAD_DIM + e] = __float2bfloat16_rn(acc);
    }
}

extern "C" __global__ void attn_decode_combine(const float2 *__restrict__ ml, const float *__restrict__ po,
                                               bf16 *__restrict__ out, int Hq, int S) {
    const int h = blockIdx.x, t = blockIdx.y, e = threadIdx.x;
    const long row0 = ((long)t * Hq + h) * S;
    float M = -INFINITY;
    for (int s = 0; s < S; s++) M = fmaxf(M, ml[row0 + s].x);
    float lsum = 0.f, osum = 0.f;
    if (M != -INFINITY) {
        for (int s = 0; s < S; s++) {
            const float2 v = ml[row0 + s];
            const float w = exp2f(v.x - M);
            lsum = fmaf(w, v.y, lsum);
            osum = fmaf(w, po[(row0 + s) * HEAD_DIM + e], osum);
        }
    }
    out[((long)t * Hq + h) * HEAD_DIM + e] = __float2bfloat16_rn(lsum > 0.f ? osum / lsum : 0.f);
}
