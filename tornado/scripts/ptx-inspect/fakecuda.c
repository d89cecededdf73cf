// A stand-in libcuda.so.1 for machines without an NVIDIA driver, a development tool (see ptx-inspect.sh): enough of
// the driver API for TornadoVM's PTX backend to start, compile kernels and "launch" them (launches do nothing). Every PTX module TornadoVM loads is
// written to $FAKE_CUDA_PTX_DIR (default /tmp) so that it can be inspected and assembled with ptxas.
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int moduleCount = 0;

CUresult cuInit(unsigned int flags) { return CUDA_SUCCESS; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { *d = 0; return CUDA_SUCCESS; }
CUresult cuDeviceGetName(char *name, int len, CUdevice d) { snprintf(name, len, "FAKE H200 (no driver)"); return CUDA_SUCCESS; }
CUresult cuDeviceTotalMem(size_t *bytes, CUdevice d) { *bytes = 150000000000ULL; return CUDA_SUCCESS; }
CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute a, CUdevice d) {
    switch (a) {
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; break;
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *pi = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *pi = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *pi = 64; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *pi = 2147483647; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *pi = 65535; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *pi = 65535; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *pi = 49152; break;
        case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *pi = 65536; break;
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *pi = 32; break;
        case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *pi = 65536; break;
        case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *pi = 1980000; break;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; break;
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *pi = 2048; break;
        case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *pi = 2619000; break;
        case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *pi = 6144; break;
        case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *pi = 52428800; break;
        case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *pi = 1; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *pi = 233472; break;
        default: *pi = 0;
    }
    return CUDA_SUCCESS;
}
CUresult cuCtxCreate(CUcontext *c, CUctxCreateParams *p, unsigned int flags, CUdevice d) { *c = (CUcontext) malloc(8); return CUDA_SUCCESS; }
CUresult cuCtxDestroy(CUcontext c) { return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext c) { return CUDA_SUCCESS; }
CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest) { *least = 0; *greatest = -5; return CUDA_SUCCESS; }
CUresult cuMemGetInfo(size_t *free, size_t *total) { *free = 140000000000ULL; *total = 150000000000ULL; return CUDA_SUCCESS; }
CUresult cuMemAlloc(CUdeviceptr *p, size_t bytes) { void *m = aligned_alloc(256, (bytes + 255) / 256 * 256 + 256); if (!m) return CUDA_ERROR_OUT_OF_MEMORY; *p = (CUdeviceptr) m; return CUDA_SUCCESS; }
CUresult cuMemFree(CUdeviceptr p) { free((void *) p); return CUDA_SUCCESS; }
CUresult cuMemAllocHost(void **p, size_t bytes) { *p = malloc(bytes ? bytes : 1); return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY; }
CUresult cuMemFreeHost(void *p) { free(p); return CUDA_SUCCESS; }
CUresult cuMemHostRegister(void *p, size_t bytes, unsigned int flags) { return CUDA_SUCCESS; }
CUresult cuMemHostUnregister(void *p) { return CUDA_SUCCESS; }
CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t n, CUstream s) { memcpy((void *) dst, src, n); return CUDA_SUCCESS; }
CUresult cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t n, CUstream s) { memcpy(dst, (void *) src, n); return CUDA_SUCCESS; }
typedef struct { struct timespec t; } FakeEvent;
CUresult cuEventCreate(CUevent *e, unsigned int flags) { *e = (CUevent) calloc(1, sizeof(FakeEvent)); return CUDA_SUCCESS; }
CUresult cuEventDestroy(CUevent e) { free(e); return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent e, CUstream s) { clock_gettime(CLOCK_MONOTONIC, &((FakeEvent *) e)->t); return CUDA_SUCCESS; }
CUresult cuEventQuery(CUevent e) { return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent e) { return CUDA_SUCCESS; }
CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b) {
    struct timespec x = ((FakeEvent *) a)->t, y = ((FakeEvent *) b)->t;
    *ms = (float) ((y.tv_sec - x.tv_sec) * 1e3 + (y.tv_nsec - x.tv_nsec) / 1e6); return CUDA_SUCCESS;
}
CUresult cuStreamCreateWithPriority(CUstream *s, unsigned int flags, int priority) { *s = (CUstream) malloc(8); return CUDA_SUCCESS; }
CUresult cuStreamDestroy(CUstream s) { return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream s) { return CUDA_SUCCESS; }
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) { return CUDA_SUCCESS; }
CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *st) { *st = CU_STREAM_CAPTURE_STATUS_NONE; return CUDA_SUCCESS; }
CUresult cuStreamBeginCapture(CUstream s, CUstreamCaptureMode m) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuStreamEndCapture(CUstream s, CUgraph *g) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuGraphInstantiateWithFlags(CUgraphExec *e, CUgraph g, unsigned long long f) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuGraphLaunch(CUgraphExec e, CUstream s) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuGraphDestroy(CUgraph g) { return CUDA_SUCCESS; }
CUresult cuGraphExecDestroy(CUgraphExec e) { return CUDA_SUCCESS; }
static CUresult saveModule(CUmodule *m, const void *image) {
    const char *dir = getenv("FAKE_CUDA_PTX_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/module-%03d.ptx", dir ? dir : "/tmp", moduleCount++);
    FILE *f = fopen(path, "w");
    if (f) { fputs((const char *) image, f); fclose(f); }
    *m = (CUmodule) malloc(8);
    return CUDA_SUCCESS;
}
CUresult cuModuleLoadData(CUmodule *m, const void *image) { return saveModule(m, image); }
CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int n, CUjit_option *o, void **v) { return saveModule(m, image); }
CUresult cuModuleUnload(CUmodule m) { return CUDA_SUCCESS; }
CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) { *f = (CUfunction) strdup(name); return CUDA_SUCCESS; }
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, CUstream s, void **params, void **extra) {
    if (getenv("FAKE_CUDA_LOG")) fprintf(stderr, "[fake cuda] launch %s grid %u,%u,%u block %u,%u,%u\n", (char *) f, gx, gy, gz, bx, by, bz);
    return CUDA_SUCCESS;
}
CUresult cuOccupancyMaxPotentialBlockSize(int *minGrid, int *block, CUfunction f, CUoccupancyB2DSize s, size_t dyn, int limit) {
    *minGrid = 264; *block = 1024; return CUDA_SUCCESS;
}
