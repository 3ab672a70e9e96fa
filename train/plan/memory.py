"""Bytes per GPU for training and generation, term by term, from a model's config and the run's precision.

Every term is a formula over the architecture (parameters, layers, hidden and MLP widths, KV width, vocab)
and the run's shapes; none needs the weights. The formulas follow what the libraries hold:
- torch AdamW keeps two states shaped and typed like each trainable parameter;
- DeepSpeed ZeRO-2 keeps the module in bf16, an fp32 master and fp32 Adam states partitioned over the
  processes, bf16 gradient partitions and reduce buckets (5e8 elements by default); ZeRO-3 partitions
  the bf16 weights too; accelerate's FSDP2 upcasts trainable weights to fp32 before sharding;
- gradient checkpointing (transformers' non-reentrant one) keeps each decoder layer's input and
  recomputes one layer at a time in the backward pass;
- TRL's fused LM head never materialises the [tokens, vocab] logits: it works on [4096, 32768] tiles and
  accumulates the head's gradient in fp32.
The activation coefficients (elements saved per token) were measured for Qwen2 decoder layers with
SDPA attention in fp32 and bf16 and checked on other shapes within 4% (tests/test_plan_memory.py checks
the whole estimate against allocations on CPU; docs/benchmarks.md has the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# Elements kept per token, as (per layer x hidden, per layer x MLP width, per layer x KV width, x hidden once).
# Without checkpointing every layer's activations live until the backward pass reaches them.
_FULL = {4: (6.3, 4.6, 2.6, 7.9), 2: (10.0, 4.0, 2.0, 13.1)}
# With checkpointing: one hidden vector per layer (its input), plus one layer recomputed and
# differentiated at a time: (x hidden, x MLP width, x KV width) once.
_RECOMPUTE = {4: (9.1, 6.0, 2.1), 2: (14.4, 5.4, 1.9)}

# TRL's fused LM head (trl/kernels/chunked_logprob.py): tiles of at most this many tokens x vocab entries.
HEAD_TOKEN_TILE = 4096
HEAD_VOCAB_TILE = 32768
# DeepSpeed's default reduce bucket (elements), used when the config does not set one.
DEEPSPEED_REDUCE_BUCKET = 500_000_000


@dataclass(frozen=True)
class Architecture:
    params: int
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    layer_params: int  # one decoder layer
    max_positions: int  # the context length vLLM uses when told none

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def kv_bytes_per_token(self) -> int:
        """bf16 K and V for every layer: what one token of context costs a generation engine."""
        return 2 * self.layers * self.kv_width * 2


def attention_mask_bytes(
    layers: int, micro: int, sequence: int, compute_bytes: int, checkpointing: bool
) -> int:
    """A padded batch under SDPA: transformers materialises a boolean [micro, 1, seq, seq] mask once per forward
    (transformers/masking_utils.py, 1 byte an element) and each attention call turns it into an additive bias
    in the compute dtype, which the memory-efficient kernel keeps for its backward: one layer's at a time under
    checkpointing (the layer being recomputed), every layer's otherwise. Read from the libraries' sources; not
    measured on a GPU. Flash attention and unpadded batches build no mask."""
    elements = micro * sequence * sequence
    return elements * (1 + compute_bytes * (1 if checkpointing else layers))


def architecture(config: dict) -> Architecture:
    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    params, layer_params = _counts(_frozen(config))
    return Architecture(
        params=params,
        layers=int(config["num_hidden_layers"]),
        hidden=hidden,
        intermediate=int(config["intermediate_size"]),
        heads=heads,
        kv_heads=int(config.get("num_key_value_heads") or heads),
        head_dim=int(config.get("head_dim") or hidden // heads),
        vocab=int(config["vocab_size"]),
        layer_params=layer_params,
        max_positions=int(config.get("max_position_embeddings") or 32768),
    )


def _frozen(config: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in config.items()))


@cache
def _counts(frozen: tuple) -> tuple[int, int]:
    """Exact parameter counts from a meta-device instance (no memory, no initialisation)."""
    import ast

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = {k: ast.literal_eval(v) for k, v in frozen}
    model_type = config.pop("model_type")
    hf_config = AutoConfig.for_model(model_type, **config)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    layers = model.model.layers
    return sum(p.numel() for p in model.parameters()), sum(p.numel() for p in layers[0].parameters())


def lora_parameters(config: dict, r: int, target_modules: list[str] | str) -> int:
    """Adapter parameters PEFT adds: r x (in + out) for each targeted linear layer (all-linear: every
    linear layer but the output head)."""
    return _lora_counts(
        _frozen(config), r, tuple(target_modules) if isinstance(target_modules, list) else target_modules
    )


@cache
def _lora_counts(frozen: tuple, r: int, targets: tuple | str) -> int:
    import ast

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = {k: ast.literal_eval(v) for k, v in frozen}
    hf_config = AutoConfig.for_model(config.pop("model_type"), **config)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    total = 0
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or name.endswith("lm_head"):
            continue
        if targets == "all-linear" or name.split(".")[-1] in targets:
            total += r * (module.in_features + module.out_features)
    return total


def activation_bytes(arch: Architecture, tokens: int, dtype_bytes: int, checkpointing: bool) -> int:
    """Peak bytes of the decoder stack's activations for one micro-batch of `tokens` tokens, during its
    forward and backward pass (the LM head is `lm_head_bytes`)."""
    key = 4 if dtype_bytes >= 4 else 2
    h, i, kv, layers = arch.hidden, arch.intermediate, arch.kv_width, arch.layers
    if checkpointing:
        per_h, per_i, per_kv = _RECOMPUTE[key]
        elements = layers * h + per_h * h + per_i * i + per_kv * kv
    else:
        per_lh, per_li, per_lkv, once_h = _FULL[key]
        elements = layers * (per_lh * h + per_li * i + per_lkv * kv) + once_h * h
    return int(elements * tokens * dtype_bytes)


def lm_head_bytes(arch: Architecture, tokens: int, compute_bytes: int, head_trainable: bool = True) -> int:
    """TRL's fused LM head: one [4096 x 32768] tile in the compute dtype, the scored positions' hidden
    states, and in the backward pass the fp32 gradients of the hidden states and (when it trains) of the
    head's weight."""
    tile = min(tokens, HEAD_TOKEN_TILE) * min(arch.vocab, HEAD_VOCAB_TILE) * compute_bytes
    weight_grad = arch.vocab * arch.hidden * 4 if head_trainable else 0
    return int(tile + tokens * arch.hidden * (compute_bytes + 4) + weight_grad)


@dataclass(frozen=True)
class StateBytes:
    """What stays on each GPU from step to step."""

    weights: int
    gradients: int
    optimizer: int
    master: int
    buffers: int  # communication buckets, gathered shards, autocast copies


def training_state(
    arch: Architecture,
    trainable: int,
    strategy: str,
    weight_bytes: int,
    mixed_bf16: bool,
    shards: int,
    processes: int = 1,
) -> StateBytes:
    """Per-GPU bytes of weights, gradients, optimizer states, fp32 master and buffers.

    strategy: ddp (one process or DDP), zero2, zero3, fsdp. `trainable` < params means LoRA: the base
    weights are frozen in `weight_bytes` and the adapters are fp32 (PEFT upcasts them)."""
    p, t, n = arch.params, trainable, max(shards, 1)
    lora = t < p
    frozen = p - t if lora else 0
    if strategy in ("zero2", "zero3"):
        # DeepSpeed casts the module to bf16 and keeps fp32 masters and Adam states in partitions; at the
        # optimizer step the gradient partition is also held in fp32: 2 (bf16) + 4 (fp32) bytes per trainable
        # parameter, as DeepSpeed's own estimator counts it (estimate_zero2_model_states_mem_needs: 2 + 18/N)
        module = 2 * (p if strategy == "zero2" else p / n)
        grads = (2 + 4) * t / n
        buffers = 2 * min(DEEPSPEED_REDUCE_BUCKET, t)
        if strategy == "zero3":
            buffers += 2 * 2 * arch.layer_params  # the gathered layer and the prefetched one
        return StateBytes(int(module), int(grads), int(8 * t / n), int(4 * t / n), int(buffers))
    if strategy == "fsdp":
        # accelerate upcasts trainable weights to fp32 before sharding; bf16 copies of ~2 layers gathered
        weights = 4 * t / n + weight_bytes * frozen / n
        gathered = 2 * 2 * arch.layer_params * (2 if not lora else 1) + 2 * arch.vocab * arch.hidden
        return StateBytes(int(weights), int(4 * t / n), int(8 * t / n), 0, int(gathered))
    # ddp / a single process: nothing partitioned; trainable tensors in their own dtype
    trainable_bytes = 4 if lora else weight_bytes
    weights = trainable_bytes * t + weight_bytes * frozen
    grads = trainable_bytes * t
    buffers = grads if processes > 1 else 0  # DDP's buckets hold a second copy (gradient_as_bucket_view off)
    if mixed_bf16 and trainable_bytes == 4:
        buffers += 2 * t  # autocast keeps bf16 copies of the weights for the backward pass
    return StateBytes(int(weights), int(grads), int(2 * trainable_bytes * t), 0, int(buffers))
