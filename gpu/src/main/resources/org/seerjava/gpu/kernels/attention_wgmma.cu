// Causal dense FlashAttention forward (and the fused pooled distillation target) on Hopper's warpgroup MMA
// (wgmma, sm_90a): bf16 inputs and outputs, fp32 accumulation, online softmax in log2 units.
//
// Layouts (the official "bshd"): q, out [B, N, Hq, D]; k, v [B, N, Hkv, D]. GQA: query head h reads kv head
// h / (Hq / Hkv) straight from k, v. Kernel parameters are those of attn2_dense_bf16 / attn2_target_bf16 in
// attention_bf16.cu (the mma.sync kernels this one replaces on sm_90a).
//
// One CTA = 128 query rows (query blocks 2p and 2p + 1) of one (b, h), 384 threads in three warpgroups:
//   warpgroups 0 and 1: consumers, 64 query rows each (registers raised to CONSUMER_REGS with setmaxnreg);
//   warpgroup 2: producer (registers lowered to PRODUCER_REGS), copies the key tiles and the value tiles of
//   128 keys (two 64-key blocks), 0 .. p, with cp.async into two rings of STAGES shared-memory stages, and
//   signals each stage's "full" mbarrier when its copies have landed; consumer warps signal the stage's "empty"
//   mbarrier when their MMAs no longer read it. Keys and values have separate rings: a key tile is free as soon
//   as S is computed, a value tile only after P V.
// Per key tile j a warpgroup computes S = Q K_j^T (HEAD_DIM/16 wgmma m64n128k16, Q and K from shared memory),
// masks the tile crossing the diagonal (or N), updates the running row max m and sum l, and turns S into
// P = 2^(S*scale - m); O += P V_j (8 wgmma m64nDk16, P from registers as bf16, V from shared memory, transposed)
// is issued together with the next tile's S = Q K_{j+1}^T, so that the softmax of tile j + 1 overlaps the P V
// product of tile j.
// Shared tiles are in the 128-byte-swizzled layout of the wgmma descriptors: a [rows x D] tile is stored as
// D / 64 column halves of [rows][64] bf16, the 16-byte chunk c of row r at chunk position c ^ (r % 8).
//
// MODE 2 (target): as in attn2_target_bf16, every row's 64-key block maxima (log2 units) go to a scratch [nb][128 rows],
// in shared memory when nb <= SCRATCH_SMEM_NB, else in one of the `slots` slots of the global scratch that the CTA
// holds while it runs (common.cuh, scratch_slot_acquire; one CTA per SM); at the end
// target[m, n] = max_r 2^(R[r, n] - c_r), c_r = m_r + log2 l_r, normalised over n.
//
// Compile-time constants (-D): HEAD_DIM (64 or 128), STAGES, SCRATCH_SMEM_NB.

#include "common.cuh"
#include "wgmma.cuh"
#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif
#if HEAD_DIM != 64 && HEAD_DIM != 128
#error "attention_wgmma.cu supports HEAD_DIM 64 and 128"
#endif
#ifndef STAGES
#define STAGES 2
#endif
#ifndef SCRATCH_SMEM_NB
#define SCRATCH_SMEM_NB 120
#endif

#define BM 128                               // query rows per CTA
#define BN 128                               // keys per tile (two 64-key blocks)
#define HALVES (HEAD_DIM / 64)               // 128-byte column halves of a tile row
#define CHUNKS (HEAD_DIM / 8)                // 16-byte chunks per row
#define KV_TILE_BYTES (BN * HEAD_DIM * 2)
#define Q_WG_BYTES (64 * HEAD_DIM * 2)
#define NCONSUMER 256
#define NTHREADS (NCONSUMER + 128)
#define PRODUCER_REGS 24
#define CONSUMER_REGS 240

// Copies a BN x HEAD_DIM tile (row r at base + r * rowStride) into the swizzled stage at dst; rows >= rows are
// zero-filled. The producer warpgroup: thread ptid copies chunk ptid % CHUNKS of rows ptid / CHUNKS + i * STEP.
static __device__ __forceinline__ void copy_tile(u32 dst, const __nv_bfloat16 *base, long rowStride, int rows,
                                                 int ptid) {
    const int c = ptid % CHUNKS, r0 = ptid / CHUNKS;
    constexpr int STEP = 128 / CHUNKS;                   // a multiple of 8: r % 8 == r0 % 8 for every row copied
    const __nv_bfloat16 *src = base + (long)r0 * rowStride + c * 8;
    const long step = (long)STEP * rowStride;
    u32 d = dst + sw_off(r0, c, BN);
#pragma unroll 2
    for (int r = r0; r < BN; r += STEP) {
        const bool valid = r < rows;
        cp_async16(d, valid ? src : base, valid);
        src += step;
        d += STEP * 128;
    }
}

struct Pipes {                 // mbarriers of the key and value rings
    u64 fullK[STAGES], emptyK[STAGES], fullV[STAGES], emptyV[STAGES];
};

template <int MODE>
static __device__ __forceinline__ void consumer(
        const __nv_bfloat16 *__restrict__ q, __nv_bfloat16 *__restrict__ out, float *__restrict__ target,
        int N, int Hq, int nb, float scaleLog2, u32 sQ, u32 sK, u32 sV, unsigned char *baseGen, float *sc,
        Pipes &pipes, float *sRowC, float (*sRed)[8], int tid, int p, int h, int b, int row0, int count,
        long qStride) {
    const int warp = tid >> 5, lane = tid & 31;
    const int wg = warp >> 2, wtid = tid & 127, wwarp = warp & 3;
    const int g = lane >> 2, t = lane & 3;
    const int wgRow0 = row0 + wg * 64;                     // first query row of this warpgroup
    const int wgRows = max(0, min(64, N - wgRow0));
    const int myCount = wgRows > 0 ? count : 0;            // key tiles 0 .. p (the last one crosses the diagonal)
    const u32 qW = sQ + wg * Q_WG_BYTES;

    // this thread's rows inside the warpgroup's 64: rLocal and rLocal + 8
    const int rLocal = wwarp * 16 + g;
    if (wgRows > 0) {   // Q rows of this warpgroup (rows >= wgRows zero-filled)
        const __nv_bfloat16 *qBase = q + ((long)b * N + wgRow0) * qStride + (long)h * HEAD_DIM;
#pragma unroll
        for (int i = 0; i < 64 * CHUNKS / 128; i++) {
            const int id = i * 128 + wtid, r = id / CHUNKS, c = id % CHUNKS;
            const bool valid = r < wgRows;
            cp_async16(qW + sw_off(r, c, 64), valid ? qBase + (long)r * qStride + c * 8 : qBase, valid);
        }
        asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
        fence_async_smem();
    }
    named_barrier(1 + wg, 128);
    float o[HEAD_DIM / 2];
    float s[BN / 2];
    u32 pa[BN / 16][4];
    float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};
#pragma unroll
    for (int i = 0; i < HEAD_DIM / 2; i++) o[i] = 0.f;

    // descriptors: Q and K K-major (sbo 1024 = 8 rows of 128 B); V MN-major (lbo = one column half, sbo 8 rows)
    auto issueS = [&](int j) {
        const u32 kTile = sK + (j % STAGES) * KV_TILE_BYTES;
        u64 db[HEAD_DIM / 16];
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) {
            db[ks] = desc_sw128(kTile + (u32)((ks >> 2) * BN * 128 + (ks & 3) * 32), 16, 1024);
        }
        wgmma_fence();
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) {
            wgmma_ss_m64n128(s, desc_sw128(qW + (u32)((ks >> 2) * 64 * 128 + (ks & 3) * 32), 16, 1024), db[ks],
                             ks > 0);
        }

        wgmma_commit();
    };
    auto issuePV = [&](int j, bool accumulate) {
        const u32 vTile = sV + (j % STAGES) * KV_TILE_BYTES;
        u64 db[BN / 16];
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) db[kk] = desc_sw128(vTile + (u32)(kk * 16 * 128), BN * 128, 1024);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
#if HEAD_DIM == 128
            wgmma_rs_m64n128_tb(o, pa[kk], db[kk], accumulate || kk > 0);
#else
            wgmma_rs_m64n64_tb(o, pa[kk], db[kk], accumulate || kk > 0);
#endif
        }
        wgmma_commit();
    };
    auto fenceS = [&]() {
#pragma unroll
        for (int i = 0; i < BN / 2; i++) reg_fence(s[i]);
    };
    auto fenceO = [&]() {
#pragma unroll
        for (int i = 0; i < HEAD_DIM / 2; i++) reg_fence(o[i]);
    };
    auto release = [&](u64 *bars, int j) {                 // this warp no longer reads stage j % STAGES
        __syncwarp();
        if (lane == 0) mbar_arrive(smem_u32(&bars[j % STAGES]));
    };
    auto waitFull = [&](u64 *bars, int j) {
        mbar_wait(smem_u32(&bars[j % STAGES]), (j / STAGES) & 1);
        fence_async_smem();
    };
    // masks tile j where it crosses the diagonal or N, updates m and l, turns s into P, returns corr
    auto softmax = [&](int j, float corr[2]) {
        const bool needMask = j * BN + BN - 1 > wgRow0 || j * BN + BN > N;
        float mx[2][2] = {{-INFINITY, -INFINITY}, {-INFINITY, -INFINITY}};   // [64-key half][row]
#pragma unroll
        for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                if (needMask) {
                    const int col = j * BN + nt * 8 + 2 * t + (e & 1);
                    const int row = wgRow0 + rLocal + ((e >> 1) << 3);
                    if (col > row || col >= N) s[nt * 4 + e] = -INFINITY;
                }
                mx[nt >> 3][e >> 1] = fmaxf(mx[nt >> 3][e >> 1], s[nt * 4 + e]);
            }
        }
        float mUse[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            float x0 = mx[0][i], x1 = mx[1][i];
            x0 = fmaxf(x0, __shfl_xor_sync(0xffffffffu, x0, 1));
            x1 = fmaxf(x1, __shfl_xor_sync(0xffffffffu, x1, 1));
            x0 = fmaxf(x0, __shfl_xor_sync(0xffffffffu, x0, 2));
            x1 = fmaxf(x1, __shfl_xor_sync(0xffffffffu, x1, 2));
            x0 *= scaleLog2;
            x1 *= scaleLog2;
            if (MODE == 2 && t == 0) {                     // the row's maxima of the two 64-key blocks
                sc[(2 * j) * BM + wg * 64 + rLocal + i * 8] = x0;
                if (2 * j + 1 < nb) sc[(2 * j + 1) * BM + wg * 64 + rLocal + i * 8] = x1;
            }
            const float mNew = fmaxf(mRow[i], fmaxf(x0, x1));
            mUse[i] = mNew == -INFINITY ? 0.f : mNew;
            corr[i] = fast_exp2(mRow[i] - mUse[i]);
            mRow[i] = mNew;
            lRow[i] *= corr[i];
        }
#pragma unroll
        for (int i = 0; i < BN / 2; i++) {                 // P in place, fp32 (packed to bf16 once P V_{j-1} is done)
            s[i] = fast_exp2(fmaf(s[i], scaleLog2, -mUse[(i >> 1) & 1]));
            lRow[(i >> 1) & 1] += s[i];
        }
    };
    auto packP = [&]() {                                   // P (fp32 in s) -> bf16 A fragments
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            pa[kk][0] = pack_bf16(s[kk * 8 + 0], s[kk * 8 + 1]);
            pa[kk][1] = pack_bf16(s[kk * 8 + 2], s[kk * 8 + 3]);
            pa[kk][2] = pack_bf16(s[kk * 8 + 4], s[kk * 8 + 5]);
            pa[kk][3] = pack_bf16(s[kk * 8 + 6], s[kk * 8 + 7]);
        }
    };

    if (myCount > 0) {
        float corr[2];
        waitFull(pipes.fullK, 0);
        issueS(0);
        wgmma_wait<0>();
        fenceS();
        release(pipes.emptyK, 0);
        softmax(0, corr);
        packP();
        for (int j = 1; j < myCount; j++) {
            waitFull(pipes.fullK, j);
            issueS(j);
            waitFull(pipes.fullV, j - 1);
            issuePV(j - 1, j > 1);
            wgmma_wait<1>();                               // S_j is ready; P V_{j-1} may still run
            fenceS();
            release(pipes.emptyK, j);
            softmax(j, corr);
            wgmma_wait<0>();
            fenceO();
            release(pipes.emptyV, j - 1);
            packP();
            if (!__all_sync(0xffffffffu, corr[0] == 1.f && corr[1] == 1.f)) {   // no row max moved: O stays
#pragma unroll
                for (int i = 0; i < HEAD_DIM / 8; i++) {
                    o[4 * i + 0] *= corr[0]; o[4 * i + 1] *= corr[0];
                    o[4 * i + 2] *= corr[1]; o[4 * i + 3] *= corr[1];
                }
            }
        }
        waitFull(pipes.fullV, myCount - 1);
        issuePV(myCount - 1, myCount > 1);
        wgmma_wait<0>();
        fenceO();
        release(pipes.emptyV, myCount - 1);
    }
    for (int j = myCount; j < count; j++) {                // a warpgroup without rows hands the tiles back
        mbar_wait(smem_u32(&pipes.fullK[j % STAGES]), (j / STAGES) & 1);
        release(pipes.emptyK, j);
        mbar_wait(smem_u32(&pipes.fullV[j % STAGES]), (j / STAGES) & 1);
        release(pipes.emptyV, j);
    }

    // normalise, stage the bf16 tile in this warpgroup's Q space (its S products are done), store 16-byte rows
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        lRow[i] += __shfl_xor_sync(0xffffffffu, lRow[i], 1);
        lRow[i] += __shfl_xor_sync(0xffffffffu, lRow[i], 2);
        inv[i] = lRow[i] > 0.f ? 1.f / lRow[i] : 0.f;
    }
    named_barrier(1 + wg, 128);                            // every warp of the group is done reading its Q
    unsigned char *const qGen = baseGen + wg * Q_WG_BYTES;
#pragma unroll
    for (int i = 0; i < HEAD_DIM / 8; i++) {
        const u32 within = (u32)(4 * t);
        *reinterpret_cast<u32 *>(qGen + sw_off(rLocal, i, 64) + within) =
                pack_bf16(o[4 * i] * inv[0], o[4 * i + 1] * inv[0]);
        *reinterpret_cast<u32 *>(qGen + sw_off(rLocal + 8, i, 64) + within) =
                pack_bf16(o[4 * i + 2] * inv[1], o[4 * i + 3] * inv[1]);
    }
    if (MODE == 2 && t == 0) {                             // the row's log-sum-exp, log2 units: m_r + log2 l_r
        sRowC[wg * 64 + rLocal] = mRow[0] + log2f(lRow[0]);
        sRowC[wg * 64 + rLocal + 8] = mRow[1] + log2f(lRow[1]);
    }
    named_barrier(1 + wg, 128);
    for (int id = wtid; id < wgRows * CHUNKS; id += 128) {
        const int r = id / CHUNKS, c = id % CHUNKS;
        *reinterpret_cast<uint4 *>(out + ((long)b * N + wgRow0 + r) * qStride + (long)h * HEAD_DIM + c * 8) =
                *reinterpret_cast<const uint4 *>(qGen + sw_off(r, c, 64));
    }

    if (MODE == 2) {
        named_barrier(3, NCONSUMER);                       // both warpgroups' maxima and sums are written
        pooled_target_maxima<8, NCONSUMER>(sc, sRowC, target, sRed, N, Hq, nb, b, h, p, tid);
        named_barrier(3, NCONSUMER);
        pooled_target_normalise<8, NCONSUMER>(target, sRed, Hq, nb, b, h, p, tid);
    }
}

template <int MODE>
static __device__ __forceinline__ void attention_wg_body(
        const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k,
        const __nv_bfloat16 *__restrict__ v, __nv_bfloat16 *__restrict__ out,
        float *__restrict__ scratch, float *__restrict__ target,
        int N, int Hq, int Hkv, int nb, float scaleLog2, int slots) {
    extern __shared__ unsigned char smem_raw[];
    __shared__ __align__(8) Pipes pipes;
    __shared__ float sRowC[BM], sRed[2][8];
    __shared__ int sSlot;                                  // the global scratch slot this CTA holds (MODE 2)

    // 1024-byte aligned base (the swizzle pattern follows address bits 4-9): Q (2 x 64 rows), K ring, V ring
    const u32 base = (smem_u32(smem_raw) + 1023u) & ~1023u;
    unsigned char *const baseGen = smem_raw + (base - smem_u32(smem_raw));
    const u32 sQ = base;                                   // warpgroup w's Q at sQ + w * Q_WG_BYTES
    const u32 sK = base + 2 * Q_WG_BYTES;                  // stage s at sK + s * KV_TILE_BYTES
    const u32 sV = sK + STAGES * KV_TILE_BYTES;

    const int tid = threadIdx.x, warp = tid >> 5;
    const int np2 = (nb + 1) >> 1;
    const int p = np2 - 1 - blockIdx.x;                    // heavy (late) query tiles first
    const int h = blockIdx.y, b = blockIdx.z;
    const int kh = h / (Hq / Hkv);
    const long qStride = (long)Hq * HEAD_DIM, kvStride = (long)Hkv * HEAD_DIM;
    const int row0 = p * BM;
    const int count = p + 1;                               // key tiles 0 .. p (128 keys each; row0 + 127 < N + 127)

    if (tid == 0) {
#pragma unroll
        for (int s = 0; s < STAGES; s++) {
            mbar_init(smem_u32(&pipes.fullK[s]), 128);     // the producer's 128 threads, once their copies land
            mbar_init(smem_u32(&pipes.fullV[s]), 128);
            mbar_init(smem_u32(&pipes.emptyK[s]), 8);      // the 8 consumer warps
            mbar_init(smem_u32(&pipes.emptyV[s]), 8);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        if (MODE == 2 && nb > SCRATCH_SMEM_NB)   // a slot of the global scratch; one CTA per SM
            sSlot = scratch_slot_acquire(scratch_locks(scratch, slots, nb), slots, 1);
    }
    __syncthreads();
    float *sc = nullptr;
    if (MODE == 2) {
        sc = nb <= SCRATCH_SMEM_NB
                ? reinterpret_cast<float *>(baseGen + 2 * Q_WG_BYTES + 2 * STAGES * KV_TILE_BYTES)
                : scratch + (long)sSlot * nb * BM;
    }

    if (warp >= 8) {
        // ---------------- producer warpgroup ----------------
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" :: "n"(PRODUCER_REGS));
        const int ptid = tid - NCONSUMER;
        const __nv_bfloat16 *kBase = k + (long)b * N * kvStride + (long)kh * HEAD_DIM;
        const __nv_bfloat16 *vBase = v + (long)b * N * kvStride + (long)kh * HEAD_DIM;
        for (int j = 0; j < count; j++) {
            const int s = j % STAGES;
            const u32 parity = ((j / STAGES) - 1) & 1;
            const int rows = min(BN, N - j * BN);
            if (j >= STAGES) mbar_wait(smem_u32(&pipes.emptyK[s]), parity);
            copy_tile(sK + s * KV_TILE_BYTES, kBase + (long)j * BN * kvStride, kvStride, rows, ptid);
            mbar_arrive_cp_async(smem_u32(&pipes.fullK[s]));
            if (j >= STAGES) mbar_wait(smem_u32(&pipes.emptyV[s]), parity);
            copy_tile(sV + s * KV_TILE_BYTES, vBase + (long)j * BN * kvStride, kvStride, rows, ptid);
            mbar_arrive_cp_async(smem_u32(&pipes.fullV[s]));
        }
        asm volatile("cp.async.wait_all;\n" ::: "memory");
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" :: "n"(CONSUMER_REGS));
        consumer<MODE>(q, out, target, N, Hq, nb, scaleLog2, sQ, sK, sV, baseGen, sc, pipes, sRowC, sRed, tid, p, h,
                       b, row0, count, qStride);
        // every consumer thread is done reading the slot (the barrier between the target's two steps)
        if (MODE == 2 && nb > SCRATCH_SMEM_NB && tid == 0)
            scratch_slot_release(scratch_locks(scratch, slots, nb) + sSlot);
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
attn3_dense_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                 __nv_bfloat16 *out, int N, int Hq, int Hkv, int nb, float scaleLog2) {
    attention_wg_body<1>(q, k, v, out, nullptr, nullptr, N, Hq, Hkv, nb, scaleLog2, 0);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
attn3_target_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                  __nv_bfloat16 *out, float *scratch, float *target, int N, int Hq, int Hkv, int nb,
                  float scaleLog2, int slots) {
    attention_wg_body<2>(q, k, v, out, scratch, target, N, Hq, Hkv, nb, scaleLog2, slots);
}
