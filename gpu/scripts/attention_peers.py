"""Peer timings for the GPU attention benchmark (issue #19, line 5), run by the GPU machine's PyTorch in the same
device call as `seer bench --backend cuda` (bench module, GpuBench), so that every figure is a same-run ratio.

What it times, at B = 1, 32 heads, D = 128, bf16, block 64 (GpuBench's setup):
- cuDNN SDPA, dense causal (`torch.nn.functional.scaled_dot_product_attention` under the CUDNN_ATTENTION backend);
- FlexAttention (PyTorch's `flex_attention`, compiled) with block-sparse causal masks identical to GpuBench's:
  mask element e = (h * nb + i) * nb + j is kept when j == i, or when j < i and uniform01(7, e) < p, where
  uniform01 is the splitmix64 hash of gpu/kernels/common.cuh and p the float32 keep probability of
  GpuBench.keepProbability. The diagonal blocks are "partial" (the causal mask_mod runs inside them), the other kept
  blocks "full" (no mask_mod), which is FlexAttention's fastest form of such a mask.
Timing: triton.testing.do_bench (it flushes the L2 cache before each repetition; median), falling back to CUDA
events back to back when triton is missing. The kept-tile count of each mask is printed: it must equal the one
GpuBench prints for the same N and density (the device script compares them), which shows the masks are the same.

Before timing, FlexAttention's output on a small case (N = 1,000, a partial last block) is compared with SDPA's math
backend under the equivalent token mask, so that a wrong mask construction cannot pass silently.

Usage: python3 attention_peers.py [--sparse 8192,32768] [--dense 8192,32768,131072] [--density 0.1]
                                  [--json FILE]
"""
import argparse
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

H, D, BLOCK, SEED = 32, 128, 64, 7
MASK_C = np.uint64(0x632BE59BD9B4E019)


def mix64(z):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic), as common.cuh's mix64."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def keep_probability(nb, density):
    """GpuBench.keepProbability, rounded to float32 as the kernel argument is."""
    causal = nb * (nb + 1) / 2.0
    off = nb * (nb - 1) / 2.0
    p = max(0.0, min(1.0, (density * causal - nb) / off)) if off > 0 else 0.0
    return np.float32(p)


def causal_block_mask(n, density, seed=SEED, heads=H):
    """The [heads, nb, nb] bool mask of GpuBench's random_causal_mask kernel (B = 1)."""
    nb = -(-n // BLOCK)
    p = keep_probability(nb, density)
    mask = np.zeros((heads, nb, nb), dtype=bool)
    j = np.arange(nb, dtype=np.uint64)
    with np.errstate(over="ignore"):
        base = np.uint64(seed) * MASK_C
        for h in range(heads):
            for i in range(nb):
                e = np.uint64((h * nb + i) * nb) + j[:i]
                u = (mix64(base + e) >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)
                mask[h, i, :i] = u.astype(np.float32) < p
            mask[h, np.arange(nb), np.arange(nb)] = True
    return mask


# FlexAttention's tiles must divide the mask's 64-token blocks (torch 2.11 on an H100 defaults to 128-row tiles and
# refuses 64-token blocks: "Q and KV block size must be divisible by BLOCK_M and BLOCK_N").
FLEX_TILES = {"BLOCK_M": 64, "BLOCK_N": 64}


def flex_block_mask(mask, n):
    """A FlexAttention BlockMask: diagonal blocks partial (causal mask_mod), the other kept blocks full."""
    from torch.nn.attention.flex_attention import BlockMask

    heads, nb, _ = mask.shape
    diag = np.eye(nb, dtype=bool)[None]
    full = mask & ~diag

    def to_indices(m):
        counts = m.sum(-1).astype(np.int32)
        order = np.argsort(~m, axis=-1, kind="stable").astype(np.int32)   # kept columns first, ascending
        return (torch.from_numpy(counts)[None].cuda(), torch.from_numpy(order)[None].cuda())

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    partial_n, partial_idx = to_indices(np.broadcast_to(diag, mask.shape).copy())
    full_n, full_idx = to_indices(full)
    return BlockMask.from_kv_blocks(partial_n, partial_idx, full_n, full_idx, BLOCK_SIZE=BLOCK, mask_mod=causal,
                                    seq_lengths=(n, n))


def bench(fn):
    try:
        from triton.testing import do_bench
        return float(do_bench(fn, warmup=100, rep=500, return_mode="median")), "do_bench"
    except ImportError:
        for _ in range(5):
            fn()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        times = []
        for _ in range(20):
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        return float(np.median(times)), "events"


def inputs(n, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return [torch.rand((1, H, n, D), generator=g, device="cuda", dtype=torch.float32).mul_(2).sub_(1)
            .to(torch.bfloat16) for _ in range(3)]


def self_check(flex):
    """FlexAttention with our mask against SDPA (math backend, float32) with the same token mask."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    n, heads = 1000, 4
    mask = causal_block_mask(n, 0.3, heads=heads)
    q, k, v = (t[:, :heads] for t in inputs(n, seed=1))
    bm = flex_block_mask(mask, n)
    out = flex(q, k, v, block_mask=bm, scale=1 / math.sqrt(D), kernel_options=FLEX_TILES)
    tok = torch.from_numpy(mask).cuda().repeat_interleave(BLOCK, 1).repeat_interleave(BLOCK, 2)[:, :n, :n]
    tok &= torch.ones(n, n, dtype=torch.bool, device="cuda").tril()
    with sdpa_kernel(SDPBackend.MATH):
        ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=tok[None])
    err = (out.float() - ref).abs().max().item()
    if not err < 2e-2:
        sys.exit(f"FlexAttention self-check failed: max abs error {err} against SDPA with the same token mask")
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sparse", default="8192,32768")
    ap.add_argument("--dense", default="8192,32768,131072")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--json")
    a = ap.parse_args()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import flex_attention

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)
    flex = torch.compile(flex_attention, dynamic=False)
    err = self_check(flex)
    print(f"FlexAttention self-check (N = 1000, 4 heads, density 0.3): max abs error {err:.2e} against SDPA math",
          flush=True)
    rows = []
    for n in [int(s) for s in a.sparse.split(",") if s]:
        mask = causal_block_mask(n, a.density)
        tiles = int(mask.sum())
        nb = mask.shape[1]
        q, k, v = inputs(n)
        bm = flex_block_mask(mask, n)
        ms, how = bench(lambda: flex(q, k, v, block_mask=bm, scale=1 / math.sqrt(D), kernel_options=FLEX_TILES))
        rows.append(dict(what="FlexAttention block-sparse", n=n, density=tiles / (H * nb * (nb + 1) / 2),
                         tiles=tiles, ms=ms, tflops=tiles * 4.0 * BLOCK * BLOCK * D / ms / 1e9, timing=how))
        print(f"| {rows[-1]['what']} | {n} | {rows[-1]['density']:.4f} | tiles {tiles} | {ms:.3f} ms | "
              f"{rows[-1]['tflops']:.1f} TFLOP/s | {how} |", flush=True)
        del q, k, v, bm
    for n in [int(s) for s in a.dense.split(",") if s]:
        q, k, v = inputs(n)
        nb = -(-n // BLOCK)
        tiles = H * nb * (nb + 1) // 2
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            ms, how = bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        rows.append(dict(what="cuDNN SDPA dense causal", n=n, density=1.0, tiles=tiles, ms=ms,
                         tflops=tiles * 4.0 * BLOCK * BLOCK * D / ms / 1e9, timing=how))
        print(f"| {rows[-1]['what']} | {n} | 1.0000 | tiles {tiles} | {ms:.3f} ms | {rows[-1]['tflops']:.1f} "
              f"TFLOP/s | {how} |", flush=True)
        del q, k, v
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(torch=torch.__version__, device=torch.cuda.get_device_name(), rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
