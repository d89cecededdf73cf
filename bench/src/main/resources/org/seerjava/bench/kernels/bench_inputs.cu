// The GPU benchmark's random causal block masks (GpuBench), from the seeded hash of common.cuh so that a seed gives
// the same mask on every run and GPU.

#include "common.cuh"

// Random causal mask [rows = B*H*nb, nb]: (i, j) kept when j == i, or j < i with probability p.
extern "C" __global__ void random_causal_mask(u8 *mask, long rows, int nb, u64 seed, float p) {
    long total = rows * nb;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total; e += (long)gridDim.x * blockDim.x) {
        int j = (int)(e % nb);
        int i = (int)((e / nb) % nb);
        bool keep = j == i || (j < i && uniform01(seed, (u64)e) < p);
        mask[e] = keep ? 1 : 0;
    }
}
