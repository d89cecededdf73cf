// Block-sparse FlashAttention forward on bf16 tensor cores (mma.sync m16n8k16, fp32 accumulation).
//
// Layouts (the official "bshd"): q, out [B, N, Hq, D]; k, v [B, N, Hkv, D]; mask [B, Hq, nb, nb] bytes.
// One CTA = one 64-row query block of one (b, h); 4 warps, 16 query rows each. Key blocks of 64 are
// visited in ascending order; only kept blocks are loaded (a skipped block costs no K/V traffic).
// GQA: query head h reads kv head h / (Hq / Hkv) straight from k, v (no repeated copy).
// Online softmax in log2 units (scale * log2(e) folded into the scores). Rows with no kept block are 0.
//
// Compile-time constants (-D): HEAD_DIM (multiple of 16). The block size is 64.

#include <cuda_bf16.h>

#ifndef INFINITY   // NVRTC has no <math.h>
#define INFINITY __int_as_float(0x7f800000)
#endif

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

typedef unsigned int u32;
typedef unsigned char u8;

static __device__ __forceinline__ int swz(int row, int chunk) {
    return row * HEAD_DIM + ((chunk ^ (row & SWZ)) << 3);
}

static __device__ __forceinline__ u32 smem_u32(const void *p) {
    return (u32)__cvta_generic_to_shared(p);
}

static __device__ __forceinline__ void cp_async16(void *dst, const void *src, bool valid) {
    int n = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(smem_u32(dst)), "l"(src), "r"(n));
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
static __device__ __forceinline__ float fast_exp2(float x) {   // ex2.approx.ftz: 2^-inf = 0
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}
static __device__ __forceinline__ u32 pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<u32 *>(&v);
}

// Loads a 64 x HEAD_DIM tile whose row r lives at base + r * rowStride (elements); rows >= rows are zero.
// Thread tid copies chunk c = tid % CHUNKS of rows tid / CHUNKS + j * (NTHREADS / CHUNKS).
#define ROWS_PER_PASS (NTHREADS / CHUNKS)
static __device__ __forceinline__ void load_tile(__nv_bfloat16 *dst, const __nv_bfloat16 *base, long rowStride,
                                                 int rows, int tid) {
    const int c = tid % CHUNKS, r0 = tid / CHUNKS;
    const __nv_bfloat16 *src = base + (long)r0 * rowStride + c * 8;
    __nv_bfloat16 *d = dst + swz(r0, c);
    const long step = (long)ROWS_PER_PASS * rowStride;
#pragma unroll
    for (int j = 0; j < BM / ROWS_PER_PASS; j++) {
        int r = r0 + j * ROWS_PER_PASS;          // r & SWZ == r0 & SWZ since ROWS_PER_PASS % 8 == 0
        bool valid = r < rows;
        cp_async16(d + j * ROWS_PER_PASS * HEAD_DIM, valid ? src + j * step : base, valid);
    }
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

// MODE 0: block-sparse with mask; MODE 1: dense causal; MODE 2: dense causal + per-row block maxima for the
// pooled distillation target (rowmax [B*Hq, nb*64, nb] fp32, log2 units) and the target itself.
template <int MODE>
static __device__ __forceinline__ void attention_body(
        const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k,
        const __nv_bfloat16 *__restrict__ v, const u8 *__restrict__ mask, __nv_bfloat16 *__restrict__ out,
        float *__restrict__ rowmax, float *__restrict__ target,
        int N, int Hq, int Hkv, int nb, float scaleLog2) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    __nv_bfloat16 *sK = reinterpret_cast<__nv_bfloat16 *>(smem_raw);   // 2 stages
    __nv_bfloat16 *sV = sK + 2 * TILE_ELEMS;                            // 2 stages
    __nv_bfloat16 *sQ = sV + TILE_ELEMS;          // Q (then the output tile) lives in V's stage 1 until it is needed
    unsigned short *sList = reinterpret_cast<unsigned short *>(sV + 2 * TILE_ELEMS);   // nb entries
    __shared__ int sCount;
    __shared__ float sRowM[BM], sRowL[BM], sRed[NWARPS];

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int m = nb - 1 - blockIdx.x;            // heavy (late) query blocks first
    const int h = blockIdx.y, b = blockIdx.z;
    const int kh = h / (Hq / Hkv);
    const long qStride = (long)Hq * HEAD_DIM, kvStride = (long)Hkv * HEAD_DIM;
    const __nv_bfloat16 *qBase = q + ((long)b * N + (long)m * BM) * qStride + (long)h * HEAD_DIM;
    const __nv_bfloat16 *kBase = k + (long)b * N * kvStride + (long)kh * HEAD_DIM;
    const __nv_bfloat16 *vBase = v + (long)b * N * kvStride + (long)kh * HEAD_DIM;
    const int qRows = min(BM, N - m * BM);

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
        for (int i = tid; i < qRows * CHUNKS; i += NTHREADS) {
            int r = i / CHUNKS, c = i % CHUNKS;
            *reinterpret_cast<uint4 *>(out + ((long)b * N + (long)m * BM + r) * qStride + (long)h * HEAD_DIM + c * 8) =
                make_uint4(0, 0, 0, 0);
        }
        return;
    }

    load_tile(sQ, qBase, qStride, qRows, tid);
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
        if (MODE == 2 && t == 0) {
            float *rm = rowmax + ((((long)b * Hq + h) * nb + m) * BM) * (long)nb;
            rm[(long)r0 * nb + n] = mx[0];
            rm[(long)(r0 + 8) * nb + n] = mx[1];
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
    if (MODE == 2 && t == 0) {
        sRowM[r0] = mRow[0];
        sRowM[r0 + 8] = mRow[1];
        sRowL[r0] = lRow[0];
        sRowL[r0 + 8] = lRow[1];
    }
    __syncthreads();
    for (int i = tid; i < qRows * CHUNKS; i += NTHREADS) {
        int r = i / CHUNKS, c = i % CHUNKS;
        *reinterpret_cast<uint4 *>(out + ((long)b * N + (long)m * BM + r) * qStride + (long)h * HEAD_DIM + c * 8) =
            *reinterpret_cast<const uint4 *>(sQ + swz(r, c));
    }
    (void)outRow0;

    if (MODE == 2) {
        // raw[m, n] = max_r 2^(R[r, n] - m_r) / l_r over the block's real rows; then divide by the row sum
        const float *rm = rowmax + ((((long)b * Hq + h) * nb + m) * BM) * (long)nb;
        float *tg = target + (((long)b * Hq + h) * nb + m) * (long)nb;
        float partial = 0.f;
        for (int n = tid; n < nb; n += NTHREADS) {
            float raw = 0.f;
            if (n <= m) {
                for (int r = 0; r < qRows; r++) {
                    raw = fmaxf(raw, exp2f(rm[(long)r * nb + n] - sRowM[r]) / sRowL[r]);   // accurate exp2 here
                }
            }
            tg[n] = raw;
            partial += raw;
        }
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) partial += __shfl_xor_sync(0xffffffffu, partial, off);
        if (lane == 0) sRed[warp] = partial;
        __syncthreads();
        float total = 0.f;
#pragma unroll
        for (int w = 0; w < NWARPS; w++) total += sRed[w];
        float inv = total > 0.f ? 1.f / total : 0.f;
        for (int n = tid; n < nb; n += NTHREADS) tg[n] *= inv;
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, MIN_CTAS)
attn_sparse_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, const u8 *mask,
                 __nv_bfloat16 *out, int N, int Hq, int Hkv, int nb, float scaleLog2) {
    attention_body<0>(q, k, v, mask, out, nullptr, nullptr, N, Hq, Hkv, nb, scaleLog2);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, MIN_CTAS)
attn_dense_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                __nv_bfloat16 *out, int N, int Hq, int Hkv, int nb, float scaleLog2) {
    attention_body<1>(q, k, v, nullptr, out, nullptr, nullptr, N, Hq, Hkv, nb, scaleLog2);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, MIN_CTAS)
attn_dense_target_bf16(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v,
                       __nv_bfloat16 *out, float *rowmax, float *target, int N, int Hq, int Hkv, int nb,
                       float scaleLog2) {
    attention_body<2>(q, k, v, nullptr, out, rowmax, target, N, Hq, Hkv, nb, scaleLog2);
}
