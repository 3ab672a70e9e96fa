"""What the hardware can do at best: memory bandwidth and matmul peak, published for known GPUs and
measured on anything else (a CPU, an unknown GPU), so every benchmark figure has a bound beside it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from recipes.architectures import count_parameters
from recipes.gpus import profile_for


@dataclass(frozen=True)
class Hardware:
    name: str
    peak_flops: float
    peak_flops_source: str
    bandwidth: float  # bytes/s
    bandwidth_source: str


def measure_bandwidth(device: str = "cpu", megabytes: int = 512, repeats: int = 5) -> float:
    """Bytes per second moved by a large tensor copy (each copy reads and writes the buffer once)."""
    import torch

    n = megabytes * 1024 * 1024 // 4
    src = torch.ones(n, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        dst.copy_(src)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * src.numel() * src.element_size() / best


def measure_matmul_flops(
    device: str = "cpu", size: int = 2048, repeats: int = 5, dtype: str = "float32"
) -> float:
    import torch

    a = torch.randn(size, size, device=device, dtype=getattr(torch, dtype))
    b = torch.randn(size, size, device=device, dtype=getattr(torch, dtype))
    a @ b
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def detect() -> Hardware:
    import platform

    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        profile = profile_for(name)
        if profile is not None:
            return Hardware(
                name, profile.bf16_flops, "bf16 dense, data sheet", profile.bandwidth, "HBM, data sheet"
            )
        return Hardware(
            name,
            measure_matmul_flops("cuda", 8192, dtype="bfloat16"),
            "bf16 matmul, measured",
            measure_bandwidth("cuda", 2048),
            "device copy, measured",
        )
    name = f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return Hardware(
        name,
        measure_matmul_flops("cpu"),
        "fp32 matmul 2048x2048, measured",
        measure_bandwidth("cpu"),
        "512 MiB tensor copy, measured",
    )


def decode_compute_bound_tokens_per_s(
    params: float,
    layers: int,
    attention_width: int,
    context_tokens: float,
    peak_flops: float,
    prompt_tokens_per_output: float = 0.0,
) -> float:
    """Compute bound on generation: 2 FLOPs per parameter for each generated token and for each prompt
    token prefilled (at best once per prompt, shared by its n samples), plus attention's
    4 x layers x (heads x head_dim) x context per generated token. It binds on CPUs and on short outputs."""
    flops_per_output = (
        2 * params * (1 + prompt_tokens_per_output) + 4 * layers * attention_width * context_tokens
    )
    return peak_flops / flops_per_output


def model_sizes(config, dtype_bytes: int) -> tuple[int, float, float]:
    """(parameters, weight bytes, KV-cache bytes per token) of a transformers config."""
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", heads) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    params = count_parameters(config)
    kv_per_token = 2 * config.num_hidden_layers * kv_heads * head_dim * dtype_bytes
    return params, params * dtype_bytes, kv_per_token
