// Block-sparse FlashAttention forward on Hopper's warpgroup MMA (wgmma, sm_90a): bf16 q, k, v and out, fp32
// accumulation, online softmax in log2 units. Same parameters and results as attn_sparse_bf16 (attention_bf16.cu,
// the mma.sync kernel that other GPUs run) and the reference's BlockSparseAttention: query block m attends to the
// kept key blocks n <= m of its mask row (the block crossing the diagonal, or N, masked element-wise); a row with no
// kept block is 0.
//
// Layouts (the official "bshd"): q, out [B, N, Hq, D]; k, v [B, N, Hkv, D]; mask [B, Hq, nb, nb] bytes. GQA: query
// head h reads kv head h / (Hq / Hkv) straight from k, v.
//
// One CTA = one 64-row query block m of one (b, h); two CTAs per SM, so that one CTA's softmax overlaps the other's
// MMAs. 256 threads in two warpgroups:
//   all 256 threads first build the list of kept key blocks (ascending) in shared memory;
//   warpgroup 0 is the consumer (registers raised to CONSUMER_REGS with setmaxnreg): its 4 warps own 16 rows each;
//   warpgroup 1 is the producer (registers lowered to PRODUCER_REGS): it copies the K and V tiles (64 keys x D) of
//   the listed blocks with cp.async into two rings of STAGES stages and signals each stage's "full" mbarrier when its
//   copies have landed; the consumer's warps signal the stage's "empty" mbarrier when their MMAs no longer read it.
// The consumer holds its Q rows in registers (the A fragments of S = Q K^T), so that shared memory carries only the
// K and V tiles: written once by the copies, read once by the MMAs. Per listed block j it computes S = Q K_j^T
// (HEAD_DIM/16 wgmma m64n64k16, K from shared memory), masks the block crossing the diagonal (or N), updates the
// running row max m and sum l, turns S into P = 2^(S*scale - m) and issues O += P V_j (4 wgmma m64nDk16, P from
// registers as bf16, V transposed from shared memory) together with the next block's S, so that the softmax of block
// j + 1 overlaps the P V product of block j. O is rescaled only in warps where some row's maximum moved.
// Shared tiles use the 128-byte swizzle of wgmma.cuh (sw_off).
//
// Compile-time constants (-D): HEAD_DIM (64 or 128), STAGES.

#include "common.cuh"
#include "wgmma.cuh"
#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif
#if HEAD_DIM != 64 && HEAD_DIM != 128
#error "attention_sparse_wgmma.cu supports HEAD_DIM 64 and 128"
#endif
#ifndef STAGES
#define STAGES 2
#endif

#define BLK 64                               // query rows per CTA = keys per tile = the block size
#define CHUNKS (HEAD_DIM / 8)                // 16-byte chunks per row
#define TILE_BYTES (BLK * HEAD_DIM * 2)
#define NTHREADS 256
#define LIST_CHUNK 16                        // mask bytes per thread per pass of the list builder
#define PRODUCER_REGS 40
#define CONSUMER_REGS 216                    // (216 + 40) x 128 = the 256 x 128 registers of a CTA at 2 per SM

struct SparsePipes {           // mbarriers of the key and value rings
    u64 fullK[STAGES], emptyK[STAGES], fullV[STAGES], emptyV[STAGES];
};

// The kept key blocks n <= m of a mask row, ascending, into list; returns their count (every thread). All NTHREADS
// threads take part: thread tid tests the LIST_CHUNK bytes from tid * LIST_CHUNK of each pass, a warp scan and the
// warps' totals place its blocks. Ends with a barrier, so the list is visible to every thread.
static __device__ __forceinline__ int kept_blocks(const u8 *__restrict__ row, int m, unsigned short *list,
                                                  int *warpTotals, int tid) {
    const int warp = tid >> 5, lane = tid & 31;
    int total = 0;
    for (int base = 0; base <= m; base += NTHREADS * LIST_CHUNK) {
        const int j0 = base + tid * LIST_CHUNK;
        u32 bits = 0;                                      // bit i: block j0 + i is kept
#pragma unroll
        for (int i = 0; i < LIST_CHUNK; i++) {
            const int j = j0 + i;
            if (j <= m && row[j] != 0) bits |= 1u << i;
        }
        const int c = __popc(bits);
        int incl = c;
#pragma unroll
        for (int off = 1; off < 32; off <<= 1) {
            const int y = __shfl_up_sync(0xffffffffu, incl, off);
            if (lane >= off) incl += y;
        }
        if (lane == 31) warpTotals[warp] = incl;
        __syncthreads();
        int pos = total + incl - c, all = total;
#pragma unroll
        for (int w = 0; w < NTHREADS / 32; w++) {
            if (w < warp) pos += warpTotals[w];
            all += warpTotals[w];
        }
        while (bits != 0) {
            list[pos++] = (unsigned short)(j0 + __ffs(bits) - 1);
            bits &= bits - 1;
        }
        total = all;
        __syncthreads();                                   // warpTotals is reused; the list is complete
    }
    return total;
}

// Copies the 64 x HEAD_DIM tile of a key block (row r at base + r * rowStride) into the swizzled stage at dst;
// rows >= rows are zero-filled. Producer thread ptid copies chunk ptid % CHUNKS of rows ptid / CHUNKS + i * STEP.
static __device__ __forceinline__ void copy_block(u32 dst, const __nv_bfloat16 *base, long rowStride, int rows,
                                                  int ptid) {
    const int c = ptid % CHUNKS, r0 = ptid / CHUNKS;
    constexpr int STEP = 128 / CHUNKS;                   // 8 or 16: r % 8 == r0 % 8 for every row copied
    const __nv_bfloat16 *src = base + (long)r0 * rowStride + c * 8;
    const long step = (long)STEP * rowStride;
    u32 d = dst + sw_off(r0, c, BLK);
#pragma unroll
    for (int r = r0; r < BLK; r += STEP) {
        const bool valid = r < rows;
        cp_async16(d, valid ? src : base, valid);
        src += step;
        d += STEP * 128;
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 2)
attn3_sparse_bf16(const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k,
                  const __nv_bfloat16 *__restrict__ v, const u8 *__restrict__ mask, __nv_bfloat16 *__restrict__ out,
                  int N, int Hq, int Hkv, int nb, float scaleLog2) {
    extern __shared__ unsigned char smem_raw[];
    __shared__ __align__(8) SparsePipes pipes;
    __shared__ int warpTotals[NTHREADS / 32];

    // 1024-byte aligned base (the swizzle follows address bits 4-9): the output tile, the K ring, the V ring, the list
    const u32 base = (smem_u32(smem_raw) + 1023u) & ~1023u;
    unsigned char *const baseGen = smem_raw + (base - smem_u32(smem_raw));
    const u32 sK = base + TILE_BYTES;                      // stage s at sK + s * TILE_BYTES
    const u32 sV = sK + STAGES * TILE_BYTES;
    unsigned short *const list = reinterpret_cast<unsigned short *>(baseGen + (1 + 2 * STAGES) * TILE_BYTES);

    const int tid = threadIdx.x, warp = tid >> 5;
    const int m = nb - 1 - blockIdx.x;                     // heavy (late) query blocks first
    const int h = blockIdx.y, b = blockIdx.z;
    const int kh = h / (Hq / Hkv);
    const long qStride = (long)Hq * HEAD_DIM, kvStride = (long)Hkv * HEAD_DIM;
    const int qRows = min(BLK, N - m * BLK);
    __nv_bfloat16 *const outBase = out + ((long)b * N + (long)m * BLK) * qStride + (long)h * HEAD_DIM;

    const int count = kept_blocks(mask + (((long)b * Hq + h) * nb + m) * (long)nb, m, list, warpTotals, tid);
    if (count == 0) {                                      // empty row block: zeros
        for (int i = tid; i < qRows * CHUNKS; i += NTHREADS) {
            *reinterpret_cast<uint4 *>(outBase + (long)(i / CHUNKS) * qStride + (i % CHUNKS) * 8) =
                    make_uint4(0, 0, 0, 0);
        }
        return;
    }
    if (tid == 0) {
#pragma unroll
        for (int s = 0; s < STAGES; s++) {
            mbar_init(smem_u32(&pipes.fullK[s]), 128);     // the producer's 128 threads, once their copies land
            mbar_init(smem_u32(&pipes.fullV[s]), 128);
            mbar_init(smem_u32(&pipes.emptyK[s]), 4);      // the 4 consumer warps
            mbar_init(smem_u32(&pipes.emptyV[s]), 4);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (warp >= 4) {
        // ---------------- producer warpgroup ----------------
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" :: "n"(PRODUCER_REGS));
        const int ptid = tid - 128;
        const __nv_bfloat16 *kBase = k + (long)b * N * kvStride + (long)kh * HEAD_DIM;
        const __nv_bfloat16 *vBase = v + (long)b * N * kvStride + (long)kh * HEAD_DIM;
        for (int j = 0; j < count; j++) {
            const int s = j % STAGES;
            const u32 parity = ((j / STAGES) - 1) & 1;
            const int n = list[j];
            const int rows = min(BLK, N - n * BLK);
            const long offset = (long)n * BLK * kvStride;
            if (j >= STAGES) mbar_wait(smem_u32(&pipes.emptyK[s]), parity);
            copy_block(sK + s * TILE_BYTES, kBase + offset, kvStride, rows, ptid);
            mbar_arrive_cp_async(smem_u32(&pipes.fullK[s]));
            if (j >= STAGES) mbar_wait(smem_u32(&pipes.emptyV[s]), parity);
            copy_block(sV + s * TILE_BYTES, vBase + offset, kvStride, rows, ptid);
            mbar_arrive_cp_async(smem_u32(&pipes.fullV[s]));
        }
        asm volatile("cp.async.wait_all;\n" ::: "memory");
        return;
    }

    // ---------------- consumer warpgroup ----------------
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" :: "n"(CONSUMER_REGS));
    const int lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int rLocal = warp * 16 + g;                      // this thread's rows: rLocal and rLocal + 8
    const int row0 = m * BLK + rLocal;
    // Q in registers as the A fragments of S = Q K^T (rows >= qRows zero): shared memory then carries K and V only
    u32 qa[HEAD_DIM / 16][4];
    {
        const __nv_bfloat16 *qBase = q + ((long)b * N + (long)m * BLK) * qStride + (long)h * HEAD_DIM;
        const bool in0 = rLocal < qRows, in1 = rLocal + 8 < qRows;
        const u32 *q0 = reinterpret_cast<const u32 *>(qBase + (long)(in0 ? rLocal : 0) * qStride);
        const u32 *q1 = reinterpret_cast<const u32 *>(qBase + (long)(in1 ? rLocal + 8 : 0) * qStride);
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) {       // columns 16 ks + 2t, +1 and 16 ks + 8 + 2t, +1
            qa[ks][0] = in0 ? __ldg(q0 + ks * 8 + t) : 0u;
            qa[ks][1] = in1 ? __ldg(q1 + ks * 8 + t) : 0u;
            qa[ks][2] = in0 ? __ldg(q0 + ks * 8 + 4 + t) : 0u;
            qa[ks][3] = in1 ? __ldg(q1 + ks * 8 + 4 + t) : 0u;
        }
    }

    float o[HEAD_DIM / 2];
    float s[BLK / 2];
    u32 pa[BLK / 16][4];
    float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};
#pragma unroll
    for (int i = 0; i < HEAD_DIM / 2; i++) o[i] = 0.f;

    // descriptors: K K-major (sbo 1024 = 8 rows of 128 B); V MN-major (lbo = one 64-column half, sbo 8 rows)
    auto issueS = [&](int j) {
        const u32 kTile = sK + (j % STAGES) * TILE_BYTES;
        u64 db[HEAD_DIM / 16];
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) {
            db[ks] = desc_sw128(kTile + (u32)((ks >> 2) * BLK * 128 + (ks & 3) * 32), 16, 1024);
        }
        wgmma_fence();
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) wgmma_rs_m64n64(s, qa[ks], db[ks], ks > 0);
        wgmma_commit();
    };
    auto issuePV = [&](int j, bool accumulate) {
        const u32 vTile = sV + (j % STAGES) * TILE_BYTES;
        u64 db[BLK / 16];
#pragma unroll
        for (int kk = 0; kk < BLK / 16; kk++) db[kk] = desc_sw128(vTile + (u32)(kk * 16 * 128), BLK * 128, 1024);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BLK / 16; kk++) {
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
        for (int i = 0; i < BLK / 2; i++) reg_fence(s[i]);
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
    // masks listed block j where it crosses the diagonal or N, updates m and l, turns s into P, returns corr
    auto softmax = [&](int j, float corr[2]) {
        const int n = list[j];
        const bool needMask = n == m || n * BLK + BLK > N;
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nt = 0; nt < BLK / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                if (needMask) {
                    const int col = n * BLK + nt * 8 + 2 * t + (e & 1);
                    const int row = row0 + ((e >> 1) << 3);
                    if (col > row || col >= N) s[nt * 4 + e] = -INFINITY;
                }
                mx[e >> 1] = fmaxf(mx[e >> 1], s[nt * 4 + e]);
            }
        }
        float mUse[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            float x = mx[i];
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
            const float mNew = fmaxf(mRow[i], x * scaleLog2);
            mUse[i] = mNew == -INFINITY ? 0.f : mNew;
            corr[i] = fast_exp2(mRow[i] - mUse[i]);
            mRow[i] = mNew;
            lRow[i] *= corr[i];
        }
#pragma unroll
        for (int i = 0; i < BLK / 2; i++) {                // P in place, fp32 (packed to bf16 once P V_{j-1} is done)
            s[i] = fast_exp2(fmaf(s[i], scaleLog2, -mUse[(i >> 1) & 1]));
            lRow[(i >> 1) & 1] += s[i];
        }
    };
    auto packP = [&]() {                                   // P (fp32 in s) -> bf16 A fragments
#pragma unroll
        for (int kk = 0; kk < BLK / 16; kk++) {
            pa[kk][0] = pack_bf16(s[kk * 8 + 0], s[kk * 8 + 1]);
            pa[kk][1] = pack_bf16(s[kk * 8 + 2], s[kk * 8 + 3]);
            pa[kk][2] = pack_bf16(s[kk * 8 + 4], s[kk * 8 + 5]);
            pa[kk][3] = pack_bf16(s[kk * 8 + 6], s[kk * 8 + 7]);
        }
    };

    float corr[2];
    waitFull(pipes.fullK, 0);
    issueS(0);
    wgmma_wait<0>();
    fenceS();
    release(pipes.emptyK, 0);
    softmax(0, corr);
    packP();
    for (int j = 1; j < count; j++) {
        waitFull(pipes.fullK, j);
        issueS(j);
        waitFull(pipes.fullV, j - 1);
        issuePV(j - 1, j > 1);
        wgmma_wait<1>();                                   // S_j is ready; P V_{j-1} may still run
        fenceS();
        release(pipes.emptyK, j);
        softmax(j, corr);
        wgmma_wait<0>();
        fenceO();
        release(pipes.emptyV, j - 1);
        packP();
        if (!__all_sync(0xffffffffu, corr[0] == 1.f && corr[1] == 1.f)) {   // no row max moved in this warp: O stays
#pragma unroll
            for (int i = 0; i < HEAD_DIM / 8; i++) {
                o[4 * i + 0] *= corr[0]; o[4 * i + 1] *= corr[0];
                o[4 * i + 2] *= corr[1]; o[4 * i + 3] *= corr[1];
            }
        }
    }
    waitFull(pipes.fullV, count - 1);
    issuePV(count - 1, count > 1);
    wgmma_wait<0>();
    fenceO();
    release(pipes.emptyV, count - 1);

    // normalise, stage the bf16 tile in the output space (each thread its own rows), store 16-byte rows
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        lRow[i] += __shfl_xor_sync(0xffffffffu, lRow[i], 1);
        lRow[i] += __shfl_xor_sync(0xffffffffu, lRow[i], 2);
        inv[i] = lRow[i] > 0.f ? 1.f / lRow[i] : 0.f;
    }
#pragma unroll
    for (int i = 0; i < HEAD_DIM / 8; i++) {
        const u32 within = (u32)(4 * t);
        *reinterpret_cast<u32 *>(baseGen + sw_off(rLocal, i, BLK) + within) =
                pack_bf16(o[4 * i] * inv[0], o[4 * i + 1] * inv[0]);
        *reinterpret_cast<u32 *>(baseGen + sw_off(rLocal + 8, i, BLK) + within) =
                pack_bf16(o[4 * i + 2] * inv[1], o[4 * i + 3] * inv[1]);
    }
    named_barrier(1, 128);
    for (int id = tid; id < qRows * CHUNKS; id += 128) {
        const int r = id / CHUNKS, c = id % CHUNKS;
        *reinterpret_cast<uint4 *>(outBase + (long)r * qStride + c * 8) =
                *reinterpret_cast<const uint4 *>(baseGen + sw_off(r, c, BLK));
    }
}
