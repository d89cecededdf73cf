// SeerAttention-R attention in fp32 (the CUDA engine's DecodeOps; exactness reference on the GPU).
//
// Block-sparse decode attention (SparseDecodeAttention.forward / forwardRows), split over the visited blocks
// ("flash-decoding"). An item is one query token with its keys: a sequence of the left-padded cache
// (sparseDecode) or a teacher-forced row t over the keys 0 … t (sparseDecodeRows). Item i attends with query head h
// to the keys c ∈ [first[i], end[i]) of the visited blocks of KV head kh = h / g, listed in ascending order by
// decode_block_list (decode_gate.cu):
//   out[i, h] = Σ_c softmax_c(scale · q[i, h] · k[i, c, kh]) · v[i, c, kh]
// Pass 1 (sparse_decode_partial_f32): grid (S, Hkv · hc, items), 128 threads; CTA (s, y, i) takes list entries
// [s·e, min(count, (s+1)·e)), e = ceil(count / S), for the heads [a0, a0 + G) of the group (G = min(g, MAX_G),
// hc = ceil(g / G) chunks); each warp takes every fourth key, lanes hold channels lane + 32·r; a running maximum m,
// sum l and output o per head (natural exponent), merged over the warps in shared memory; the CTA writes (m, l) and
// o of its split. Pass 2 (sparse_decode_combine_f32): grid (Hq, items), 128 threads:
//   out = Σ_s e^(m_s − M) o_s / Σ_s e^(m_s − M) l_s.    A split without keys has m = −∞, l = 0, o = 0.
//
// Decode distillation target (DecodeTarget.compute), decode_target_f32: for query row t of sequence b and KV head
// kh, G1[h, t, n] = max_{c ∈ block n} P_h[t, c] for the blocks n < t / B strictly before the row's own, with
// P_h[t, c] = e^(s_c − m) / l over the causal row (s = scale · q · k); target = max_h G1 over the group,
// normalised by its sum (fp64) + 1e-9; 0 elsewhere. Grid (ceil(N / 64), Hkv, batch), 64 threads (thread = row);
// q [batch, N, Hq, D], k [batch, N, Hkv, D], target [batch, Hkv, N, nb].
//
// Compile-time constants (-D): HEAD_DIM (any D ≥ 1), MAX_G (largest head chunk, default 8).

#include "common.cuh"

#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif
#ifndef MAX_G
#define MAX_G 8
#endif
#define SD_WARPS 4
#define CPL ((HEAD_DIM + 31) / 32)      // channels per lane

extern "C" __global__ void __launch_bounds__(SD_WARPS * 32)
sparse_decode_partial_f32(const float *__restrict__ q, long qItem, const float *__restrict__ k,
                          const float *__restrict__ v, long kvItem, const int *__restrict__ first,
                          const int *__restrict__ end, const int *__restrict__ list, const int *__restrict__ count,
                          int listStride, int B, float2 *__restrict__ ml, float *__restrict__ po, int Hq, int Hkv,
                          int S, int G, float scale) {
    __shared__ float sM[SD_WARPS][MAX_G], sL[SD_WARPS][MAX_G];
    __shared__ float sO[SD_WARPS][MAX_G][HEAD_DIM];
    const int s = blockIdx.x, i = blockIdx.z;
    const int g = Hq / Hkv, chunks = (g + G - 1) / G;
    const int kh = blockIdx.y / chunks, a0 = (blockIdx.y % chunks) * G;
    const int heads = min(G, g - a0);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long row = (long)i * Hkv + kh;
    const int cnt = count[row];
    const int per = (cnt + S - 1) / S;
    const int e0 = s * per, e1 = min(cnt, e0 + per);
    const int lo = first[i], hi = end[i];
    const long tok = (long)Hkv * HEAD_DIM;
    const float *kb = k + i * kvItem + (long)kh * HEAD_DIM;
    const float *vb = v + i * kvItem + (long)kh * HEAD_DIM;

    float qf[MAX_G][CPL], o[MAX_G][CPL], m[MAX_G], l[MAX_G];
#pragma unroll
    for (int a = 0; a < MAX_G; a++) {
        m[a] = -INFINITY;
        l[a] = 0.f;
#pragma unroll
        for (int r = 0; r < CPL; r++) {
            const int d = lane + 32 * r;
            qf[a][r] = a < heads && d < HEAD_DIM ? q[i * qItem + (long)(kh * g + a0 + a) * HEAD_DIM + d] * scale : 0.f;
            o[a][r] = 0.f;
        }
    }
    for (int e = e0; e < e1; e++) {
        const int n = list[row * listStride + e];
        const int c1 = min((n + 1) * B, hi);
        for (int c = max(n * B, lo) + warp; c < c1; c += SD_WARPS) {   // uniform per warp
            float kf[CPL], vf[CPL];
#pragma unroll
            for (int r = 0; r < CPL; r++) {
                const int d = lane + 32 * r;
                kf[r] = d < HEAD_DIM ? kb[c * tok + d] : 0.f;
                vf[r] = d < HEAD_DIM ? vb[c * tok + d] : 0.f;
            }
#pragma unroll
            for (int a = 0; a < MAX_G; a++) {
                if (a < heads) {
                    float dot = 0.f;
#pragma unroll
                    for (int r = 0; r < CPL; r++) dot = fmaf(qf[a][r], kf[r], dot);
#pragma unroll
                    for (int off = 16; off > 0; off >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, off);
                    const float mNew = fmaxf(m[a], dot);
                    const float corr = expf(m[a] - mNew);         // 0 while m is −∞
                    const float p = expf(dot - mNew);
                    l[a] = l[a] * corr + p;
#pragma unroll
                    for (int r = 0; r < CPL; r++) o[a][r] = fmaf(p, vf[r], o[a][r] * corr);
                    m[a] = mNew;
                }
            }
        }
    }
#pragma unroll
    for (int a = 0; a < MAX_G; a++) {
        if (a < heads) {
            if (lane == 0) {
                sM[warp][a] = m[a];
                sL[warp][a] = l[a];
            }
#pragma unroll
            for (int r = 0; r < CPL; r++) {
                const int d = lane + 32 * r;
                if (d < HEAD_DIM) sO[warp][a][d] = o[a][r];
            }
        }
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < heads * HEAD_DIM; idx += SD_WARPS * 32) {
        const int a = idx / HEAD_DIM, d = idx % HEAD_DIM;
        float M = -INFINITY;
        for (int w = 0; w < SD_WARPS; w++) M = fmaxf(M, sM[w][a]);
        float lsum = 0.f, osum = 0.f;
        if (M != -INFINITY) {
            for (int w = 0; w < SD_WARPS; w++) {
                const float x = expf(sM[w][a] - M);
                lsum = fmaf(x, sL[w][a], lsum);
                osum = fmaf(x, sO[w][a][d], osum);
            }
        }
        const long out = ((long)i * Hq + kh * g + a0 + a) * S + s;
        po[out * HEAD_DIM + d] = osum;
        if (d == 0) ml[out] = make_float2(M, lsum);
    }
}

extern "C" __global__ void sparse_decode_combine_f32(const float2 *__restrict__ ml, const float *__restrict__ po,
                                                     float *__restrict__ out, long outItem, int Hq, int S) {
    const int h = blockIdx.x, i = blockIdx.y;
    const long row0 = ((long)i * Hq + h) * S;
    float M = -INFINITY;
    for (int s = 0; s < S; s++) M = fmaxf(M, ml[row0 + s].x);
    for (int d = threadIdx.x; d < HEAD_DIM; d += blockDim.x) {
        float lsum = 0.f, osum = 0.f;
        if (M != -INFINITY) {
            for (int s = 0; s < S; s++) {
                const float2 x = ml[row0 + s];
                const float w = expf(x.x - M);
                lsum = fmaf(w, x.y, lsum);
                osum = fmaf(w, po[(row0 + s) * HEAD_DIM + d], osum);
            }
        }
        out[i * outItem + (long)h * HEAD_DIM + d] = lsum > 0.f ? osum / lsum : 0.f;
    }
}

// ---------------------------------------------------------------------------------------------------------------
#define TR 64                            // query rows per CTA
#define TK 8                             // keys per shared tile

extern "C" __global__ void __launch_bounds__(TR)
decode_target_f32(const float *__restrict__ q, const float *__restrict__ k, float *__restrict__ target, int N, int Hq,
                  int Hkv, int nb, int B, float scale) {
    __shared__ float sK[TK][HEAD_DIM];
    const int kh = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
    const int t = blockIdx.x * TR + tid;
    const bool live = t < N;
    const int tLast = min(N - 1, (int)blockIdx.x * TR + TR - 1);      // the CTA's last row
    const int g = Hq / Hkv;
    const int visible = live ? t / B : 0;                              // blocks strictly before the row's own
    const int keysBefore = tLast / B * B;                              // keys of any row's earlier blocks
    float *trow = target + (((long)b * Hkv + kh) * N + (live ? t : 0)) * (long)nb;
    const long kTok = (long)Hkv * HEAD_DIM;
    const float *kb = k + (long)b * N * kTok + (long)kh * HEAD_DIM;
    for (int a = 0; a < g; a++) {
        const int h = kh * g + a;
        float qr[HEAD_DIM];
#pragma unroll
        for (int d = 0; d < HEAD_DIM; d++) qr[d] = live ? q[(((long)b * N + t) * Hq + h) * HEAD_DIM + d] : 0.f;
        // pass 1: the row's maximum and sum over c ≤ t
        float m = -INFINITY, l = 0.f;
        for (int c0 = 0; c0 <= tLast; c0 += TK) {
            __syncthreads();
            for (int e = tid; e < TK * HEAD_DIM; e += TR) {
                const int cc = e / HEAD_DIM, d = e % HEAD_DIM;
                sK[cc][d] = c0 + cc <= tLast ? kb[(c0 + cc) * kTok + d] : 0.f;
            }
            __syncthreads();
            for (int cc = 0; cc < TK; cc++) {
                const int c = c0 + cc;
                if (live && c <= t) {
                    float dot = 0.f;
#pragma unroll
                    for (int d = 0; d < HEAD_DIM; d++) dot = fmaf(qr[d], sK[cc][d], dot);
                    const float sc = __fmul_rn(dot, scale);   // rounded once, not contracted into sc − mNew
                    const float mNew = fmaxf(m, sc);
                    l = l * expf(m - mNew) + expf(sc - mNew);
                    m = mNew;
                }
            }
        }
        // pass 2: per earlier block, the largest probability, max over the group's heads
        int cur = -1;
        float curMax = -INFINITY;
        for (int c0 = 0; c0 < keysBefore; c0 += TK) {
            __syncthreads();
            for (int e = tid; e < TK * HEAD_DIM; e += TR) {
                const int cc = e / HEAD_DIM, d = e % HEAD_DIM;
                sK[cc][d] = c0 + cc < keysBefore ? kb[(c0 + cc) * kTok + d] : 0.f;
            }
            __syncthreads();
            for (int cc = 0; cc < TK; cc++) {
                const int c = c0 + cc;
                if (c < visible * B) {
                    const int n = c / B;
                    if (n != cur) {
                        if (cur >= 0) {
                            const float p = expf(curMax - m) / l;
                            trow[cur] = a == 0 ? p : fmaxf(trow[cur], p);
                        }
                        cur = n;
                        curMax = -INFINITY;
                    }
                    float dot = 0.f;
#pragma unroll
                    for (int d = 0; d < HEAD_DIM; d++) dot = fmaf(qr[d], sK[cc][d], dot);
                    curMax = fmaxf(curMax, dot * scale);
                }
            }
        }
        if (cur >= 0) {
            const float p = expf(curMax - m) / l;
            trow[cur] = a == 0 ? p : fmaxf(trow[cur], p);
        }
    }
    if (live) {
        double sum = 0;
        for (int n = 0; n < visible; n++) sum += trow[n];
        const double denominator = sum + 1e-9;
        for (int n = 0; n < visible; n++) trow[n] = (float)(trow[n] / denominator);
        for (int n = visible; n < nb; n++) trow[n] = 0.f;
    }
}
