"""The generation stage: output tokens/s per task with the recipe's engine and settings, against the tighter
of the memory-bandwidth bound (weights + KV cache read per decoding step at the measured context length)
and the compute bound (FLOPs per token over the peak); with vLLM's prefix caching off and on."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace

from eval.bench.hardware import (
    Hardware,
    decode_compute_bound_tokens_per_s,
    model_sizes,
)
from eval.engines.base import Engine, choose_backend, per_prompt, prompt_seed
from eval.engines.registry import make_engine
from eval.harness.pipeline import task_prompts
from eval.models import load_tokenizer, prompt_ids, resolve_model
from eval.settings import resolve_tasks
from eval.stores.generations import SamplingSettings
from recipes.architectures import architecture_dir
from recipes.gpus import decode_bound_tokens_per_s
from recipes.schema import Recipe


@dataclass
class Workload:
    task: str
    sampling: SamplingSettings
    prompt_ids: list[list[int]]
    seeds: list[int]


@dataclass(frozen=True)
class ModelShape:
    """What the bounds need to know about the model."""

    params: int
    weight_bytes: float
    kv_bytes_per_token: float
    layers: int
    attention_width: int  # heads x head_dim


def workloads(recipe: Recipe, settings, vocab_size: int, model_path: str) -> list[Workload]:
    """Per task: the prompts as token ids, with the recipe's sampling (bench overrides applied). Random
    weights get synthetic prompts of `prompt_tokens` random ids: the real text means nothing to them."""
    tokenizer = None if settings.random_weights else load_tokenizer(model_path, recipe.model.chat_template)
    max_problems = settings.max_problems or recipe.eval.max_problems
    loads = []
    for run in resolve_tasks(recipe.eval):
        sampling = run.sampling
        if settings.max_new_tokens:
            sampling = replace(sampling, max_new_tokens=settings.max_new_tokens)
        if tokenizer is None:
            problems = min(run.info.size, max_problems or run.info.size)
            rng = random.Random(f"{sampling.seed}:{run.name}")
            ids = [
                [rng.randrange(vocab_size) for _ in range(settings.prompt_tokens)] for _ in range(problems)
            ]
            seeds = [sampling.seed + i for i in range(problems)]
        else:
            prompts = task_prompts(run, tokenizer, max_problems)
            ids = [prompt_ids(tokenizer, p) for p in prompts]
            seeds = [prompt_seed(sampling.seed, p) for p in prompts]
        loads.append(Workload(run.name, sampling, ids, seeds))
    return loads


def model_shape(model_path: str, dtype_bytes: int):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_path)
    params, weight_bytes, kv_per_token = model_sizes(config, dtype_bytes)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    shape = ModelShape(
        params, weight_bytes, kv_per_token, config.num_hidden_layers, config.num_attention_heads * head_dim
    )
    return shape, config.vocab_size


def measure(
    engine: Engine, load: Workload, shape: ModelShape, hardware: Hardware, concurrency_cap: int | None
) -> dict:
    """Run one workload through a warm engine; its throughput beside the tighter bound."""
    start = time.perf_counter()
    outputs = list(per_prompt(engine, load.prompt_ids, load.seeds, load.sampling))
    elapsed = time.perf_counter() - start
    generated = sum(s.tokens for _, samples in outputs for s in samples)
    sequences = len(load.prompt_ids) * load.sampling.n
    mean_out = generated / sequences
    prompt_tokens = sum(len(i) for i in load.prompt_ids)
    context = prompt_tokens / len(load.prompt_ids) + mean_out / 2
    concurrency = min(sequences, concurrency_cap) if concurrency_cap else load.sampling.n
    memory_bound = decode_bound_tokens_per_s(
        shape.weight_bytes, shape.kv_bytes_per_token, context, concurrency, hardware.bandwidth
    )
    compute_bound = decode_compute_bound_tokens_per_s(
        shape.params,
        shape.layers,
        shape.attention_width,
        context,
        hardware.peak_flops,
        prompt_tokens_per_output=prompt_tokens / generated,
    )
    bound = min(memory_bound, compute_bound)
    return {
        "task": load.task,
        "problems": len(load.prompt_ids),
        "samples": load.sampling.n,
        "max_new_tokens": load.sampling.max_new_tokens,
        "wall_s": elapsed,
        "output_tokens": generated,
        "mean_output_tokens": mean_out,
        "tokens_per_s": generated / elapsed,
        "mean_context_tokens": context,
        "concurrency": concurrency,
        "memory_bound_tokens_per_s": memory_bound,
        "compute_bound_tokens_per_s": compute_bound,
        "bound_tokens_per_s": bound,
        "binding": "memory" if memory_bound <= compute_bound else "compute",
        "ratio": generated / elapsed / bound,
    }


def bench_generation(recipe: Recipe, hardware: Hardware, settings) -> list[dict]:
    import torch

    if settings.random_weights:
        model_path = str(architecture_dir(recipe.model.name_or_path, recipe.model.revision))
    else:
        model_path = resolve_model(recipe.model.name_or_path, recipe.model.revision).path
    dtype_bytes = 2 if torch.cuda.is_available() or recipe.eval.vllm.dtype in ("bfloat16", "float16") else 4
    shape, vocab_size = model_shape(model_path, dtype_bytes)
    backend = choose_backend(recipe.eval.backend)
    loads = workloads(recipe, settings, vocab_size, model_path)
    if backend == "vllm":
        variants = [("prefix caching off", False), ("prefix caching on (default)", True)]
        if settings.prefix_caching != "both":
            variants = [v for v in variants if v[1] == (settings.prefix_caching == "on")]
    else:
        variants = [("transformers", None)]
    rows = []
    for label, prefix in variants:
        engine = make_engine(
            backend,
            model_path,
            recipe.eval,
            random_weights=settings.random_weights,
            prefix_caching=prefix,
            data_parallel=False,
        )
        # one short request first, so one-time costs (graph capture, compilation, allocation) stay out of the timings
        warm_up = replace(loads[0].sampling, n=1, max_new_tokens=4)
        list(per_prompt(engine, [loads[0].prompt_ids[0]], [0], warm_up))
        cap = getattr(engine, "max_num_seqs", None)  # vLLM's batch limit as the engine resolved it
        for load in loads:
            row = measure(engine, load, shape, hardware, cap)
            weights = "random" if settings.random_weights else "trained"
            rows.append({**row, "variant": label, "engine": backend, "weights": weights})
        engine.close()
    return rows
