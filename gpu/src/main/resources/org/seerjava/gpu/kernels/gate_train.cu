// Gate self-distillation on the device: the pieces of the loss and its backward pass that are not matrix products
// (those run on gemm_f32 of ops_fp32.cu). fp32, batch 1; the reference is DistillationLoss.klMean and
// AttnGate.backward (module reference), in float64.

#include "common.cuh"

#ifndef FLT_MAX_
#define FLT_MAX_ 3.402823466e+38f
#endif

// KL 'mean' loss rows and their gradient. logits, target, dLogits [Hq, nb, nb]; row r = (h, m), query block m.
// Rows m < r0 are dropped (gradient 0, loss 0). For a kept row, over its causal blocks n <= m (the masked ones have
// probability 0 and target 0):
//   Y_n = logit_n − logsumexp,  rowLoss = Σ_{T_n > 0} T_n (log T_n − Y_n)  (double),
//   dLogits_n = (p_n · Σ_k T_k − T_n) · invNumel,  p_n = e^{Y_n};   dLogits_n = 0 for n > m.
// One warp per row; rowLoss [Hq·nb] is summed on the host in a fixed order.
extern "C" __global__ void kl_rows_f32(const float *__restrict__ logits, const float *__restrict__ target,
                                       float *__restrict__ dLogits, double *__restrict__ rowLoss, long rows, int nb,
                                       int r0, float invNumel) {
    const long row = blockIdx.x * (long)(blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const int m = (int)(row % nb);
    const float *l = logits + row * nb;
    const float *t = target + row * nb;
    float *d = dLogits + row * nb;
    if (m < r0) {
        for (int n = lane; n < nb; n += 32) d[n] = 0.f;
        if (lane == 0) rowLoss[row] = 0.0;
        return;
    }
    float mx = -FLT_MAX_;
    for (int n = lane; n <= m; n += 32) mx = fmaxf(mx, l[n]);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float se = 0.f, ts = 0.f;
    for (int n = lane; n <= m; n += 32) {
        se += expf(l[n] - mx);
        ts += t[n];
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        se += __shfl_xor_sync(0xffffffffu, se, o);
        ts += __shfl_xor_sync(0xffffffffu, ts, o);
    }
    const float lse = mx + logf(se);
    double loss = 0.0;
    for (int n = lane; n < nb; n += 32) {
        if (n <= m) {
            const float y = l[n] - lse;
            const float tn = t[n];
            if (tn > 0.f) loss += (double)tn * ((double)logf(tn) - (double)y);
            d[n] = (expf(y) * ts - tn) * invNumel;
        } else {
            d[n] = 0.f;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) loss += __shfl_xor_sync(0xffffffffu, loss, o);
    if (lane == 0) rowLoss[row] = loss;
}

// out[b, kh, :] = Σ_{j < g} in[b, kh·g + j, :]: per-query-head gradients of a key head shared by g query heads.
// in [nb, Hq, Dg], out [nb, Hq / g, Dg].
extern "C" __global__ void sum_groups_f32(const float *__restrict__ in, float *__restrict__ out, int nb, int Hq, int g,
                                          int Dg) {
    const int keyHeads = Hq / g;
    const long total = (long)nb * keyHeads * Dg;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total; e += (long)gridDim.x * blockDim.x) {
        const int d = (int)(e % Dg);
        const int kh = (int)((e / Dg) % keyHeads);
        const long b = e / ((long)Dg * keyHeads);
        float s = 0.f;
        for (int j = 0; j < g; j++) s += in[(b * Hq + (long)kh * g + j) * Dg + d];
        out[e] = s;
    }
}

// y += a · x (gradients of several windows summed with the trainer's weights)
extern "C" __global__ void axpy_f32(float *__restrict__ y, const float *__restrict__ x, float a, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = fmaf(a, x[i], y[i]);
}
