// Block-sparse FlashAttention forward on bf16 tensor cores (mma.sync m16n8k16, fp32 accumulation).
//
// Layouts (the official "bshd"): q, out [B, N, Hq, D]; k, v [B, N, Hkv, D]; mask [B, Hq, nb, nb] bytes.
// Sparse (and the 64-row dense kernel): one CTA = one 64-row query block of one (b, h); 4 warps, 16 query rows each.
// Dense and dense + pooled target: 128-row CTAs, 4 warps x 32 rows (attention2_body, at the end of this file). Key blocks of 64 are
// visited in ascending order; only kept blocks are loaded (a skipped block costs no K/V traffic).
// GQA: query head h reads kv head h / (Hq / Hkv) straight from k, v (no repeated copy).
// Online softmax in log2 units (scale * log2(e) folded into the scores). Rows with no kept block are 0.
//
// Compile-time constants (-D): HEAD_DIM (multiple of 16). The block size is 64.

#include "common.cuh"

#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif

#ifndef MIN_CTAS
#define MIN_CTAS 3                             // CTAs per SM the register budget is sized for
#endif

#define BM 64
#define BN 64
#define NWARPS 4
#define NTHREADS (NWARPS * 32)
#define CHUNKS (HEAD_DIM / 8)                 // 16-byte chunks per row
#define SWZ ((CHUNKS >= 8 ? 8 : CHUNKS) - 1)   // xor swizzle of the chunk index
#define TILE_ELEMS (BM * HEAD_DIM)


static __device__ __forceinline__ int swz(int row, int chunk) {
    return row * HEAD_DIM + ((chunk ^ (row & SWZ)) << 3);
}


static __device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
static __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N)); }

static __device__ __forceinline__ void ldsm_x4(u32 &r0, u32 &r1, u32 &r2, u32 &r3, const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(smem_u32(p)));
}
static __device__ __forceinline__ void ldsm_x4a(u32 &r0, u32 &r1, u32 &r2, u32 &r3, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
static __device__ __forceinline__ void ldsm_x4_ta(u32 &r0, u32 &r1, u32 &r2, u32 &r3, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
static __device__ __forceinline__ void mma16816(float *c, const u32 *a, u32 b0, u32 b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Loads a 64 x HEAD_DIM tile whose row r lives at base + r * rowStride (elements); rows >= rows are zero.
// Thread tid copies chunk c = tid % CHUNKS of rows tid / CHUNKS + j * (NTHREADS / CHUNKS).
#define ROWS_PER_PASS (NTHREADS / CHUNKS)
// Rows that are not copied read nothing (src-size 0) but still need an address: safe (a valid row) is given.
static __device__ __forceinline__ void load_tile_s(__nv_bfloat16 *dst, const __nv_bfloat16 *base, long rowStride,
                                                   int rows, int tid, const __nv_bfloat16 *safe) {
    const int c = tid % CHUNKS, r0 = tid / CHUNKS;
    const __nv_bfloat16 *src = base + (long)r0 * rowStride + c * 8;
    __nv_bfloat16 *d = dst + swz(r0, c);
    const long step = (long)ROWS_PER_PASS * rowStride;
#pragma unroll
    for (int j = 0; j < BM / ROWS_PER_PASS; j++) {
        int r = r0 + j * ROWS_PER_PASS;          // r & SWZ == r0 & SWZ since ROWS_PER_PASS % 8 == 0
        bool valid = r < rows;
        cp_async16(smem_u32(d + j * ROWS_PER_PASS * HEAD_DIM), valid ? src + j * step : safe, valid);
    }
}
static __device__ __forceinline__ void load_tile(__nv_bfloat16 *dst, const __nv_bfloat16 *base, long rowStride,
                                                 int rows, int tid) {
    load_tile_s(dst, base, rowStride, rows, tid, base);
}

// Byte offsets, inside a swizzled tile, of this lane's ldmatrix row address for 16-wide step s (ks over D for
// K, dp over D for V): the xor swizzle only touches the low bits of s, so 2^k precomputed offsets and immediate
// displacements cover every step. row: the lane's row inside a 16-row group; c: its 8-column half.
#define QB ((SWZ + 1) / 2)
struct LdsmOffsets {
    u32 off[QB];
};
static __device__ __forceinline__ LdsmOffsets ldsm_offsets(int row, int c) {
    LdsmOffsets o;
    int q = (row & SWZ) >> 1, lo = c ^ (row & 1);
#pragma unroll
    for (int b = 0; b < QB; b++) o.off[b] = (u32)((row * HEAD_DIM + (2 * (b ^ q) + lo) * 8) * 2);
    return o;
}
// byte address of step s for a tile at smem byte address tile
#define LDSM_ADDR(tile, offs, s, rowOffsetBytes) \
    ((tile) + (offs).off[(s) % QB] + (u32)(((s) / QB) * QB * 2 * 8 * 2) + (u32)(rowOffsetBytes))

// MODE 0: block-sparse with mask; MODE 1: dense causal (64-row tiles; the dense and fused entry points below use
// the 128-row kernel attention2_body).
template <int MODE>
static __device__ __forceinline__ void attention_body(
        const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k,
        const __nv_bfloat16 *__restrict__ v, const u8 *__restrict__ mask, __nv_bfloat16 *__restrict__ out,
        int N, int Hq, int Hkv, int nb, float scaleLog2) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    __nv_bfloat16 *sK = reinterpret_cast<__nv_bfloat16 *>(smem_raw);   // 2 stages
    __nv_bfloat16 *sV = sK + 2 * TILE_ELEMS;                            // 2 stages
    __nv_bfloat16 *sQ = sV + TILE_ELEMS;          // Q (then the output tile) lives in V's stage 1 until it is needed
    unsigned short *sList = reinterpret_cast<unsigned short *>(sV + 2 * TILE_ELEMS);   // nb entries
    __shared__ int sCount;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int m = nb - 1 - blockIdx.x;            // heavy (late) query blocks first
    const int h = blockIdx.y, b = blockIdx.z;
    const int kh = h / (Hq / Hkv);
    const long qStride = (long)Hq * HEAD_DIM, kvStride = (long)Hkv * HEAD_DIM;
    const __nv_bfloat16 *qBase = q + ((long)b * N + (long)m * BM) * qStride + (long)h * HEAD_DIM;
    const __nv_bfloat16 *kBase = k + (long)b * N * kvStride + (long)kh * HEAD_DIM;
    const __nv_bfloat16 *vBase = v + (long)b * N * kvStride + (long)kh * HEAD_DIM;
    const int qRows = min(BM, N - m * BM);

    // Q's copy is issued first so that it overlaps building the list (it joins the first K/V tile's group).
    load_tile(sQ, qBase, qStride, qRows, tid);

    // The list of kept key blocks (ascending), built by warp 0 with ballots.
    int count;
    if (MODE == 0) {
        if (warp == 0) {
            const u8 *row = mask + (((long)b * Hq + h) * nb + m) * (long)nb;
            int total = 0;
            for (int j0 = 0; j0 <= m; j0 += 32) {
                int j = j0 + lane;
                bool keep = j <= m && row[j] != 0;
                u32 bal = __ballot_sync(0xffffffffu, keep);
                if (keep) sList[total + __popc(bal & ((1u << lane) - 1u))] = (unsigned short)j;
                total += __popc(bal);
            }
            if (lane == 0) sCount = total;
        }
        __syncthreads();
        count = sCount;
    } else {
        count = m + 1;
    }

    const int g = lane >> 2, t = lane & 3;
    const int r0 = warp * 16 + g;                 // this thread's rows in the tile: r0 and r0 + 8
    const long outRow0 = (long)m * BM + r0;

    if (count == 0) {                             // empty row block: zeros
        cp_commit();
        cp_wait<0>();                             // Q's copy lands before the CTA leaves
        for (int i = tid; i < qRows * CHUNKS; i += NTHREADS) {
            int r = i / CHUNKS, c = i % CHUNKS;
            *reinterpret_cast<uint4 *>(out + ((long)b * N + (long)m * BM + r) * qStride + (long)h * HEAD_DIM + c * 8) =
                make_uint4(0, 0, 0, 0);
        }
        return;
    }

    {
        int n0 = MODE == 0 ? sList[0] : 0;
        int rows = min(BN, N - n0 * BN);
        load_tile(sK, kBase + (long)n0 * BN * kvStride, kvStride, rows, tid);
        load_tile(sV, vBase + (long)n0 * BN * kvStride, kvStride, rows, tid);
    }
    cp_commit();

    float o[HEAD_DIM / 8][4];
#pragma unroll
    for (int i = 0; i < HEAD_DIM / 8; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};
    u32 qf[HEAD_DIM / 16][4];

    const LdsmOffsets kOffs = ldsm_offsets((lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
    const LdsmOffsets vOffs = ldsm_offsets((lane & 7) + (((lane >> 3) & 1) << 3), lane >> 4);
    const u32 sK0 = smem_u32(sK), sV0 = smem_u32(sV);

    for (int it = 0; it < count; it++) {
        const int n = MODE == 0 ? sList[it] : it;
        const int stage = it & 1;
        if (it == 0) {
            cp_wait<0>();
            __syncthreads();
#pragma unroll
            for (int ks = 0; ks < HEAD_DIM / 16; ks++) {
                int row = warp * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
                int chunk = ks * 2 + (lane >> 4);
                ldsm_x4(qf[ks][0], qf[ks][1], qf[ks][2], qf[ks][3], sQ + swz(row, chunk));
            }
            __syncthreads();   // Q's space (V stage 1) is free from here
        }
        if (it + 1 < count) {
            int n1 = MODE == 0 ? sList[it + 1] : it + 1;
            int rows = min(BN, N - n1 * BN);
            load_tile(sK + (stage ^ 1) * TILE_ELEMS, kBase + (long)n1 * BN * kvStride, kvStride, rows, tid);
            load_tile(sV + (stage ^ 1) * TILE_ELEMS, vBase + (long)n1 * BN * kvStride, kvStride, rows, tid);
            cp_commit();
        }
        if (it > 0) {
            if (it + 1 < count) cp_wait<1>(); else cp_wait<0>();
            __syncthreads();
        }
        const u32 cK = sK0 + stage * TILE_ELEMS * 2;
        const u32 cV = sV0 + stage * TILE_ELEMS * 2;

        // S = Q K^T (16 x 64 per warp)
        float s[BN / 8][4];
#pragma unroll
        for (int i = 0; i < BN / 8; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) {
#pragma unroll
            for (int np = 0; np < BN / 16; np++) {
                u32 b0, b1, b2, b3;
                ldsm_x4a(b0, b1, b2, b3, LDSM_ADDR(cK, kOffs, ks, np * 16 * HEAD_DIM * 2));
                mma16816(s[2 * np], qf[ks], b0, b1);
                mma16816(s[2 * np + 1], qf[ks], b2, b3);
            }
        }

        // causal mask on the diagonal block, row maxima of the raw scores (scale > 0 commutes with max)
        const bool diag = n == m;
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                if (diag) {
                    int col = nt * 8 + 2 * t + (e & 1);
                    int row = r0 + ((e >> 1) << 3);
                    if (col > row || n * BN + col >= N) s[nt][e] = -INFINITY;
                }
                mx[e >> 1] = fmaxf(mx[e >> 1], s[nt][e]);
            }
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
            mx[i] *= scaleLog2;
        }
        float corr[2], mUse[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            float mNew = fmaxf(mRow[i], mx[i]);
            mUse[i] = mNew == -INFINITY ? 0.f : mNew;
            corr[i] = fast_exp2(mRow[i] - mUse[i]);
            mRow[i] = mNew;
            lRow[i] *= corr[i];
        }
#pragma unroll
        for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float p = fast_exp2(fmaf(s[nt][e], scaleLog2, -mUse[e >> 1]));
                s[nt][e] = p;
                lRow[e >> 1] += p;
            }
        }
#pragma unroll
        for (int i = 0; i < HEAD_DIM / 8; i++) {
            o[i][0] *= corr[0]; o[i][1] *= corr[0];
            o[i][2] *= corr[1]; o[i][3] *= corr[1];
        }

        // O += P V
#pragma unroll
        for (int ks = 0; ks < BN / 16; ks++) {
            u32 a[4];
            a[0] = pack_bf16(s[2 * ks][0], s[2 * ks][1]);
            a[1] = pack_bf16(s[2 * ks][2], s[2 * ks][3]);
            a[2] = pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]);
            a[3] = pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3]);
#pragma unroll
            for (int dp = 0; dp < HEAD_DIM / 16; dp++) {
                u32 b0, b1, b2, b3;
                ldsm_x4_ta(b0, b1, b2, b3, LDSM_ADDR(cV, vOffs, dp, ks * 16 * HEAD_DIM * 2));
                mma16816(o[2 * dp], a, b0, b1);
                mma16816(o[2 * dp + 1], a, b2, b3);
            }
        }
        __syncthreads();   // the next iteration overwrites the other stage only after every warp is done here
    }

    // normalise and store
#pragma unroll
    for (int i = 0; i < 2; i++) {
        lRow[i] += __shfl_xor_sync(0xffffffffu, lRow[i], 1);
        lRow[i] += __shfl_xor_sync(0xffffffffu, lRow[i], 2);
    }
    float inv0 = lRow[0] > 0.f ? 1.f / lRow[0] : 0.f;
    float inv1 = lRow[1] > 0.f ? 1.f / lRow[1] : 0.f;
    // stage the bf16 output tile through shared memory (reuse sQ) for 16-byte stores
#pragma unroll
    for (int nt = 0; nt < HEAD_DIM / 8; nt++) {
        int col = nt * 8 + 2 * t;
        int chunk = col >> 3, within = col & 7;
        *reinterpret_cast<u32 *>(sQ + swz(r0, chunk) + within) = pack_bf16(o[nt][0] * inv0, o[nt][1] * inv0);
        *reinterpret_cast<u32 *>(sQ + swz(r0 + 8, chunk) + within) = pack_bf16(o[nt][2] * inv1, o[nt][3] * inv1);
    }
    __syncthreads();
    for (int i = tid; i < qRows * CHUNKS; i += NTHREADS) {
        int r = i / CHUNKS, c = i % CHUNKS;
        *reinterpret_cast<uint4 *>(out + ((long)b * N + (long)m * BM + r) * qStride + (long)h * HEAD_DIM + c * 8) =
            *reinterpret_cast<const uint4 *>(sQ + swz(r, c));
    }
    (void)outRow0;
}

extern "C" __global__ void __launch_bounds__(NTHREADS, MIN_CTAS)
attn_sparse_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, const u8 *mask,
                 __nv_bfloat16 *out, int N, int Hq, int Hkv, int nb, float scaleLog2) {
    attention_body<0>(q, k, v, mask, out, N, Hq, Hkv, nb, scaleLog2);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, MIN_CTAS)
attn_dense_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                __nv_bfloat16 *out, int N, int Hq, int Hkv, int nb, float scaleLog2) {
    attention_body<1>(q, k, v, nullptr, out, N, Hq, Hkv, nb, scaleLog2);
}


// ---------------------------------------------------------------------------------------------------------
// Dense causal attention on 128-row query tiles (the FlashAttention-2 layout): one CTA = query blocks 2p and
// 2p + 1 of one (b, h); 4 warps x 32 rows, two m16 tiles per warp, so every K/V fragment read from shared memory
// feeds two MMAs and every K/V tile copied from L2 serves 128 rows. Q stays in shared memory and is re-read per key
// block (registers hold the two output tiles); K/V are double-buffered with cp.async, one barrier per key block.
// Warps whose rows all precede a key block skip it; only tiles crossing the diagonal (or N) are masked.
// MODE 1: dense. MODE 2: dense + the pooled distillation target: every row's block maxima (log2 units, fp32) go to
// a per-CTA scratch [nb][128] (row index fastest, so the 8 row-owning lanes of a warp write one 32-byte sector):
// in shared memory when nb <= SCRATCH_SMEM_NB, else in one of the `slots` slots of the global scratch that the CTA
// holds while it runs (common.cuh, scratch_slot_acquire; two CTAs per SM); at the end of the
// CTA, target[m, n] = max_r 2^(R[r, n] - m_r) / l_r = max_r 2^(R[r, n] - c_r) (c_r = m_r + log2 l_r) over the
// block's real rows, normalised over n (one warp per n).
#define BM2 128
#ifndef SCRATCH_SMEM_NB
#define SCRATCH_SMEM_NB 24
#endif

template <int MODE>
static __device__ __forceinline__ void attention2_body(
        const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k,
        const __nv_bfloat16 *__restrict__ v, __nv_bfloat16 *__restrict__ out,
        float *__restrict__ scratch, float *__restrict__ target,
        int N, int Hq, int Hkv, int nb, float scaleLog2, int slots) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    __nv_bfloat16 *sQ = reinterpret_cast<__nv_bfloat16 *>(smem_raw);   // 128 rows (2 tiles); later the output
    __nv_bfloat16 *sK = sQ + 2 * TILE_ELEMS;                            // 2 stages
    __nv_bfloat16 *sV = sK + 2 * TILE_ELEMS;                            // 2 stages
    __shared__ float sRowC[BM2], sRed[2][NWARPS];
    __shared__ int sSlot;                         // the global scratch slot this CTA holds (MODE 2)

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int np2 = (nb + 1) >> 1;
    const int p = np2 - 1 - blockIdx.x;           // heavy (late) query tiles first
    const int h = blockIdx.y, b = blockIdx.z;
    const int kh = h / (Hq / Hkv);
    const long qStride = (long)Hq * HEAD_DIM, kvStride = (long)Hkv * HEAD_DIM;
    const int row0 = p * BM2;
    const __nv_bfloat16 *qBase = q + ((long)b * N + row0) * qStride + (long)h * HEAD_DIM;
    const __nv_bfloat16 *kBase = k + (long)b * N * kvStride + (long)kh * HEAD_DIM;
    const __nv_bfloat16 *vBase = v + (long)b * N * kvStride + (long)kh * HEAD_DIM;
    const int qRows = min(BM2, N - row0);
    const int count = min(2 * p + 2, nb);         // key blocks 0 .. count - 1

    load_tile_s(sQ, qBase, qStride, min(BM, qRows), tid, qBase);
    load_tile_s(sQ + TILE_ELEMS, qBase + (long)BM * qStride, qStride, qRows - BM, tid, qBase);
    load_tile(sK, kBase, kvStride, min(BN, N), tid);
    load_tile(sV, vBase, kvStride, min(BN, N), tid);
    cp_commit();

    float *sc = nullptr;
    if (MODE == 2) {
        if (nb <= SCRATCH_SMEM_NB) {
            sc = reinterpret_cast<float *>(sV + 2 * TILE_ELEMS);
        } else {                                  // a slot of the global scratch, while the first tiles land
            if (tid == 0) sSlot = scratch_slot_acquire(scratch_locks(scratch, slots, nb), slots, 2);
            __syncthreads();
            sc = scratch + (long)sSlot * nb * BM2;
        }
    }

    const int g = lane >> 2, t = lane & 3;
    const int wRow0 = row0 + warp * 32;           // this warp's first query row
    float o[2][HEAD_DIM / 8][4];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int i = 0; i < HEAD_DIM / 8; i++) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
    float mRow[2][2] = {{-INFINITY, -INFINITY}, {-INFINITY, -INFINITY}};
    float lRow[2][2] = {{0.f, 0.f}, {0.f, 0.f}};

    const LdsmOffsets kOffs = ldsm_offsets((lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
    const LdsmOffsets aOffs = ldsm_offsets((lane & 7) + (((lane >> 3) & 1) << 3), lane >> 4);   // Q and V (trans)
    const u32 sQw = smem_u32(sQ) + (u32)(warp * 32 * HEAD_DIM * 2), sK0 = smem_u32(sK), sV0 = smem_u32(sV);

    for (int n = 0; n < count; n++) {
        const int stage = n & 1;
        cp_wait<0>();
        __syncthreads();   // tile n has landed everywhere, and every warp is done with tile n - 1's stage
        if (n + 1 < count) {
            int rows = min(BN, N - (n + 1) * BN);
            load_tile(sK + (stage ^ 1) * TILE_ELEMS, kBase + (long)(n + 1) * BN * kvStride, kvStride, rows, tid);
            load_tile(sV + (stage ^ 1) * TILE_ELEMS, vBase + (long)(n + 1) * BN * kvStride, kvStride, rows, tid);
            cp_commit();
        }
        if (n * BN > wRow0 + 31 || wRow0 >= N) continue;   // every key of the block follows every row of the warp
        const u32 cK = sK0 + stage * TILE_ELEMS * 2;
        const u32 cV = sV0 + stage * TILE_ELEMS * 2;

        // S = Q K^T (32 x 64 per warp)
        float s[2][BN / 8][4];
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int i = 0; i < BN / 8; i++) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < HEAD_DIM / 16; ks++) {
            u32 a0[4], a1[4];
            ldsm_x4a(a0[0], a0[1], a0[2], a0[3], LDSM_ADDR(sQw, aOffs, ks, 0));
            ldsm_x4a(a1[0], a1[1], a1[2], a1[3], LDSM_ADDR(sQw, aOffs, ks, 16 * HEAD_DIM * 2));
#pragma unroll
            for (int np = 0; np < BN / 16; np++) {
                u32 b0, b1, b2, b3;
                ldsm_x4a(b0, b1, b2, b3, LDSM_ADDR(cK, kOffs, ks, np * 16 * HEAD_DIM * 2));
                mma16816(s[0][2 * np], a0, b0, b1);
                mma16816(s[0][2 * np + 1], a0, b2, b3);
                mma16816(s[1][2 * np], a1, b0, b1);
                mma16816(s[1][2 * np + 1], a1, b2, b3);
            }
        }

        // causal mask where the block crosses the diagonal (or N); row maxima of the raw scores
        const bool needMask = n * BN + BN - 1 > wRow0 || n * BN + BN > N;
        float mx[2][2];
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
            mx[mt][0] = mx[mt][1] = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    if (needMask) {
                        int col = n * BN + nt * 8 + 2 * t + (e & 1);
                        int row = wRow0 + mt * 16 + g + ((e >> 1) << 3);
                        if (col > row || col >= N) s[mt][nt][e] = -INFINITY;
                    }
                    mx[mt][e >> 1] = fmaxf(mx[mt][e >> 1], s[mt][nt][e]);
                }
            }
        }
        float corr[2][2], mUse[2][2];
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                float x = mx[mt][i];
                x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
                x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
                x *= scaleLog2;
                if (MODE == 2 && t == 0) sc[n * BM2 + warp * 32 + mt * 16 + g + i * 8] = x;
                float mNew = fmaxf(mRow[mt][i], x);
                mUse[mt][i] = mNew == -INFINITY ? 0.f : mNew;
                corr[mt][i] = fast_exp2(mRow[mt][i] - mUse[mt][i]);
                mRow[mt][i] = mNew;
                lRow[mt][i] *= corr[mt][i];
            }
        }
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
#pragma unroll
            for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float pr = fast_exp2(fmaf(s[mt][nt][e], scaleLog2, -mUse[mt][e >> 1]));
                    s[mt][nt][e] = pr;
                    lRow[mt][e >> 1] += pr;
                }
            }
#pragma unroll
            for (int i = 0; i < HEAD_DIM / 8; i++) {
                o[mt][i][0] *= corr[mt][0]; o[mt][i][1] *= corr[mt][0];
                o[mt][i][2] *= corr[mt][1]; o[mt][i][3] *= corr[mt][1];
            }
        }

        // O += P V
#pragma unroll
        for (int ks = 0; ks < BN / 16; ks++) {
            u32 a0[4], a1[4];
            a0[0] = pack_bf16(s[0][2 * ks][0], s[0][2 * ks][1]);
            a0[1] = pack_bf16(s[0][2 * ks][2], s[0][2 * ks][3]);
            a0[2] = pack_bf16(s[0][2 * ks + 1][0], s[0][2 * ks + 1][1]);
            a0[3] = pack_bf16(s[0][2 * ks + 1][2], s[0][2 * ks + 1][3]);
            a1[0] = pack_bf16(s[1][2 * ks][0], s[1][2 * ks][1]);
            a1[1] = pack_bf16(s[1][2 * ks][2], s[1][2 * ks][3]);
            a1[2] = pack_bf16(s[1][2 * ks + 1][0], s[1][2 * ks + 1][1]);
            a1[3] = pack_bf16(s[1][2 * ks + 1][2], s[1][2 * ks + 1][3]);
#pragma unroll
            for (int dp = 0; dp < HEAD_DIM / 16; dp++) {
                u32 b0, b1, b2, b3;
                ldsm_x4_ta(b0, b1, b2, b3, LDSM_ADDR(cV, aOffs, dp, ks * 16 * HEAD_DIM * 2));
                mma16816(o[0][2 * dp], a0, b0, b1);
                mma16816(o[0][2 * dp + 1], a0, b2, b3);
                mma16816(o[1][2 * dp], a1, b0, b1);
                mma16816(o[1][2 * dp + 1], a1, b2, b3);
            }
        }
    }
    __syncthreads();   // every warp is done with sQ (reused for the output tile)

    // normalise and store
#pragma unroll
    for (int mt = 0; mt < 2; mt++) {
        float inv[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            lRow[mt][i] += __shfl_xor_sync(0xffffffffu, lRow[mt][i], 1);
            lRow[mt][i] += __shfl_xor_sync(0xffffffffu, lRow[mt][i], 2);
            inv[i] = lRow[mt][i] > 0.f ? 1.f / lRow[mt][i] : 0.f;
        }
        const int r = warp * 32 + mt * 16 + g;
#pragma unroll
        for (int nt = 0; nt < HEAD_DIM / 8; nt++) {
            int col = nt * 8 + 2 * t;
            int chunk = col >> 3, within = col & 7;
            *reinterpret_cast<u32 *>(sQ + swz(r, chunk) + within) =
                pack_bf16(o[mt][nt][0] * inv[0], o[mt][nt][1] * inv[0]);
            *reinterpret_cast<u32 *>(sQ + swz(r + 8, chunk) + within) =
                pack_bf16(o[mt][nt][2] * inv[1], o[mt][nt][3] * inv[1]);
        }
        if (MODE == 2 && t == 0) {                // the row's log-sum-exp, log2 units: m_r + log2 l_r
            sRowC[r] = mRow[mt][0] + log2f(lRow[mt][0]);
            sRowC[r + 8] = mRow[mt][1] + log2f(lRow[mt][1]);
        }
    }
    __syncthreads();
    for (int i = tid; i < qRows * CHUNKS; i += NTHREADS) {
        int r = i / CHUNKS, c = i % CHUNKS;
        *reinterpret_cast<uint4 *>(out + ((long)b * N + row0 + r) * qStride + (long)h * HEAD_DIM + c * 8) =
            *reinterpret_cast<const uint4 *>(sQ + swz(r, c));
    }

    if (MODE == 2) {
        pooled_target_maxima<NWARPS, NTHREADS>(sc, sRowC, target, sRed, N, Hq, nb, b, h, p, tid);
        __syncthreads();
        pooled_target_normalise<NWARPS, NTHREADS>(target, sRed, Hq, nb, b, h, p, tid);
        // every thread is done reading the slot (the barrier between the target's two steps)
        if (nb > SCRATCH_SMEM_NB && tid == 0) scratch_slot_release(scratch_locks(scratch, slots, nb) + sSlot);
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 2)
attn2_dense_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                 __nv_bfloat16 *out, int N, int Hq, int Hkv, int nb, float scaleLog2) {
    attention2_body<1>(q, k, v, out, nullptr, nullptr, N, Hq, Hkv, nb, scaleLog2, 0);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 2)
attn2_target_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                  __nv_bfloat16 *out, float *scratch, float *target, int N, int Hq, int Hkv, int nb,
                  float scaleLog2, int slots) {
    attention2_body<2>(q, k, v, out, scratch, target, N, Hq, Hkv, nb, scaleLog2, slots);
}
