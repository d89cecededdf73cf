"""The issue #18 anchor, run beside `seer bench --model-shape llama-3.1-8b --random-weights` in the same device
session: Hugging Face LlamaForCausalLM at the Llama-3.1-8B shape with random bf16 weights, SDPA attention.
Prints prefill time (last-token logits, median of 3; 1 at 131072) and greedy decode tokens/s at 1,024 tokens of
context, and the peak GPU memory of each prefill. Usage: python3 hf_anchor.py [sizes, default 8192,32768]."""
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "8192,32768").split(",")]
config = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=128256, max_position_embeddings=131072,
                     rms_norm_eps=1e-5, rope_theta=500000.0,
                     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                     attn_implementation="sdpa", torch_dtype=torch.bfloat16)
torch.manual_seed(0)
with torch.device("cuda"):
    model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, weights "
      f"{sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30:.2f} GiB", flush=True)


def sync_time(fn):
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t


with torch.no_grad():
    ids = torch.randint(0, config.vocab_size, (1, 2048), device="cuda")
    model(ids, use_cache=False, logits_to_keep=1)  # warm-up
    for n in sizes:
        ids = torch.randint(0, config.vocab_size, (1, n), device="cuda")
        reps = 1 if n >= 65536 else 3
        torch.cuda.reset_peak_memory_stats()
        times = sorted(sync_time(lambda: model(ids, use_cache=False, logits_to_keep=1)) for _ in range(reps))
        print(f"HF prefill {n}: {times[reps // 2] * 1e3:.1f} ms (flash/cuDNN SDPA as PyTorch picks), peak "
              f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB", flush=True)
    ids = torch.randint(0, config.vocab_size, (1, 1024), device="cuda")
    model.generate(ids, max_new_tokens=8, do_sample=False, min_new_tokens=8)
    steps = 64
    t = sync_time(lambda: model.generate(ids, max_new_tokens=steps, do_sample=False, min_new_tokens=steps))
    print(f"HF generate greedy at 1024 tokens of context: {steps / t:.1f} tokens/s (prefill included)", flush=True)
