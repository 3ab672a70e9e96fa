"""`make plan`'s memory terms against what torch actually allocates, on CPU, for the tiny model and a
mid-size Qwen2 (4 layers, hidden 1024): weights, gradients, optimizer states and activations, each within 15%.

Activations are measured as the allocator's peak during one micro-batch's forward and backward pass of the
decoder stack above what was allocated before it, with the gradients already allocated (as on every
accumulation step after the first), from the profiler's record of every allocation and free."""

from __future__ import annotations

import json

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from train.plan.memory import activation_bytes, architecture, training_state

MID = {
    "model_type": "qwen2",
    "hidden_size": 1024,
    "intermediate_size": 2816,
    "num_hidden_layers": 4,
    "num_attention_heads": 16,
    "num_key_value_heads": 4,
    "vocab_size": 8192,
    "max_position_embeddings": 4096,
    "tie_word_embeddings": False,
}
TOLERANCE = 0.15


def tiny_config() -> dict:
    from recipes.builtins.tiny_model import tiny_model_path

    return json.loads((tiny_model_path() / "config.json").read_text())


def peak_allocated(fn) -> int:
    """Peak bytes allocated (net of frees) while `fn` runs, from the profiler's memory events."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    current = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        current += event.nbytes()
        peak = max(peak, current)
    return peak


def nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def measure(config: dict, dtype: torch.dtype, checkpointing: bool, batch: int, seq: int) -> dict[str, int]:
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = {k: v for k, v in config.items() if k != "model_type"}
    hf_config = AutoConfig.for_model(config["model_type"], **fields)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(hf_config, dtype=dtype, attn_implementation="sdpa")
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    ids = torch.randint(0, int(config["vocab_size"]), (batch, seq))

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    weights = nbytes(model.parameters())
    model(input_ids=ids, labels=ids).loss.backward()  # a whole training step allocates every gradient
    grads = nbytes(p.grad for p in model.parameters() if p.grad is not None)
    optimizer.step()
    states = nbytes(v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim())

    def stack_step() -> None:  # the decoder stack's pass (the LM head is TRL's fused head, its own term)
        model.model(input_ids=ids).last_hidden_state.float().sum().backward()

    stack_step()
    activations = peak_allocated(stack_step)
    return {"weights": weights, "gradients": grads, "optimizer": states, "activations": activations}


def estimate(config: dict, dtype_bytes: int, checkpointing: bool, tokens: int) -> dict[str, int]:
    arch = architecture(config)
    state = training_state(arch, arch.params, "ddp", dtype_bytes, mixed_bf16=False, shards=1)
    return {
        "weights": state.weights,
        "gradients": state.gradients,
        "optimizer": state.optimizer,
        "activations": activation_bytes(arch, tokens, dtype_bytes, checkpointing),
    }


CASES = [
    ("tiny", torch.float32, True, 4, 256),
    ("tiny", torch.float32, False, 4, 256),
    ("mid", torch.float32, True, 2, 512),
    ("mid", torch.float32, False, 2, 512),
    ("mid", torch.bfloat16, True, 2, 512),
]


@pytest.mark.parametrize(("name", "dtype", "checkpointing", "batch", "seq"), CASES)
def test_each_memory_term_is_within_15_percent_of_what_torch_allocates(
    name, dtype, checkpointing, batch, seq
):
    config = tiny_config() if name == "tiny" else MID
    measured = measure(config, dtype, checkpointing, batch, seq)
    estimated = estimate(config, dtype.itemsize, checkpointing, batch * seq)
    errors = {k: estimated[k] / measured[k] - 1 for k in measured}
    report = ", ".join(
        f"{k} {estimated[k] / 2**20:.1f} vs {measured[k] / 2**20:.1f} MiB ({errors[k]:+.1%})"
        for k in measured
    )
    assert all(abs(e) <= TOLERANCE for e in errors.values()), f"{name} {dtype} ckpt={checkpointing}: {report}"
