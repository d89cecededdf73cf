// SeerAttention operations in fp32 (and the gate path on bf16 inputs): pooling, strided batched GEMM (gate
// linears and block logits), block RoPE, row softmax, block selection (threshold, top-k), fp32 attention
// (block-sparse, dense, dense + pooled target), and two helpers: a seeded uniform bf16 fill (random inputs and
// weights) and a count of non-zero bytes (kept blocks of a mask).
//
// Compile-time constants (-D): HEAD_DIM and ATTN_BLOCK (<= 64) for the fp32 attention kernels.

#include "common.cuh"

#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif


#define FLT_MAX_ 3.402823466e+38f

// ---------------------------------------------------------------------------------------------------------
// Pooling: x [B, N, H, D] -> out [B, nb, H, D * npools]; pools is a bit set, bit 0 max, bit 1 min, bit 2 avg,
// concatenated in that order. A partial last block reduces (and divides by) its real tokens only.
template <typename T>
static __device__ __forceinline__ float to_f(T x);
template <> __device__ __forceinline__ float to_f<float>(float x) { return x; }
template <> __device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

// Where flat index idx of [B, nb, H, inner] lies, and the token range [first, end) of its block.
struct PoolCell {
    int b, blk, h, i, first, end;
};
static __device__ __forceinline__ PoolCell pool_cell(long idx, int inner, int H, int nb, int N, int blockSize) {
    PoolCell c;
    c.i = (int)(idx % inner);
    long rest = idx / inner;
    c.h = (int)(rest % H);
    rest /= H;
    c.blk = (int)(rest % nb);
    c.b = (int)(rest / nb);
    c.first = c.blk * blockSize;
    c.end = min(c.first + blockSize, N);
    return c;
}

// One pooled cell: channel d of head h over the token rows [first, end) of x [rows, H, D], reduced in token order,
// written to o (the cell's [npools, D] features).
template <typename T>
static __device__ __forceinline__ void pool_rows(const T *__restrict__ x, float *__restrict__ o, long first, long end,
                                                 int H, int h, int D, int d, int pools) {
    float mx = -INFINITY, mn = INFINITY, sum = 0.f;
    for (long tkn = first; tkn < end; tkn++) {
        float val = to_f<T>(x[(tkn * H + h) * D + d]);
        mx = fmaxf(mx, val);
        mn = fminf(mn, val);
        sum += val;
    }
    int f = 0;
    if (pools & 1) o[(f++) * D + d] = mx;
    if (pools & 2) o[(f++) * D + d] = mn;
    if (pools & 4) o[(f++) * D + d] = sum / (float)(end - first);
}

template <typename T>
static __device__ __forceinline__ void pool_body(const T *__restrict__ x, float *__restrict__ out, int B, int N,
                                                 int H, int D, int blockSize, int pools) {
    int nb = (N + blockSize - 1) / blockSize;
    int npools = __popc(pools & 7);
    long total = (long)B * nb * H * D;
    for (long idx = blockIdx.x * (long)blockDim.x + threadIdx.x; idx < total; idx += (long)gridDim.x * blockDim.x) {
        PoolCell c = pool_cell(idx, D, H, nb, N, blockSize);
        long row0 = (long)c.b * N;
        pool_rows<T>(x, out + (((long)c.b * nb + c.blk) * H + c.h) * (long)D * npools, row0 + c.first, row0 + c.end,
                     H, c.h, D, c.i, pools);
    }
}

extern "C" __global__ void pool_f32(const float *x, float *out, int B, int N, int H, int D, int blockSize, int pools) {
    pool_body<float>(x, out, B, N, H, D, blockSize, pools);
}
// The sequence b of a varlen batch whose blocks [cuBlocks[b], cuBlocks[b+1]) hold block blk of the batch (docs/SPEC.md
// §11): the largest b < B with cuBlocks[b] <= blk, by bisection (the offsets are strictly increasing).
static __device__ __forceinline__ int varlen_sequence(const int *__restrict__ cuBlocks, int B, int blk) {
    int lo = 0, hi = B - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (cuBlocks[mid] <= blk) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

// Pooling of a varlen batch: x [total, H, D] -> out [sum nb_b, H, D * npools]; offsets [2, B + 1] = cu (token
// offsets), cuBlocks (block offsets). Batch block blk is block blk - cuBlocks[b] of its sequence b, cut from the
// sequence's first token cu[b]; the same reduction as pool_f32 on the sequence alone.
extern "C" __global__ void pool_varlen_f32(const float *x, float *out, const int *offsets, int B, int H, int D,
                                           int blockSize, int pools) {
    const int *cu = offsets, *cuBlocks = offsets + B + 1;
    int npools = __popc(pools & 7);
    long total = (long)cuBlocks[B] * H * D;
    for (long idx = blockIdx.x * (long)blockDim.x + threadIdx.x; idx < total; idx += (long)gridDim.x * blockDim.x) {
        int d = (int)(idx % D);
        long rest = idx / D;
        int h = (int)(rest % H);
        int blk = (int)(rest / H);
        int b = varlen_sequence(cuBlocks, B, blk);
        long first = cu[b] + (long)(blk - cuBlocks[b]) * blockSize;
        long end = min(first + blockSize, (long)cu[b + 1]);
        pool_rows<float>(x, out + ((long)blk * H + h) * (long)D * npools, first, end, H, h, D, d, pools);
    }
}

// bf16 input, 8 channels per thread with 16-byte loads (D % 8 == 0).
static __device__ __forceinline__ void pool_acc8(uint4 raw, float (&mx)[8], float (&mn)[8], float (&sum)[8]) {
    const __nv_bfloat162 *v2 = reinterpret_cast<const __nv_bfloat162 *>(&raw);
#pragma unroll
    for (int c = 0; c < 4; c++) {
        float2 f = __bfloat1622float2(v2[c]);
        mx[2 * c] = fmaxf(mx[2 * c], f.x); mx[2 * c + 1] = fmaxf(mx[2 * c + 1], f.y);
        mn[2 * c] = fminf(mn[2 * c], f.x); mn[2 * c + 1] = fminf(mn[2 * c + 1], f.y);
        sum[2 * c] += f.x; sum[2 * c + 1] += f.y;
    }
}

extern "C" __global__ void pool_bf16_v8(const __nv_bfloat16 *__restrict__ x, float *__restrict__ out, int B, int N,
                                        int H, int D, int blockSize, int pools) {
    int nb = (N + blockSize - 1) / blockSize;
    int npools = __popc(pools & 7);
    int groups = D / 8;
    long total = (long)B * nb * H * groups;
    for (long idx = blockIdx.x * (long)blockDim.x + threadIdx.x; idx < total; idx += (long)gridDim.x * blockDim.x) {
        PoolCell c = pool_cell(idx, groups, H, nb, N, blockSize);
        int b = c.b, blk = c.blk, h = c.h, gi = c.i, first = c.first, end = c.end;
        float mx[8], mn[8], sum[8];
#pragma unroll
        for (int c = 0; c < 8; c++) { mx[c] = -INFINITY; mn[c] = INFINITY; sum[c] = 0.f; }
        const __nv_bfloat16 *src = x + (((long)b * N + first) * H + h) * D + gi * 8;
        long stride = (long)H * D;
        const int len = end - first, len8 = len & ~7;
        for (int tkn = 0; tkn < len8; tkn += 8, src += 8 * stride) {   // 8 loads in flight per thread
            uint4 raw[8];
#pragma unroll
            for (int u = 0; u < 8; u++) raw[u] = __ldg(reinterpret_cast<const uint4 *>(src + u * stride));
#pragma unroll
            for (int u = 0; u < 8; u++) pool_acc8(raw[u], mx, mn, sum);
        }
        for (int tkn = len8; tkn < len; tkn++, src += stride) {
            pool_acc8(__ldg(reinterpret_cast<const uint4 *>(src)), mx, mn, sum);
        }
        float *o = out + (((long)b * nb + blk) * H + h) * (long)D * npools + gi * 8;
        int f = 0;
        if (pools & 1) { float4 *p = reinterpret_cast<float4 *>(o + (f++) * D);
            p[0] = make_float4(mx[0], mx[1], mx[2], mx[3]); p[1] = make_float4(mx[4], mx[5], mx[6], mx[7]); }
        if (pools & 2) { float4 *p = reinterpret_cast<float4 *>(o + (f++) * D);
            p[0] = make_float4(mn[0], mn[1], mn[2], mn[3]); p[1] = make_float4(mn[4], mn[5], mn[6], mn[7]); }
        if (pools & 4) { float4 *p = reinterpret_cast<float4 *>(o + (f++) * D);
            p[0] = make_float4(sum[0] / (float)(end - first), sum[1] / (float)(end - first), sum[2] / (float)(end - first), sum[3] / (float)(end - first));
            p[1] = make_float4(sum[4] / (float)(end - first), sum[5] / (float)(end - first), sum[6] / (float)(end - first), sum[7] / (float)(end - first)); }
    }
}

extern "C" __global__ void pool_bf16(const __nv_bfloat16 *x, float *out, int B, int N, int H, int D, int blockSize,
                                     int pools) {
    pool_body<__nv_bfloat16>(x, out, B, N, H, D, blockSize, pools);
}

// ---------------------------------------------------------------------------------------------------------
// Strided batched GEMM in fp32: for z = b * H + h,
//   C[z][i][j] = alpha * sum_k A[b, h / repA][i][k] * Bm[b, h / repB][k][j]
// with every stride given in elements. causal != 0: entries j > i get -FLT_MAX (the gate's block mask) and
// tiles above the diagonal skip the product.
struct GemmArgs {
    long sAb, sAh, sAi, sAk;
    long sBb, sBh, sBk, sBj;
    long sCb, sCh, sCi, sCj;
};

#define GT 64
#define GK 16
extern "C" __global__ void __launch_bounds__(256)
gemm_f32(const float *__restrict__ A, const float *__restrict__ Bm, float *__restrict__ C, int M, int Nn, int K,
         int H, int repA, int repB, float alpha, int causal, GemmArgs s) {
    __shared__ __align__(16) float As[GK][GT + 4];
    __shared__ __align__(16) float Bs[GK][GT + 4];
    int z = blockIdx.z, b = z / H, h = z % H;
    int i0 = blockIdx.y * GT, j0 = blockIdx.x * GT;
    const float *a = A + b * s.sAb + (long)(h / repA) * s.sAh;
    const float *bb = Bm + b * s.sBb + (long)(h / repB) * s.sBh;
    float *c = C + b * s.sCb + (long)h * s.sCh;
    int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    if (causal && j0 > i0 + GT - 1) {
        for (int e = tid; e < GT * GT; e += 256) {
            int i = i0 + e / GT, j = j0 + e % GT;
            if (i < M && j < Nn) c[i * s.sCi + j * s.sCj] = -FLT_MAX_;
        }
        return;
    }
    float acc[4][4] = {};
    bool aKFast = s.sAk == 1, bKFast = s.sBk == 1;
    for (int k0 = 0; k0 < K; k0 += GK) {
#pragma unroll
        for (int q = 0; q < 4; q++) {
            int e = tid + 256 * q;
            int kk, ii;
            if (aKFast) { kk = e % GK; ii = e / GK; } else { ii = e % GT; kk = e / GT; }
            int gi = i0 + ii, gk = k0 + kk;
            As[kk][ii] = (gi < M && gk < K) ? a[gi * s.sAi + gk * s.sAk] : 0.f;
            int jj;
            if (bKFast) { kk = e % GK; jj = e / GK; } else { jj = e % GT; kk = e / GT; }
            int gj = j0 + jj;
            gk = k0 + kk;
            Bs[kk][jj] = (gj < Nn && gk < K) ? bb[gk * s.sBk + gj * s.sBj] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < GK; kk++) {
            // each thread owns a contiguous 4 x 4 block: two 16-byte shared loads per 16 FMAs
            const float4 a4 = *reinterpret_cast<const float4 *>(&As[kk][ty * 4]);
            const float4 b4 = *reinterpret_cast<const float4 *>(&Bs[kk][tx * 4]);
            const float av[4] = {a4.x, a4.y, a4.z, a4.w}, bv[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
            for (int u = 0; u < 4; u++)
#pragma unroll
                for (int w = 0; w < 4; w++) acc[u][w] = fmaf(av[u], bv[w], acc[u][w]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int u = 0; u < 4; u++) {
#pragma unroll
        for (int w = 0; w < 4; w++) {
            int i = i0 + ty * 4 + u, j = j0 + tx * 4 + w;
            if (i < M && j < Nn) c[i * s.sCi + j * s.sCj] = (causal && j > i) ? -FLT_MAX_ : acc[u][w] * alpha;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Block RoPE in place: x [rows = B * nb, heads, Dg]; row's block index = row % nb; position = block * blockSize;
// rotate-half over the first 2 * half channels with angles position * invFreq[k] (computed in fp64).
extern "C" __global__ void rope_blocks_f32(float *x, const double *invFreq, int rows, int nb, int heads, int Dg,
                                           int half, int blockSize) {
    long total = (long)rows * heads * half;
    for (long idx = blockIdx.x * (long)blockDim.x + threadIdx.x; idx < total; idx += (long)gridDim.x * blockDim.x) {
        int kIdx = (int)(idx % half);
        long rh = idx / half;
        long row = rh / heads;
        double pos = (double)((row % nb) * (long)blockSize);
        double ang = pos * invFreq[kIdx];
        double sn, cs;
        sincos(ang, &sn, &cs);
        float *p = x + rh * Dg;
        double x1 = p[kIdx], x2 = p[kIdx + half];
        p[kIdx] = (float)(x1 * cs - x2 * sn);
        p[kIdx + half] = (float)(x2 * cs + x1 * sn);
    }
}

// Block RoPE from a table cs [nb, half, 2] of (cos, sin) at positions block * blockSize (computed in fp64 on the
// host, rounded to fp32): x [rows = B * nb, heads, Dg] in place.
extern "C" __global__ void rope_blocks_table(float *x, const float *cs, int rows, int nb, int heads, int Dg, int half) {
    long total = (long)rows * heads * half;
    for (long idx = blockIdx.x * (long)blockDim.x + threadIdx.x; idx < total; idx += (long)gridDim.x * blockDim.x) {
        int kIdx = (int)(idx % half);
        long rh = idx / half;
        long row = rh / heads;
        const float *t = cs + ((row % nb) * half + kIdx) * 2;
        float c = t[0], sn = t[1];
        float *p = x + rh * Dg;
        float x1 = p[kIdx], x2 = p[kIdx + half];
        p[kIdx] = x1 * c - x2 * sn;
        p[kIdx + half] = x2 * c + x1 * sn;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Row softmax in place over rows of length cols (one warp per row).
extern "C" __global__ void softmax_rows_f32(float *x, long rows, int cols) {
    long row = (blockIdx.x * (long)blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    float *p = x + row * cols;
    float mx = -INFINITY;
    for (int j = lane; j < cols; j += 32) mx = fmaxf(mx, p[j]);
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0.f;
    for (int j = lane; j < cols; j += 32) sum += expf(p[j] - mx);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    float inv = 1.f / sum;
    for (int j = lane; j < cols; j += 32) p[j] = expf(p[j] - mx) * inv;
}

// Threshold selection over scores [rows = B*H*nb, nb] (softmax applied first when doSoftmax != 0, without
// writing it back): mask = score > threshold (compared in fp64), then lastBlockDense rows, tril, diagonal.
extern "C" __global__ void select_threshold(const float *scores, u8 *mask, long rows, int nb, double threshold,
                                            int doSoftmax, int lastBlockDense, int keepDiagonal) {
    long row = (blockIdx.x * (long)blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    int i = (int)(row % nb);
    const float *p = scores + row * nb;
    u8 *mrow = mask + row * nb;
    float mx = 0.f, inv = 1.f;
    if (doSoftmax) {
        mx = -INFINITY;
        for (int j = lane; j < nb; j += 32) mx = fmaxf(mx, p[j]);
        for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        float sum = 0.f;
        for (int j = lane; j < nb; j += 32) sum += expf(p[j] - mx);
        for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
        inv = 1.f / sum;
    }
    bool dense = lastBlockDense && i >= nb - 2;
    for (int j = lane; j < nb; j += 32) {
        float sc = doSoftmax ? expf(p[j] - mx) * inv : p[j];
        bool keep = dense || (double)sc > threshold;
        if (j > i) keep = false;
        if (keepDiagonal && j == i) keep = true;
        mrow[j] = keep ? 1 : 0;
    }
}

// Top-k selection: one CTA per row; keep j when fewer than k entries beat it (greater score, or equal score at
// a lower index), then lastBlockDense rows, tril, diagonal. Dynamic shared memory: nb floats.
// causal != 0: the scores are block-causally masked logits (float min above the diagonal), so only j, x <= i
// can rank in the top k of row i and entries above the diagonal are dropped anyway.
extern "C" __global__ void select_topk(const float *scores, u8 *mask, int nb, int k, int lastBlockDense,
                                       int keepDiagonal, int causal) {
    extern __shared__ float srow[];
    long row = blockIdx.x;
    int i = (int)(row % nb);
    const float *p = scores + row * nb;
    for (int j = threadIdx.x; j < nb; j += blockDim.x) srow[j] = p[j];
    __syncthreads();
    bool dense = lastBlockDense && i >= nb - 2;
    int limit = causal ? i + 1 : nb;
    for (int j = threadIdx.x; j < nb; j += blockDim.x) {
        if (causal && j > i && !dense) {
            mask[row * nb + j] = (keepDiagonal && j == i) ? 1 : 0;
            continue;
        }
        float sj = srow[j];
        int rank = 0;
        for (int x = 0; x < limit && rank < k; x++) {
            float sx = srow[x];
            rank += (sx > sj || (sx == sj && x < j)) ? 1 : 0;
        }
        bool keep = dense || rank < k;
        if (j > i) keep = false;
        if (keepDiagonal && j == i) keep = true;
        mask[row * nb + j] = keep ? 1 : 0;
    }
}

// Top-k selection, one warp per row (nb <= 2048): the k-th largest score is found exactly by a 32-step bisection
// on the order-preserving unsigned key of the float (a warp count per step, __reduce_add_sync); every score above it
// is kept, and of those equal to it the lowest indices (the ties to the lower index of k rounds of argmax).
// causal != 0 as in select_topk.
static __device__ __forceinline__ u32 order_key(float v) {
    u32 u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

extern "C" __global__ void select_topk_warp(const float *scores, u8 *mask, long rows, int nb, int k,
                                            int lastBlockDense, int keepDiagonal, int causal) {
    extern __shared__ float srows[];                     // one row of nb floats per warp
    long row = (blockIdx.x * (long)blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    int i = (int)(row % nb);
    u32 *p = reinterpret_cast<u32 *>(srows) + (threadIdx.x >> 5) * nb;   // keys
    int limit = causal ? i + 1 : nb;
    for (int j = lane; j < limit; j += 32) p[j] = order_key(scores[row * nb + j]);
    __syncwarp();
    int picks = min(k, limit);
    bool all = picks >= limit;                           // every candidate is in the top k
    u32 thr = 0;                                         // the picks-th largest key
    int need = 0;                                        // how many keys equal to thr are taken
    if (!all && picks > 0) {
        for (int bit = 31; bit >= 0; bit--) {
            u32 cand = thr | (1u << bit);
            int cnt = 0;
            for (int j = lane; j < limit; j += 32) cnt += p[j] >= cand;
            if ((int)__reduce_add_sync(0xffffffffu, (u32)cnt) >= picks) thr = cand;
        }
        int gt = 0;
        for (int j = lane; j < limit; j += 32) gt += p[j] > thr;
        need = picks - (int)__reduce_add_sync(0xffffffffu, (u32)gt);
    }
    bool dense = lastBlockDense && i >= nb - 2;
    int eqBefore = 0;                                    // keys equal to thr at lower indices
    for (int c = 0; c * 32 < nb; c++) {
        int j = c * 32 + lane;
        bool cand = j < limit;
        u32 key = cand ? p[j] : 0u;
        bool eq = cand && !all && picks > 0 && key == thr;
        u32 bal = __ballot_sync(0xffffffffu, eq);
        bool sel = cand && (all || (picks > 0 && (key > thr || (eq && eqBefore + __popc(bal & ((1u << lane) - 1u)) < need))));
        eqBefore += __popc(bal);
        bool keep = dense || sel;
        if (j > i) keep = false;
        if (keepDiagonal && j == i) keep = true;
        if (j < nb) mask[row * nb + j] = keep ? 1 : 0;
    }
}

// ---------------------------------------------------------------------------------------------------------
// fp32 attention (exactness reference on the GPU). One CTA of ATTN_BLOCK threads per (query block m, head h) of one
// sequence; thread = row. MODE 0 sparse (mask), 1 dense causal, 2 dense + pooled target (rowmax scratch
// [Hq, nb * ATTN_BLOCK, nb] per sequence). A batch [B, N, H, D] runs its sequences in grid z; a varlen batch
// (docs/SPEC.md §11) runs every sequence's (query block, head) pairs in one grid, each CTA finding its sequence.
#ifndef ATTN_BLOCK
#define ATTN_BLOCK 64
#endif
#define FB ATTN_BLOCK
#define KC 8
// CTAs per SM asked of ptxas: shared memory holds 5 at D = 128 (41 KB each). Left to itself, ptxas gave these kernels
// 168 or 254 registers (5 or 4 CTAs per SM) depending on the kernel and on unrelated code in the file, so that a
// varlen kernel and the single-sequence kernel of the same operation did not run alike; with the bound every one takes
// 168 at D = 128 (nvcc 13.0, sm_80 and sm_90), fewer at D = 64.
#define ATTN_MIN_CTAS 5
// q · k over HEAD_DIM channels, fp32 FMA in channel order.
static __device__ __forceinline__ float row_dot(const float *q, const float *k) {
    float dot = 0.f;
#pragma unroll 16
    for (int d = 0; d < HEAD_DIM; d++) dot = fmaf(q[d], k[d], dot);
    return dot;
}

// Query block m of head h of one sequence of N tokens: q, out [N, Hq, D] and k, v [N, Hkv, D] start at the sequence's
// first token, mask and target [Hq, nb, nb] and rowmax [Hq, nb * FB, nb] at the sequence's own maps.
template <int MODE>
static __device__ __forceinline__ void attn_f32_body(const float *__restrict__ q, const float *__restrict__ k,
                                                     const float *__restrict__ v, const u8 *__restrict__ mask,
                                                     float *__restrict__ out, float *__restrict__ rowmax,
                                                     float *__restrict__ target, int m, int h, int N, int Hq, int Hkv,
                                                     int nb, float scale) {
    __shared__ float sQ[FB][HEAD_DIM + 1];
    __shared__ float sK[KC][HEAD_DIM];
    __shared__ float sV[KC][HEAD_DIM];
    __shared__ float sM[FB], sL[FB], sRed[FB];
    int tid = threadIdx.x;
    int kh = h / (Hq / Hkv);
    long qS = (long)Hq * HEAD_DIM, kS = (long)Hkv * HEAD_DIM;
    int r = m * FB + tid;
    bool live = r < N;
    for (int e = tid; e < FB * HEAD_DIM; e += FB) {
        int rr = e / HEAD_DIM, d = e % HEAD_DIM;
        int gr = m * FB + rr;
        sQ[rr][d] = gr < N ? q[(long)gr * qS + (long)h * HEAD_DIM + d] : 0.f;
    }
    float acc[HEAD_DIM];
#pragma unroll
    for (int d = 0; d < HEAD_DIM; d++) acc[d] = 0.f;
    float mRow = -INFINITY, lRow = 0.f;
    const u8 *mrow = mask ? mask + ((long)h * nb + m) * (long)nb : nullptr;
    float *rm = MODE == 2 ? rowmax + (((long)h * nb + m) * FB + tid) * (long)nb : nullptr;
    for (int n = 0; n <= m; n++) {
        if (MODE == 0 && mrow[n] == 0) continue;
        float blockMax = -INFINITY;
        // pass 1: the block's row maximum
        for (int c0 = n * FB; c0 < n * FB + FB && c0 < N; c0 += KC) {
            __syncthreads();
            for (int e = tid; e < KC * HEAD_DIM; e += FB) {
                int cc = e / HEAD_DIM, d = e % HEAD_DIM;
                int gc = c0 + cc;
                sK[cc][d] = gc < N ? k[(long)gc * kS + (long)kh * HEAD_DIM + d] : 0.f;
            }
            __syncthreads();
            for (int cc = 0; cc < KC; cc++) {
                int c = c0 + cc;
                if (c > r || c >= N) continue;
                float dot = row_dot(sQ[tid], sK[cc]);
                blockMax = fmaxf(blockMax, __fmul_rn(dot, scale));
            }
        }
        if (MODE == 2) rm[n] = blockMax;
        float mNew = fmaxf(mRow, blockMax);
        float mUse = mNew == -INFINITY ? 0.f : mNew;
        float corr = expf(mRow - mUse);
        lRow *= corr;
#pragma unroll
        for (int d = 0; d < HEAD_DIM; d++) acc[d] *= corr;
        mRow = mNew;
        // pass 2: probabilities and P V
        for (int c0 = n * FB; c0 < n * FB + FB && c0 < N; c0 += KC) {
            __syncthreads();
            for (int e = tid; e < KC * HEAD_DIM; e += FB) {
                int cc = e / HEAD_DIM, d = e % HEAD_DIM;
                int gc = c0 + cc;
                long off = (long)gc * kS + (long)kh * HEAD_DIM + d;
                sK[cc][d] = gc < N ? k[off] : 0.f;
                sV[cc][d] = gc < N ? v[off] : 0.f;
            }
            __syncthreads();
            for (int cc = 0; cc < KC; cc++) {
                int c = c0 + cc;
                if (c > r || c >= N) continue;
                float dot = row_dot(sQ[tid], sK[cc]);
                // the score rounded as in pass 1 (__fmul_rn: not contracted into an fma with the subtraction, whose
                // exact dot·scale − max would be the product's rounding error, up to 2^27 at |score| ≈ 10^15 and
                // e^that = ∞; found on the H100 by ExtremeInputsTest at |q|, |k| = 10^8)
                float p = expf(__fmul_rn(dot, scale) - mUse);
                lRow += p;
#pragma unroll
                for (int d = 0; d < HEAD_DIM; d++) acc[d] = fmaf(p, sV[cc][d], acc[d]);
            }
        }
    }
    if (live) {
        float inv = lRow > 0.f ? 1.f / lRow : 0.f;
        float *o = out + (long)r * qS + (long)h * HEAD_DIM;
#pragma unroll
        for (int d = 0; d < HEAD_DIM; d++) o[d] = acc[d] * inv;
    }
    if (MODE == 2) {
        sM[tid] = mRow;
        sL[tid] = lRow;
        __syncthreads();
        const float *rmb = rowmax + (((long)h * nb + m) * FB) * (long)nb;
        float *tg = target + ((long)h * nb + m) * (long)nb;
        int rows = min(FB, N - m * FB);
        float partial = 0.f;
        for (int n = tid; n < nb; n += FB) {
            float raw = 0.f;
            if (n <= m)
                for (int rr = 0; rr < rows; rr++) raw = fmaxf(raw, expf(rmb[(long)rr * nb + n] - sM[rr]) / sL[rr]);
            tg[n] = raw;
            partial += raw;
        }
        sRed[tid] = partial;
        __syncthreads();
        float total = 0.f;
        for (int x = 0; x < FB; x++) total += sRed[x];
        float inv = total > 0.f ? 1.f / total : 0.f;
        for (int n = tid; n < nb; n += FB) tg[n] *= inv;
    }
}

// Sequence blockIdx.z of a batch [B, N, H, D]: query block blockIdx.x, head blockIdx.y.
template <int MODE>
static __device__ __forceinline__ void attn_f32_batch(const float *q, const float *k, const float *v, const u8 *mask,
                                                      float *out, float *rowmax, float *target, int N, int Hq, int Hkv,
                                                      int nb, float scale) {
    long b = blockIdx.z, qAt = b * N * Hq * HEAD_DIM, kAt = b * N * Hkv * HEAD_DIM, map = b * Hq * nb * (long)nb;
    attn_f32_body<MODE>(q + qAt, k + kAt, v + kAt, MODE == 0 ? mask + map : nullptr, out + qAt,
                        MODE == 2 ? rowmax + map * FB : nullptr, MODE == 2 ? target + map : nullptr, blockIdx.x,
                        blockIdx.y, N, Hq, Hkv, nb, scale);
}

// A varlen batch (docs/SPEC.md §11): q, out [total, Hq, D], k, v [total, Hkv, D]; offsets [3, B + 1] = cu (token
// offsets), cuBlocks (query-block offsets, blocks of FB), cuMaps (offsets of the maps [Hq, nb_b, nb_b]: masks, targets;
// rowmax at FB * cuMaps[b]). A one-dimensional grid of cuBlocks[B] * Hq CTAs, taken from the end: the batch's last
// query block (the longest rows of the last sequence), all heads, first, so the cheapest CTAs come last.
template <int MODE>
static __device__ __forceinline__ void attn_f32_varlen(const float *q, const float *k, const float *v, const u8 *mask,
                                                       float *out, float *rowmax, float *target,
                                                       const int *__restrict__ offsets, int B, int Hq, int Hkv,
                                                       float scale) {
    const int *cu = offsets, *cuBlocks = offsets + B + 1, *cuMaps = offsets + 2 * (B + 1);
    long cell = (long)gridDim.x - 1 - blockIdx.x;
    int blk = (int)(cell / Hq), h = (int)(cell % Hq);
    int b = varlen_sequence(cuBlocks, B, blk);
    long start = cu[b], map = cuMaps[b];
    long qAt = start * Hq * HEAD_DIM, kAt = start * Hkv * HEAD_DIM;
    attn_f32_body<MODE>(q + qAt, k + kAt, v + kAt, MODE == 0 ? mask + map : nullptr, out + qAt,
                        MODE == 2 ? rowmax + map * FB : nullptr, MODE == 2 ? target + map : nullptr,
                        blk - cuBlocks[b], h, cu[b + 1] - cu[b], Hq, Hkv, cuBlocks[b + 1] - cuBlocks[b], scale);
}

extern "C" __global__ void __launch_bounds__(FB, ATTN_MIN_CTAS)
attn_sparse_f32(const float *q, const float *k, const float *v, const u8 *mask, float *out, int N, int Hq, int Hkv,
                int nb, float scale) {
    attn_f32_batch<0>(q, k, v, mask, out, nullptr, nullptr, N, Hq, Hkv, nb, scale);
}
extern "C" __global__ void __launch_bounds__(FB, ATTN_MIN_CTAS)
attn_dense_f32(const float *q, const float *k, const float *v, float *out, int N, int Hq, int Hkv, int nb,
               float scale) {
    attn_f32_batch<1>(q, k, v, nullptr, out, nullptr, nullptr, N, Hq, Hkv, nb, scale);
}
extern "C" __global__ void __launch_bounds__(FB, ATTN_MIN_CTAS)
attn_dense_target_f32(const float *q, const float *k, const float *v, float *out, float *rowmax, float *target,
                      int N, int Hq, int Hkv, int nb, float scale) {
    attn_f32_batch<2>(q, k, v, nullptr, out, rowmax, target, N, Hq, Hkv, nb, scale);
}
extern "C" __global__ void __launch_bounds__(FB, ATTN_MIN_CTAS)
attn_sparse_varlen_f32(const float *q, const float *k, const float *v, const u8 *mask, float *out,
                       const int *offsets, int B, int Hq, int Hkv, float scale) {
    attn_f32_varlen<0>(q, k, v, mask, out, nullptr, nullptr, offsets, B, Hq, Hkv, scale);
}
extern "C" __global__ void __launch_bounds__(FB, ATTN_MIN_CTAS)
attn_dense_varlen_f32(const float *q, const float *k, const float *v, float *out, const int *offsets, int B, int Hq,
                      int Hkv, float scale) {
    attn_f32_varlen<1>(q, k, v, nullptr, out, nullptr, nullptr, offsets, B, Hq, Hkv, scale);
}
extern "C" __global__ void __launch_bounds__(FB, ATTN_MIN_CTAS)
attn_dense_target_varlen_f32(const float *q, const float *k, const float *v, float *out, float *rowmax,
                             float *target, const int *offsets, int B, int Hq, int Hkv, float scale) {
    attn_f32_varlen<2>(q, k, v, nullptr, out, rowmax, target, offsets, B, Hq, Hkv, scale);
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

// x[i] = bf16(lo + (hi - lo) * u(seed, i))
extern "C" __global__ void fill_uniform_bf16(__nv_bfloat16 *x, long n, u64 seed, float lo, float hi) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        x[i] = __float2bfloat16(lo + (hi - lo) * uniform01(seed, (u64)i));
}

// count[0] += number of non-zero bytes of x[0, n)
extern "C" __global__ void count_nonzero(const u8 *x, long n, unsigned long long *count) {
    unsigned long long c = 0;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) c += x[i] != 0;
    for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(0xffffffffu, c, o);
    if ((threadIdx.x & 31) == 0) atomicAdd(count, c);
}
