// SeerAttention-R decoding (docs/SPEC.md §7): the decode gate and the block selection, per (sequence b, KV head kh).
// The gate's arithmetic is fp32 (norm sums and RoPE angles in fp64); the pre-RoPE inputs are fp32 (the CUDA
// engine, suffix _f32) or bf16 (the model runtime's qPre/kPre, suffix _bf16). Each kernel names the reference
// method of org.seerjava.reference.decode it computes.
//
//   gate query (DecodeGate.query), one token at position p:
//     Qg[kh] = RoPE_p( qnorm( Qproj: Σ_j Σ_i q[kh·g+j, i] · W_q[kh, j, i, :] | Qavgproj: mean_j q · W_q[kh] | Qavg ) )
//   compressed key of block n (DecodeGate.compressedKeys), rotated at P_n:
//     Kc[n, kh] = RoPE_{P_n}( knorm( concat_{f ∈ kPools} f_{t ∈ block n} k[t, kh] · W_k[kh] ) )
//   K-compression cache (KCompressionCache): entry n = Kc[n] once block n is complete, the zero vector before;
//     the raw keys of the partial block wait in `remainder [batch, B, Hkv, D]` (slot t mod B)
//   logits (DecodeGate.logits): s[kh, n] = Qg[kh] · Kc[n, kh] / √Dg, −1e20 where the block holds no real token
//   selection (DecodeSelection.select): token budget (top-k of k = budget / B, ties to the lower index; every
//     block when nb ≤ k; & the block attention mask) or threshold (score > τ); the last block always
//   visited blocks (SparseDecodeAttention): the selection and the first block holding a real token, from it on
//
// Sizes: D = Dg (the cache keeps raw D-sized keys in Dg-sized slots), Dg even when RoPE is on. Pools: bit 0 max,
// bit 1 min, bit 2 avg (SeerKernels.poolBits), features concatenated in that order. Query pooling: 0 Qproj,
// 1 Qavgproj, 2 Qavg. Positions come from device memory (`pos`, may be null) plus `posAdd`, so that a captured
// CUDA graph of a decode step can be replayed at every position. Gate kernels: 256 threads, dynamic shared memory
// (DecodeKernels.queryShared / compressShared on the host).

#include "common.cuh"

typedef __nv_bfloat16 bf16;

#define GATE_THREADS 256
#define MASKED_LOGIT (-1e20f)
#define GATE_NORM_EPS 1e-6
#define POOLING_QPROJ 0
#define POOLING_QAVGPROJ 1
#define POOLING_QAVG 2

static __device__ __forceinline__ float ld(const float *p) { return *p; }
static __device__ __forceinline__ float ld(const bf16 *p) { return __bfloat162float(*p); }

static __device__ __forceinline__ int position_of(const int *pos, int posAdd) {
    return (pos == nullptr ? 0 : pos[0]) + posAdd;
}

// Sum over the CTA in fp64, in a fixed order (deterministic); every thread gets the total. red: 32 doubles.
static __device__ double block_sum_f64(double v, double *red) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();                                      // red may still be read by an earlier call
    if (lane == 0) red[warp] = v;
    __syncthreads();
    double t = 0;
    for (int w = 0; w < warps; w++) t += red[w];
    return t;
}

// Maximum over the CTA; every thread gets it. red: 32 floats.
static __device__ float block_max(float v, float *red) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float t = -INFINITY;
    for (int w = 0; w < warps; w++) t = fmaxf(t, red[w]);
    return t;
}

// CTA-wide counts and prefixes with one barrier each: the warps' partial results go to one of two halves of `red`
// (64 ints) in turn, so a thread that runs ahead into the next call writes the half nobody is still reading (it has
// passed a barrier that every reader of the other half reaches only after reading).
struct BlockScratch {
    int *red;
    int half;
};

// Exclusive prefix of per-thread counts over the CTA in thread order; *total receives the sum.
static __device__ int block_scan(int v, int *total, BlockScratch &b) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    int inc = v;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const int t = __shfl_up_sync(0xffffffffu, inc, o);
        if (lane >= o) inc += t;
    }
    int *r = b.red + 32 * b.half;
    b.half ^= 1;
    if (lane == 31) r[warp] = inc;
    __syncthreads();
    const int mine = lane < warps ? r[lane] : 0;
    const int before = (int)__reduce_add_sync(0xffffffffu, lane < warp ? (u32)mine : 0u);
    *total = (int)__reduce_add_sync(0xffffffffu, (u32)mine);
    return before + inc - v;
}

// Exclusive prefix of a flag over the CTA in thread order; *total receives the count.
static __device__ int block_prefix(bool flag, int *total, BlockScratch &b) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const u32 bal = __ballot_sync(0xffffffffu, flag);
    int *r = b.red + 32 * b.half;
    b.half ^= 1;
    if (lane == 0) r[warp] = __popc(bal);
    __syncthreads();
    const int mine = lane < warps ? r[lane] : 0;
    const int before = (int)__reduce_add_sync(0xffffffffu, lane < warp ? (u32)mine : 0u);
    *total = (int)__reduce_add_sync(0xffffffffu, (u32)mine);
    return before + __popc(bal & ((1u << lane) - 1u));
}

// RMSNorm (RmsNorm.apply: w · x / √(mean x² + 1e-6), the sum in fp64) and rotate-half RoPE at `position` (angles
// and rotation in fp64, DecodeGate's normAndRotate) of y[0, Dg) in shared memory, in place.
static __device__ void norm_and_rotate(float *y, const float *normW, const double *invFreq, int position, int Dg,
                                       double *red) {
    if (normW != nullptr) {
        double ss = 0;
        for (int o = threadIdx.x; o < Dg; o += blockDim.x) ss += (double)y[o] * y[o];
        ss = block_sum_f64(ss, red);
        const float inv = (float)(1.0 / sqrt(ss / Dg + GATE_NORM_EPS));
        for (int o = threadIdx.x; o < Dg; o += blockDim.x) y[o] = normW[o] * (y[o] * inv);
        __syncthreads();
    }
    if (invFreq != nullptr) {
        const int half = Dg / 2;
        for (int k = threadIdx.x; k < half; k += blockDim.x) {
            double sn, cs;
            sincos((double)position * invFreq[k], &sn, &cs);
            const double x1 = y[k], x2 = y[k + half];
            y[k] = (float)(x1 * cs - x2 * sn);
            y[k + half] = (float)(x2 * cs + x1 * sn);
        }
        __syncthreads();
    }
}

// y[o] = Σ_{r < rows} x[r] · w[r·Dg + o] for o < Dg, x and y in shared memory: the rows are dealt to
// blockDim / Dg groups of threads in turn (more loads in flight than one thread per output), whose partial sums
// (`part`, max(blockDim, Dg) floats of shared memory) are added in group order.
static __device__ void matvec(const float *x, const float *__restrict__ w, int rows, int Dg, float *y, float *part) {
    const int width = min((int)blockDim.x, Dg);          // threads per group
    const int groups = blockDim.x >= Dg ? blockDim.x / Dg : 1;
    const int grp = threadIdx.x / width;
    if (grp < groups) {
        for (int o = threadIdx.x % width; o < Dg; o += width) {
            float acc = 0.f;
            for (int r = grp; r < rows; r += groups) acc = fmaf(x[r], w[(long)r * Dg + o], acc);
            part[grp * Dg + o] = acc;
        }
    }
    __syncthreads();
    for (int o = threadIdx.x; o < Dg; o += blockDim.x) {
        float sum = 0.f;
        for (int q = 0; q < groups; q++) sum += part[q * Dg + o];
        y[o] = sum;
    }
    __syncthreads();
}

// ---------------------------------------------------------------------------------------------------------------
// Gate query of one token per sequence (DecodeGate.query): q [batch, Hq, D] → qGate [batch, Hkv, Dg].
// Grid (Hkv, batch). Shared: 32 doubles, max(blockDim, Dg) + g·D + Dg floats.
template <typename T>
static __device__ void gate_query_body(const T *__restrict__ q, float *__restrict__ qGate, const float *__restrict__ wq,
                                       const float *__restrict__ qNorm, const double *__restrict__ invFreq,
                                       int position, int Hq, int Hkv, int D, int Dg, int pooling, int b, int kh,
                                       double *shared) {
    const int g = Hq / Hkv;
    double *red = shared;
    float *part = reinterpret_cast<float *>(shared + 32);   // matvec's partial sums, max(blockDim, Dg)
    float *x = part + max((int)blockDim.x, Dg);          // the g heads of the group, g·D
    float *y = x + g * D;                                // the gate query, Dg
    const T *src = q + ((long)b * Hq + (long)kh * g) * D;
    for (int r = threadIdx.x; r < g * D; r += blockDim.x) x[r] = ld(src + r);
    __syncthreads();
    if (pooling != POOLING_QPROJ) {                      // the mean of the group's heads, over x[0, D)
        for (int i = threadIdx.x; i < D; i += blockDim.x) {
            float sum = 0.f;
            for (int j = 0; j < g; j++) sum += x[j * D + i];
            x[i] = sum / (float)g;                       // thread i alone reads and writes column i
        }
        __syncthreads();
    }
    if (pooling == POOLING_QPROJ) {
        matvec(x, wq + (long)kh * g * D * Dg, g * D, Dg, y, part);
    } else if (pooling == POOLING_QAVGPROJ) {
        matvec(x, wq + (long)kh * D * Dg, D, Dg, y, part);
    } else {
        for (int o = threadIdx.x; o < Dg; o += blockDim.x) y[o] = x[o];   // Qavg: Dg = D
        __syncthreads();
    }
    norm_and_rotate(y, qNorm, invFreq, position, Dg, red);
    float *dst = qGate + ((long)b * Hkv + kh) * Dg;
    for (int o = threadIdx.x; o < Dg; o += blockDim.x) dst[o] = y[o];
}

extern "C" __global__ void __launch_bounds__(GATE_THREADS)
decode_gate_query_f32(const float *q, float *qGate, const float *wq, const float *qNorm, const double *invFreq,
                      const int *pos, int posAdd, int Hq, int Hkv, int D, int Dg, int pooling) {
    extern __shared__ double shDyn[];
    gate_query_body<float>(q, qGate, wq, qNorm, invFreq, position_of(pos, posAdd), Hq, Hkv, D, Dg, pooling,
                           blockIdx.y, blockIdx.x, shDyn);
}

// ---------------------------------------------------------------------------------------------------------------
// The compressed key of one block (DecodeGate.compressedKeys) into entry[0, Dg): tokens [first, last) of KV head
// kh, those before p0 read from the remainder rem (slot t − first), the others from in (token t − p0); pooled (the
// average over last − first tokens), projected by W_k, normed, rotated at `position`. Shared: 32 doubles,
// max(blockDim, Dg) + kdup·D + Dg floats.
template <typename T>
static __device__ void compress_block(const T *__restrict__ in, const float *__restrict__ rem, long row, int first,
                                      int last, int p0, float *__restrict__ entry, const float *__restrict__ wk,
                                      const float *__restrict__ kNorm, const double *__restrict__ invFreq, int position,
                                      int kh, int D, int Dg, int kPools, double *shared) {
    double *red = shared;
    float *part = reinterpret_cast<float *>(shared + 32);   // matvec's partial sums, max(blockDim, Dg)
    float *f = part + max((int)blockDim.x, Dg);          // pooled features, kdup·D
    const int kdup = __popc(kPools & 7);
    float *y = f + kdup * D;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float mx = -INFINITY, mn = INFINITY, sum = 0.f;
        for (int t = first; t < last; t++) {
            const float v = t < p0 ? rem[(t - first) * row + i] : ld(in + (t - p0) * row + i);
            mx = fmaxf(mx, v);
            mn = fminf(mn, v);
            sum += v;
        }
        int at = 0;
        if (kPools & 1) f[(at++) * D + i] = mx;
        if (kPools & 2) f[(at++) * D + i] = mn;
        if (kPools & 4) f[(at++) * D + i] = sum / (float)(last - first);
    }
    __syncthreads();
    const int features = kdup * D;
    matvec(f, wk + (long)kh * features * Dg, features, Dg, y, part);
    norm_and_rotate(y, kNorm, invFreq, position, Dg, red);
    for (int o = threadIdx.x; o < Dg; o += blockDim.x) entry[o] = y[o];
}

// Compressed keys of every block of k [batch, seqLen, Hkv, D] (DecodeGate.compressedKeys, a partial last block
// pooled over its tokens), block n rotated at positions[n]: out [batch, nb, Hkv, Dg]. Grid (Hkv, nb, batch).
extern "C" __global__ void __launch_bounds__(GATE_THREADS)
decode_compressed_keys_f32(const float *k, int seqLen, const int *positions, float *out, const float *wk,
                           const float *kNorm, const double *invFreq, int Hkv, int D, int Dg, int B, int kPools) {
    extern __shared__ double shDyn[];
    const int kh = blockIdx.x, n = blockIdx.y, b = blockIdx.z, nb = gridDim.y;
    const long row = (long)Hkv * D;
    compress_block<float>(k + (long)b * seqLen * row + (long)kh * D, nullptr, row, n * B, min(n * B + B, seqLen), 0,
                          out + (((long)b * nb + n) * Hkv + kh) * Dg, wk, kNorm, invFreq, positions[n], kh, D, Dg,
                          kPools, shDyn);
}

// K-compression cache append (KCompressionCache.prefill / push): n tokens of each sequence at positions p0 … p0+n−1,
// keys [batch, n, Hkv, D] (`keysBatch` elements from one sequence to the next). CTA (kh, y, b) takes block
// j = p0/B + y: a complete block is compressed (compress_block; its tokens before p0 come from the remainder)
// rotated at j·B (keyPosMode 0: prefill, BLOCK_START) or j·B + B − 1 (keyPosMode 1: CURRENT_TOKEN) into entry j; a
// partial block gets the zero entry and, with writeRemainder, its new keys go to their remainder slots.
// writeRemainder must be 0 when a complete block that reads the remainder and a partial one are both in the grid
// (then kcache_keep_remainder follows).
template <typename T>
static __device__ void kcache_append_body(const T *__restrict__ keys, long keysBatch, float *__restrict__ remainder,
                                          float *__restrict__ compressed, long compressedBatch,
                                          const float *__restrict__ wk, const float *__restrict__ kNorm,
                                          const double *__restrict__ invFreq, int p0, int n, int j, int b, int kh,
                                          int Hkv, int D, int Dg, int B, int kPools, int keyPosMode,
                                          int writeRemainder, double *shared) {
    const int end = p0 + n;
    const int first = j * B;
    if (first >= end) return;
    const int last = min(first + B, end);
    const long row = (long)Hkv * D;                      // elements from one token to the next
    float *entry = compressed + b * compressedBatch + ((long)j * Hkv + kh) * Dg;
    float *rem = remainder + (long)b * B * row + (long)kh * D;
    const T *in = keys + b * keysBatch + (long)kh * D;
    if (last - first < B) {                              // a partial block: zero entry, keys wait in the remainder
        for (int o = threadIdx.x; o < Dg; o += blockDim.x) entry[o] = 0.f;
        if (writeRemainder) {
            for (int t = max(first, p0); t < last; t++)
                for (int i = threadIdx.x; i < D; i += blockDim.x) rem[(t - first) * row + i] = ld(in + (t - p0) * row + i);
        }
        return;
    }
    compress_block<T>(in, rem, row, first, last, p0, entry, wk, kNorm, invFreq,
                      keyPosMode == 0 ? first : first + B - 1, kh, D, Dg, kPools, shared);
}

#define KCACHE_APPEND(NAME, T)                                                                                       \
    extern "C" __global__ void __launch_bounds__(GATE_THREADS)                                                      \
    NAME(const T *keys, long keysBatch, float *remainder, float *compressed, long compressedBatch, const float *wk, \
         const float *kNorm, const double *invFreq, const int *pos, int posAdd, int n, int Hkv, int D, int Dg,      \
         int B, int kPools, int keyPosMode, int writeRemainder) {                                                   \
        extern __shared__ double shDyn[];                                                                           \
        const int p0 = position_of(pos, posAdd);                                                                    \
        kcache_append_body<T>(keys, keysBatch, remainder, compressed, compressedBatch, wk, kNorm, invFreq, p0, n,   \
                              p0 / B + blockIdx.y, blockIdx.z, blockIdx.x, Hkv, D, Dg, B, kPools, keyPosMode,       \
                              writeRemainder, shDyn);                                                               \
    }
KCACHE_APPEND(kcache_append_f32, float)
KCACHE_APPEND(kcache_append_bf16, bf16)

// The new keys of the last block of an append into the remainder, when that block is partial (the second step of
// an append launched with writeRemainder = 0). Grid (Hkv, 1, batch).
#define KCACHE_KEEP(NAME, T)                                                                                         \
    extern "C" __global__ void NAME(const T *keys, long keysBatch, float *remainder, int p0, int n, int Hkv, int D, \
                                    int B) {                                                                        \
        const int end = p0 + n, b = blockIdx.z, kh = blockIdx.x;                                                    \
        const int first = (end - 1) / B * B;                                                                        \
        if (end - first == B) return;                                                                               \
        const long row = (long)Hkv * D;                                                                             \
        float *rem = remainder + (long)b * B * row + (long)kh * D;                                                  \
        const T *in = keys + b * keysBatch + (long)kh * D;                                                          \
        for (int t = max(first, p0); t < end; t++)                                                                  \
            for (int i = threadIdx.x; i < D; i += blockDim.x) rem[(t - first) * row + i] = ld(in + (t - p0) * row + i); \
    }
KCACHE_KEEP(kcache_keep_remainder_f32, float)
KCACHE_KEEP(kcache_keep_remainder_bf16, bf16)

// ---------------------------------------------------------------------------------------------------------------
// Gate logits (DecodeGate.logits): out [batch, Hkv, nb] from qGate [batch, Hkv, Dg] and the compressed keys
// kc [batch, ≥ nb, Hkv, Dg] (`kcBatch` elements from one sequence to the next), −1e20 where blockMask [batch, nb]
// (null: every block real) is 0. One warp per block, lanes over Dg; grid (ceil(nb / 8), Hkv, batch), 256 threads.
static __device__ __forceinline__ float gate_logit(const float *qg, const float *kc, int Dg, float scale) {
    const int lane = threadIdx.x & 31;
    float dot = 0.f;
    for (int d = lane; d < Dg; d += 32) dot = fmaf(qg[d], kc[d], dot);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    return dot * scale;
}

extern "C" __global__ void __launch_bounds__(GATE_THREADS)
decode_gate_logits(const float *qGate, const float *kc, long kcBatch, const u8 *blockMask, float *out, int nb,
                   int Hkv, int Dg, float scale) {
    const int j = blockIdx.x * (GATE_THREADS / 32) + (threadIdx.x >> 5), kh = blockIdx.y, b = blockIdx.z;
    if (j >= nb) return;                                 // whole warps leave together
    const float logit = gate_logit(qGate + ((long)b * Hkv + kh) * Dg, kc + b * kcBatch + ((long)j * Hkv + kh) * Dg,
                                   Dg, scale);
    if ((threadIdx.x & 31) == 0)
        out[((long)b * Hkv + kh) * nb + j] = blockMask != nullptr && blockMask[(long)b * nb + j] == 0 ? MASKED_LOGIT
                                                                                                     : logit;
}

// ---------------------------------------------------------------------------------------------------------------
// Selection of one row of nb scores by a whole CTA (DecodeSelection.select). budget ≥ 0: token budget of `budget`
// blocks; budget < 0: threshold τ (score > τ, compared in fp64). The top k are found exactly on the order-preserving
// key of the float by a radix select (radix_select); of the scores equal to the k-th largest, the lowest indices
// are taken. Writes the selection into mask (or not, when null) and, when list is not null, the visited blocks
// (selected or = firstBlock, from firstBlock on) in ascending order, their number into *count. The scores (shared
// or global memory) must have been written by this CTA (before a barrier) or by an earlier launch. Needs blockDim
// a multiple of 32 and > 32; shared: a SelectScratch.
static __device__ __forceinline__ u32 score_key(float v) {
    const u32 u = (__float_as_uint(v) & 0x7fffffffu) == 0 ? 0u : __float_as_uint(v);   // −0 ties with +0
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

#define RADIX_BITS 8
#define RADIX_BINS (1 << RADIX_BITS)
#define SELECT_PER_THREAD 2                              // consecutive scores a thread takes in the ordered pass

struct __align__(16) SelectScratch {
    int hist[2][RADIX_BINS];                             // this pass's digit counts, the next pass's being zeroed
    int digit, above, inBin;                             // the pass's result, from warp 0
    int red[64];                                         // BlockScratch
};

// The budget-th largest key of s[0, nb) (0 < budget < nb), most significant digit first: pass p counts the keys
// whose higher digits equal the prefix found so far by their digit p (a shared histogram, warp-aggregated atomics),
// and warp 0 finds the digit at which the count of keys from the top reaches the keys still wanted. On return the
// keys with (key & *mask) > *prefix are taken, and of those with (key & *mask) == *prefix the *need lowest indices
// (*ranked false: all of them — the passes stop early once the k-th key's bin holds exactly the keys still wanted).
static __device__ void radix_select(const float *s, int nb, int budget, SelectScratch &sh, u32 *prefix, u32 *mask,
                                    int *need, bool *ranked) {
    const int lane = threadIdx.x & 31;
    for (int i = threadIdx.x; i < 2 * RADIX_BINS; i += blockDim.x) sh.hist[i / RADIX_BINS][i % RADIX_BINS] = 0;
    __syncthreads();
    u32 pre = 0, msk = 0;
    int want = budget, inBin = 0;
    for (int pass = 0; pass < 32 / RADIX_BITS; pass++) {
        const int shift = 32 - RADIX_BITS * (pass + 1);
        int *h = sh.hist[pass & 1];
        for (int base = 0; base < nb; base += blockDim.x) {
            const int j = base + threadIdx.x;
            const u32 key = j < nb ? score_key(s[j]) : 0u;
            const bool in = j < nb && (key & msk) == pre;
            const u32 digit = in ? (key >> shift) & (RADIX_BINS - 1) : (u32)RADIX_BINS;
            const u32 peers = __match_any_sync(0xffffffffu, digit);
            if (in && lane == __ffs(peers) - 1) atomicAdd(h + digit, __popc(peers));
        }
        __syncthreads();
        if (threadIdx.x < 32) {                          // lane l: bins [8l, 8l + 8)
            const int4 *h4 = reinterpret_cast<const int4 *>(h) + 2 * lane;
            const int4 lo = h4[0], hi = h4[1];
            const int c[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
            int mine = 0;
#pragma unroll
            for (int i = 0; i < 8; i++) mine += c[i];
            int suffix = mine;                           // keys in the bins of lanes ≥ l
#pragma unroll
            for (int o = 1; o < 32; o <<= 1) {
                const int t = __shfl_down_sync(0xffffffffu, suffix, o);
                if (lane + o < 32) suffix += t;
            }
            int above = suffix - mine;                   // keys in higher bins
#pragma unroll
            for (int i = 7; i >= 0; i--) {
                if (above < want && above + c[i] >= want) {   // exactly one bin of the CTA
                    sh.digit = 8 * lane + i;
                    sh.above = above;
                    sh.inBin = c[i];
                }
                above += c[i];
            }
        } else {                                         // the other buffer: last read by the previous pass's warp 0
            int *next = sh.hist[(pass + 1) & 1];
            for (int i = threadIdx.x - 32; i < RADIX_BINS; i += blockDim.x - 32) next[i] = 0;
        }
        __syncthreads();
        pre |= (u32)sh.digit << shift;
        msk |= (u32)(RADIX_BINS - 1) << shift;
        want -= sh.above;
        inBin = sh.inBin;
        if (inBin == want) break;                        // the whole bin is taken: no lower digit matters
    }
    *prefix = pre;
    *mask = msk;
    *need = want;
    *ranked = want < inBin;
}

static __device__ void select_row(const float *s, int nb, int budget, double threshold, const u8 *blockMask,
                                  u8 *mask, int *list, int *count, int firstBlock, SelectScratch &sh) {
    BlockScratch scratch{sh.red, 0};
    const bool tokenBudget = budget >= 0;
    const bool all = tokenBudget && nb <= budget;
    const bool topk = tokenBudget && !all && budget > 0;
    u32 thr = 0, keyMask = 0;                            // keys masked by keyMask: the budget-th largest is thr
    int need = 0;                                        // how many keys equal to thr are taken
    bool ranked = false;                                 // fewer than all of them: the lowest indices
    if (topk) radix_select(s, nb, budget, sh, &thr, &keyMask, &need, &ranked);
    int eqBefore = 0, listed = 0;
    for (int base = 0; base < nb; base += SELECT_PER_THREAD * blockDim.x) {   // in index order
        const int j0 = base + SELECT_PER_THREAD * threadIdx.x;
        float sc[SELECT_PER_THREAD];
        u32 key[SELECT_PER_THREAD];
        int eqs = 0;
#pragma unroll
        for (int i = 0; i < SELECT_PER_THREAD; i++) {
            sc[i] = j0 + i < nb ? s[j0 + i] : 0.f;
            key[i] = score_key(sc[i]) & keyMask;
            eqs += j0 + i < nb && topk && key[i] == thr;
        }
        int eqRank = 0;
        if (ranked) {                                    // uniform over the CTA
            int eqTotal;
            eqRank = eqBefore + block_scan(eqs, &eqTotal, scratch);
            eqBefore += eqTotal;
        }
        bool sel[SELECT_PER_THREAD];
        int visits = 0;
#pragma unroll
        for (int i = 0; i < SELECT_PER_THREAD; i++) {
            const int j = j0 + i;
            sel[i] = false;
            if (j >= nb) continue;
            if (tokenBudget) {
                const bool eq = topk && key[i] == thr;
                sel[i] = all || (topk && (key[i] > thr || (eq && (!ranked || eqRank < need))));
                eqRank += eq;
                if (blockMask != nullptr) sel[i] = sel[i] && blockMask[j] != 0;
            } else {
                sel[i] = (double)sc[i] > threshold;
            }
            if (j == nb - 1) sel[i] = true;              // the current block
            if (mask != nullptr) mask[j] = sel[i] ? 1 : 0;
            visits += j >= firstBlock && (sel[i] || j == firstBlock);
        }
        if (list != nullptr) {
            int total;
            int at = listed + block_scan(visits, &total, scratch);
#pragma unroll
            for (int i = 0; i < SELECT_PER_THREAD; i++) {
                const int j = j0 + i;
                if (j < nb && j >= firstBlock && (sel[i] || j == firstBlock)) list[at++] = j;
            }
            listed += total;
        }
    }
    if (list != nullptr && threadIdx.x == 0) *count = listed;
}

// Selection of rows [batch · Hkv] of scores [batch, Hkv, nb] into mask [batch, Hkv, nb] (DecodeOps.decodeSelect);
// blockMask [batch, nb] or null. Grid (Hkv, batch), 256 threads.
extern "C" __global__ void __launch_bounds__(GATE_THREADS)
decode_select(const float *scores, u8 *mask, const u8 *blockMask, int Hkv, int nb, int budget, double threshold) {
    __shared__ SelectScratch sh;
    const long row = (long)blockIdx.y * Hkv + blockIdx.x;
    select_row(scores + row * nb, nb, budget, threshold, blockMask == nullptr ? nullptr : blockMask + (long)blockIdx.y * nb,
               mask + row * nb, nullptr, nullptr, 0, sh);
}

// The visited blocks of items [items] (a sequence of the left-padded cache, or a teacher-forced row): keys
// [first[i], end[i]) are real, block n is visited when mask[i, kh, n] is set or n = first[i] / B (SparseDecodeAttention).
// mask [items, Hkv, nbMask]; list [items, Hkv, listStride], count [items, Hkv]. Grid (Hkv, items), 256 threads.
extern "C" __global__ void __launch_bounds__(GATE_THREADS)
decode_block_list(const u8 *mask, const int *first, const int *end, int *list, int *count, int Hkv, int nbMask,
                  int listStride, int B) {
    __shared__ int red[64];
    BlockScratch scratch{red, 0};
    const int kh = blockIdx.x, i = blockIdx.y;
    const long row = (long)i * Hkv + kh;
    const int fb = first[i] / B, lb = (end[i] - 1) / B;
    const u8 *m = mask + row * nbMask;
    int listed = 0;
    for (int base = fb; base <= lb; base += blockDim.x) {
        const int n = base + threadIdx.x;
        const bool visit = n <= lb && (n == fb || m[n] != 0);
        int total;
        const int at = listed + block_prefix(visit, &total, scratch);
        if (visit) list[row * listStride + at] = n;
        listed += total;
    }
    if (threadIdx.x == 0) count[row] = listed;
}

// ---------------------------------------------------------------------------------------------------------------
// One decode step of the model runtime (batch 1, bf16 qPre/kPre of the token at position p = *pos + posAdd), per
// layer. The gate query's linear (g·D rows of W_q per KV head for Qproj: 256 KiB at the 8B shape) is spread over
// many CTAs, QUERY_ROWS rows each, so that many SMs read W_q at once; each writes its partial product
// qPart [Hkv, slices, Dg], and decode_scores_select adds the slices (in slice order), norms and rotates the query.
//
// decode_gate_step_bf16: CTAs (kh, 0) push kPre into the K-compression cache (kcache_append, one token, keyPosMode
// of the gate); CTAs (kh, 1 + c) compute slice c of the gate query: rows [32c, 32c + 32) of the head pooling's
// output (the group's heads side by side for Qproj, their mean for Qavgproj and Qavg) times those rows of W_q (for
// Qavg, whose query is the mean itself, slice c writes its rows of the mean and zeros elsewhere). Grid (Hkv, 1 +
// slices), 256 threads, shared as the larger of the two.
#define QUERY_ROWS 32
template <typename T>
static __device__ void gate_query_slice(const T *__restrict__ q, float *__restrict__ qPart, const float *__restrict__ wq,
                                        int Hq, int Hkv, int D, int Dg, int pooling, int kh, int c, int slices,
                                        float *sh) {
    const int g = Hq / Hkv;
    const int rows = pooling == POOLING_QPROJ ? g * D : D;
    const int r0 = c * QUERY_ROWS, r1 = min(rows, r0 + QUERY_ROWS);
    float *x = sh;                                       // this slice's rows of the pooled query, QUERY_ROWS
    float *part = x + QUERY_ROWS;                        // matvec's partial sums, max(blockDim, Dg)
    float *y = part + max((int)blockDim.x, Dg);          // the slice's product, Dg
    const T *src = q + (long)kh * g * D;
    for (int r = threadIdx.x; r < r1 - r0; r += blockDim.x) {
        const int row = r0 + r;
        if (pooling == POOLING_QPROJ) {
            x[r] = ld(src + row);
        } else {
            float sum = 0.f;
            for (int j = 0; j < g; j++) sum += ld(src + j * D + row);
            x[r] = sum / (float)g;
        }
    }
    __syncthreads();
    float *dst = qPart + ((long)kh * slices + c) * Dg;
    if (pooling == POOLING_QAVG) {                       // Dg = D: the mean's own rows, zeros elsewhere
        for (int o = threadIdx.x; o < Dg; o += blockDim.x) dst[o] = o >= r0 && o < r1 ? x[o - r0] : 0.f;
        return;
    }
    const float *w = wq + (pooling == POOLING_QPROJ ? (long)kh * g * D * Dg : (long)kh * D * Dg) + (long)r0 * Dg;
    matvec(x, w, r1 - r0, Dg, y, part);
    for (int o = threadIdx.x; o < Dg; o += blockDim.x) dst[o] = y[o];
}

extern "C" __global__ void __launch_bounds__(GATE_THREADS)
decode_gate_step_bf16(const bf16 *qPre, const bf16 *kPre, float *qPart, float *remainder, float *compressed,
                      const float *wq, const float *wk, const float *kNorm, const double *invFreq, const int *pos,
                      int posAdd, int Hq, int Hkv, int D, int Dg, int B, int pooling, int kPools, int keyPosMode,
                      int slices) {
    extern __shared__ double shDyn[];
    const int p = position_of(pos, posAdd);
    if (blockIdx.y == 0)
        kcache_append_body<bf16>(kPre, 0, remainder, compressed, 0, wk, kNorm, invFreq, p, 1, p / B, 0, blockIdx.x,
                                 Hkv, D, Dg, B, kPools, keyPosMode, 1, shDyn);
    else
        gate_query_slice<bf16>(qPre, qPart, wq, Hq, Hkv, D, Dg, pooling, blockIdx.x, blockIdx.y - 1, slices,
                               reinterpret_cast<float *>(shDyn));
}

// decode_scores_select: the gate query (the slices of qPart added in order, then qnorm and RoPE at p, by every CTA
// for itself), the gate scores of the token (softmax of the logits over the nb = p / B + 1 blocks of the cache, as
// the CPU session's cache.scores) and their selection into the visited-block list of each KV head (first block 0:
// the runtime's cache is not padded). CTA (x, kh) computes the logits of blocks [64x, 64x + 64); the last CTA of a
// row to finish (a counter per row, reset by it for the next step) takes the softmax and the selection, and adds the
// visited and cached blocks to visits[0] and visits[1] (the decode density). scores and list [Hkv, maxBlocks], count
// and arrivals [Hkv] (arrivals zero before the first step). Grid (ceil(maxBlocks / 64), Hkv), 1024 threads. Dg ≤ 256.
// Dynamic shared memory: the row of nb floats when it fits (DecodeKernels.scoresSelectShared: maxBlocks floats up
// to 32 KiB), so that the softmax and the selection's passes read shared memory; else 0, the row stays in global.
#define SCORE_BLOCKS_PER_CTA 64
#define SCORE_THREADS 1024
static __device__ __forceinline__ u32 dynamic_shared_bytes() {
    u32 n;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(n));
    return n;
}

extern "C" __global__ void __launch_bounds__(SCORE_THREADS)
decode_scores_select(const float *qPart, int slices, const float *qNorm, const double *invFreq, const float *kc,
                     float *scores, int *list, int *count, unsigned *arrivals, unsigned long long *visits,
                     const int *pos, int posAdd, int Hkv, int Dg, int B, int maxBlocks, float scale, int budget,
                     double threshold) {
    extern __shared__ float rowSh[];                     // the row's logits, then its scores (when they fit)
    __shared__ SelectScratch sel;
    __shared__ float redf[32];
    __shared__ double redd[32];
    __shared__ float qg[256];
    __shared__ int isLast;
    const int kh = blockIdx.y;
    const int p = position_of(pos, posAdd);
    const int nb = p / B + 1;
    for (int o = threadIdx.x; o < Dg; o += blockDim.x) {
        float sum = 0.f;
#pragma unroll 8
        for (int c = 0; c < slices; c++) sum += qPart[((long)kh * slices + c) * Dg + o];
        qg[o] = sum;
    }
    __syncthreads();
    norm_and_rotate(qg, qNorm, invFreq, p, Dg, redd);
    float *row = scores + (long)kh * maxBlocks;
    // Warp w takes blocks j0 = 64x + w and j1 = j0 + 32 at once (both loads in flight), each as gate_logit.
    static_assert(SCORE_BLOCKS_PER_CTA == 2 * (SCORE_THREADS / 32), "two blocks a warp");
    const int lane = threadIdx.x & 31, jEnd = min(nb, (int)(blockIdx.x + 1) * SCORE_BLOCKS_PER_CTA);
    const int j0 = blockIdx.x * SCORE_BLOCKS_PER_CTA + (threadIdx.x >> 5), j1 = j0 + SCORE_THREADS / 32;
    if (j0 < jEnd) {                                     // whole warps
        const bool two = j1 < jEnd;
        const float *k0 = kc + ((long)j0 * Hkv + kh) * Dg + lane;
        const long step = two ? (long)(SCORE_THREADS / 32) * Hkv * Dg : 0;   // the second block, or the first again
        float dot0 = 0.f, dot1 = 0.f;
        for (int d = lane; d < Dg; d += 32, k0 += 32) {
            const float q = qg[d];
            dot0 = fmaf(q, k0[0], dot0);
            dot1 = fmaf(q, k0[step], dot1);
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            dot0 += __shfl_xor_sync(0xffffffffu, dot0, o);
            dot1 += __shfl_xor_sync(0xffffffffu, dot1, o);
        }
        if (lane == 0) {
            row[j0] = dot0 * scale;
            if (two) row[j1] = dot1 * scale;
        }
    }
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) isLast = atomicAdd(arrivals + kh, 1u) == gridDim.x - 1;
    __syncthreads();
    if (!isLast) return;
    if (threadIdx.x == 0) arrivals[kh] = 0;
    __threadfence();
    // The softmax: each thread takes scores j ≡ threadIdx.x (mod blockDim) in every pass (the fp64 sum's order).
    const bool inShared = (u32)nb * sizeof(float) <= dynamic_shared_bytes();
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < nb; j += blockDim.x) {
        const float x = __ldcg(row + j);
        if (inShared) rowSh[j] = x;
        mx = fmaxf(mx, x);
    }
    mx = block_max(mx, redf);
    double sum = 0;
    for (int j = threadIdx.x; j < nb; j += blockDim.x) {
        const float e = expf((inShared ? rowSh[j] : __ldcg(row + j)) - mx);
        if (inShared) rowSh[j] = e;
        sum += e;
    }
    const float inv = (float)(1.0 / block_sum_f64(sum, redd));
    for (int j = threadIdx.x; j < nb; j += blockDim.x) {
        const float v = (inShared ? rowSh[j] : expf(__ldcg(row + j) - mx)) * inv;
        if (inShared) rowSh[j] = v;
        row[j] = v;
    }
    __syncthreads();
    select_row(inShared ? rowSh : row, nb, budget, threshold, nullptr, nullptr, list + (long)kh * maxBlocks,
               count + kh, 0, sel);
    if (threadIdx.x == 0) {
        atomicAdd(visits, (unsigned long long)count[kh]);
        atomicAdd(visits + 1, (unsigned long long)nb);
    }
}
