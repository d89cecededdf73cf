// Definitions shared by the kernel sources of this folder. KernelCompiler.resource() pastes it in place of
// `#include "common.cuh"` before NVRTC sees a source (nvcc finds it beside the including file).
#pragma once

#include <cuda_bf16.h>

#ifndef INFINITY   // NVRTC has no <math.h>
#define INFINITY __int_as_float(0x7f800000)
#endif

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

// A counter-based hash (splitmix64's finaliser) and a uniform float in [0, 1) from it: element i of a seeded stream,
// the same on every run and GPU. Used to fill random inputs and weights.
static __device__ __forceinline__ u64 mix64(u64 z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static __device__ __forceinline__ float uniform01(u64 seed, u64 i) {
    return (float)((mix64(seed * 0x632BE59BD9B4E019ull + i) >> 40) * (1.0 / 16777216.0));
}

static __device__ __forceinline__ u32 smem_u32(const void *p) {
    return (u32)__cvta_generic_to_shared(p);
}
// 16-byte asynchronous copy global -> shared; when !valid the 16 bytes are zero-filled (src-size 0) and src is not read
static __device__ __forceinline__ void cp_async16(u32 dst, const void *src, bool valid) {
    int n = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(n) : "memory");
}
static __device__ __forceinline__ float fast_exp2(float x) {   // ex2.approx.ftz: 2^-inf = 0
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}
static __device__ __forceinline__ u32 pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<u32 *>(&v);
}

// The fused target pass's global scratch, for block counts whose row maxima do not fit in shared memory: `slots`
// slots of [nb][128 rows] floats, then `slots` int lock words (0 = free). A CTA holds a slot only while it runs, so
// the scratch is sized by the CTAs that can be resident at once (SMs x CTAs per SM), not by the grid. The lock words
// must be 0 before the first launch on a buffer; every CTA leaves its own 0 again.
static __device__ __forceinline__ int *scratch_locks(float *scratch, int slots, int nb) {
    return reinterpret_cast<int *>(scratch + (long)slots * nb * 128);
}
// Takes a free slot; one thread of the CTA calls it and hands the slot to the others through shared memory behind a
// barrier. Tries from slot %smid x ctasPerSm (the SM's own slots when slots = SMs x CTAs per SM), atomicCAS(lock, 0, 1)
// round robin over every slot until one is taken. Whatever the slot count it ends: a CTA waits only for slots held by
// CTAs that are resident and running, and they release theirs without waiting for anything.
static __device__ __forceinline__ int scratch_slot_acquire(int *locks, int slots, int ctasPerSm) {
    u32 smid;
    asm volatile("mov.u32 %0, %%smid;\n" : "=r"(smid));
    int s = (int)((smid * (u32)ctasPerSm) % (u32)slots);
    for (int tries = 1; atomicCAS(&locks[s], 0, 1) != 0; tries++) {
        s = s + 1 == slots ? 0 : s + 1;
        if (tries % slots == 0) asm volatile("nanosleep.u32 500;\n");   // a whole round without a free slot
    }
    __threadfence();   // acquire: the previous owner's accesses to the slot (fenced before it released) come first
    return s;
}
// Frees a slot, once a barrier has ordered every access of the CTA to it before the calling thread's fence.
static __device__ __forceinline__ void scratch_slot_release(int *lock) {
    __threadfence();   // release: this CTA's writes and reads of the slot before the next owner's
    atomicExch(lock, 0);
}

// The pooled distillation target of query blocks 2p and 2p + 1 (the 128 rows of a dense CTA), step 1 of 2: from
// the CTA's row maxima R, scratch [nb][128 rows] (log2 units), and the rows' log-sum-exp c [128],
// target[m, n] = max_r 2^(R[r, n] - c_r) over the block's real rows for n <= m, 0 after, not yet normalised.
// Lane = 4 rows (one 16-byte load; lanes 0-15 the rows of block 2p, 16-31 those of 2p + 1); a warp takes 8 key
// blocks at a time (8 loads in flight per lane). Each warp leaves its partial row sums in red[half][warp].
template <int WARPS, int THREADS>
static __device__ __forceinline__ void pooled_target_maxima(const float *sc, const float *rowC, float *target,
                                                            float (*red)[WARPS], int N, int Hq, int nb, int b,
                                                            int h, int p, int tid) {
    const int warp = tid >> 5, lane = tid & 31;
    const int r4 = 4 * lane, half = lane >> 4, mHalf = 2 * p + half;
    const int mRows = mHalf < nb ? min(64, N - mHalf * 64) : 0;
    float c[4];
#pragma unroll
    for (int i = 0; i < 4; i++) c[i] = r4 + i - half * 64 < mRows ? rowC[r4 + i] : INFINITY;   // 2^-inf = 0
    float *tgHalf = target + (((long)b * Hq + h) * nb + mHalf) * (long)nb;
    const int nEnd = min(nb, 2 * p + 2);               // key blocks n <= m of either query block
    float partial = 0.f;
    for (int n0 = warp * 8; n0 < nEnd; n0 += WARPS * 8) {
        float raw[8];
#pragma unroll
        for (int u = 0; u < 8; u++) {
            const int n = n0 + u;
            float4 x = make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
            if (n <= mHalf && n < nEnd) x = *reinterpret_cast<const float4 *>(sc + (long)n * 128 + r4);
            raw[u] = fmaxf(fmaxf(exp2f(x.x - c[0]), exp2f(x.y - c[1])), fmaxf(exp2f(x.z - c[2]), exp2f(x.w - c[3])));
        }
#pragma unroll
        for (int off = 8; off > 0; off >>= 1)
#pragma unroll
            for (int u = 0; u < 8; u++) raw[u] = fmaxf(raw[u], __shfl_xor_sync(0xffffffffu, raw[u], off));
        if ((lane & 15) == 0 && mRows > 0) {
#pragma unroll
            for (int u = 0; u < 8; u++) {
                if (n0 + u < nEnd) {
                    tgHalf[n0 + u] = raw[u];
                    partial += raw[u];
                }
            }
        }
    }
    if ((lane & 15) == 0) red[half][warp] = partial;
#pragma unroll
    for (int q2 = 0; q2 < 2; q2++) {                   // key blocks after both query blocks: 0
        const int mq = 2 * p + q2;
        if (mq < nb) {
            float *tq = target + (((long)b * Hq + h) * nb + mq) * (long)nb;
            for (int n = nEnd + tid; n < nb; n += THREADS) tq[n] = 0.f;
        }
    }
}

// Step 2 of 2, after a barrier over the THREADS threads: divides both target rows by their sums.
template <int WARPS, int THREADS>
static __device__ __forceinline__ void pooled_target_normalise(float *target, const float (*red)[WARPS], int Hq,
                                                               int nb, int b, int h, int p, int tid) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int m = 2 * p + half;
        if (m < nb) {
            float total = 0.f;
#pragma unroll
            for (int w = 0; w < WARPS; w++) total += red[half][w];
            const float inv = total > 0.f ? 1.f / total : 0.f;
            float *tg = target + (((long)b * Hq + h) * nb + m) * (long)nb;
            for (int n = tid; n < nb; n += THREADS) tg[n] *= inv;
        }
    }
}
