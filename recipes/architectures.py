"""A model's architecture without its weights, for `make bench weights=random` and `make plan`.

Random weights cost the same compute as trained ones, so throughput, memory and MFU measured on them hold
for the real model, with no download. The architecture comes from the model's own config.json when it is
on disk (a local folder, a builtin, the Hugging Face cache) and otherwise from the published configs below.
"""

from __future__ import annotations

import json
from pathlib import Path

from recipes.builtins import local_path
from recipes.errors import UserError
from recipes.paths import cache_dir

# config.json as published on the hub (the fields that define the computation, plus the token ids).
PUBLISHED_CONFIGS: dict[str, dict] = {
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-06,
        "rope_theta": 10000,
        "max_position_embeddings": 131072,
        "sliding_window": 4096,
        "use_sliding_window": False,
        "max_window_layers": 21,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "bos_token_id": 151643,
        "eos_token_id": 151643,
        "torch_dtype": "bfloat16",
        "use_cache": True,
    },
}


def _local_config(name: str, revision: str | None, base: Path | None) -> dict | None:
    folder = local_path(name, base)
    if folder is not None:
        path = folder / "config.json"
        if not path.exists():
            raise UserError(f"model {name!r}: {path} does not exist, so its architecture is unknown")
        return json.loads(path.read_text())
    try:  # a hub id downloaded earlier
        from huggingface_hub import hf_hub_download

        return json.loads(
            Path(hf_hub_download(name, "config.json", revision=revision, local_files_only=True)).read_text()
        )
    except Exception:  # not in the cache (or no cache at all): fall back to the published configs
        return None


def architecture_config(name: str, revision: str | None = None, base: Path | None = None) -> dict:
    config = _local_config(name, revision, base) or PUBLISHED_CONFIGS.get(name)
    if config is None:
        known = ", ".join(PUBLISHED_CONFIGS)
        raise UserError(
            f"model {name!r}: its config.json is neither on disk nor among the published configs reasonlift "
            f"knows ({known}); download the config once (`hf download {name} config.json`) "
            "or point model.name_or_path at a local folder"
        )
    return config


def architecture_dir(name: str, revision: str | None = None, base: Path | None = None) -> Path:
    """A folder holding only the model's config.json: what vLLM's dummy loader and `from_config` need."""
    config = architecture_config(name, revision, base)
    slug = name.strip("/").replace("/", "--").replace(":", "-")
    folder = cache_dir() / "architectures" / slug
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "config.json"
    text = json.dumps(config, indent=2, sort_keys=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return folder


def count_parameters(config) -> int:
    """Exact parameter count of a transformers config's model (biases, norms, tied embeddings included),
    from an instance on the meta device: no memory, no initialisation."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def tensor_parallel_sizes(config: dict, limit: int = 64) -> list[int]:
    """Tensor-parallel sizes vLLM accepts for a model: they divide the attention heads, and the KV heads
    divide them or they divide the KV heads (vLLM's QKVParallelLinear replicates KV heads otherwise)."""
    heads = int(config["num_attention_heads"])
    kv = int(config.get("num_key_value_heads") or heads)
    return [
        tp for tp in range(1, min(heads, limit) + 1) if heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)
    ]
