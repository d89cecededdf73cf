// Input generators of the GPU benchmark (GpuBench): a bf16 uniform fill, random causal block masks and a count of
// kept blocks, all from a counter-based hash so that a seed gives the same tensors on every run and GPU.

#include "common.cuh"

static __device__ __forceinline__ u64 mix64(u64 z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static __device__ __forceinline__ float uniform01(u64 seed, u64 i) {
    return (float)((mix64(seed * 0x632BE59BD9B4E019ull + i) >> 40) * (1.0 / 16777216.0));
}

// x[i] = bf16(lo + (hi - lo) * u(seed, i))
extern "C" __global__ void fill_uniform_bf16(__nv_bfloat16 *x, long n, u64 seed, float lo, float hi) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        x[i] = __float2bfloat16(lo + (hi - lo) * uniform01(seed, (u64)i));
}

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

// count[0] += number of non-zero bytes of x[0, n)
extern "C" __global__ void count_nonzero(const u8 *x, long n, unsigned long long *count) {
    unsigned long long c = 0;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) c += x[i] != 0;
    for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(0xffffffffu, c, o);
    if ((threadIdx.x & 31) == 0) atomicAdd(count, c);
}
