"""`make bench`: throughput of every stage, each set beside its bound on this hardware.

- eval generation: output tokens/s per task with the recipe's engine and settings, against the tighter of
  the memory-bandwidth bound (weights + KV cache read per decoding step at the measured context length)
  and the compute bound (FLOPs per token over the peak); with prefix caching off and on.
- SFT: tokens/s per device, peak memory, MFU against the matmul peak: a baseline, then each speed-up.
- GRPO: one generation batch split into generation, scoring and optimisation.
- scoring: answers checked per second.

`weights=random` runs all of it on the recipe model's architecture with random weights and synthetic
prompts and sequences (see eval.architectures and train.bench_train): the real compute, nothing downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.engines import TransformersEngine, VllmEngine, choose_backend, prompt_seed
from eval.generation_store import SamplingSettings
from eval.hardware import (
    Hardware,
    decode_bound_tokens_per_s,
    decode_compute_bound_tokens_per_s,
    detect,
    model_sizes,
)
from eval.model_ref import resolve_model
from eval.results import atomic_write_text
from eval.runner import load_eval_tokenizer
from eval.settings import resolve_tasks
from recipes.architectures import architecture_dir
from recipes.gpus import gpu_available
from recipes.protocol.grader import grade
from recipes.provenance import provenance
from recipes.runs import recipe_dir
from recipes.schema import Recipe

DEFAULT_MAX_NUM_SEQS = 256  # vLLM's default cap on sequences decoded together
STAGES = ("scoring", "generation", "sft", "grpo")
# random weights never stop early, so their work is capped by default (the flags raise it)
RANDOM_MAX_NEW_TOKENS = 1024
RANDOM_MAX_PROBLEMS = 32
RANDOM_PROMPT_TOKENS = 256  # of the order of a competition problem with its instructions


# Answers that send a parser into its timeout: nesting thousands deep, a tower of powers, a huge answer.
PATHOLOGICAL_ANSWERS = (
    "(" * 3000 + "1" + ")" * 3000,
    "10^{10^{10^{10}}}",
    "{" * 5000 + "}" * 5000,
    "9" * 30_000,
)


def scoring_batch(ordinary: int = 2000, pathological: int = 20) -> dict:
    """Grade `ordinary` distinct correct answers with `pathological` ones mixed in; seconds and peak memory
    of the process that does it (run in a fresh one, so the peak is the grading's own)."""
    import resource

    responses = [
        (
            f"Working... so the value is {i}.\n</think>\n\nThe answer is $\\boxed{{\\frac{{{i}}}{{{i + 1}}}}}$.",
            f"\\frac{{{i}}}{{{i + 1}}}",
        )
        for i in range(1, ordinary + 1)
    ]
    step = max(1, ordinary // max(pathological, 1))
    for k in range(pathological):
        answer = PATHOLOGICAL_ANSWERS[k % len(PATHOLOGICAL_ANSWERS)]
        responses.insert(k * step, (f"</think> \\boxed{{{answer}}}", str(k)))
    start = time.perf_counter()
    correct = sum(grade(r, g, "math").correct for r, g in responses)
    elapsed = time.perf_counter() - start
    return {
        "answers": len(responses),
        "pathological": pathological,
        "correct": correct,
        "seconds": elapsed,
        "answers_per_s": len(responses) / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bench_scoring(ordinary: int = 2000, pathological: int = 20) -> dict:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(scoring_batch, ordinary, pathological).result()
    assert result["correct"] == ordinary, "the scoring benchmark's ordinary answers should all be right"
    return result


@dataclass(frozen=True)
class BenchSettings:
    stages: tuple[str, ...] = STAGES
    random_weights: bool = False
    max_new_tokens: int | None = None  # eval generation and GRPO completions; None: the recipe's
    max_problems: int | None = None  # per task; None: the recipe's eval.max_problems (all)
    prompt_tokens: int = RANDOM_PROMPT_TOKENS  # random weights: length of the synthetic prompts
    max_length: int | None = None  # SFT sequence limit; None: the recipe's
    sft_steps: int = 30
    grpo_steps: int = 4

    def resolved(self) -> BenchSettings:
        """Random weights decode to the limit every time: cap the work so the run takes minutes."""
        if not self.random_weights:
            return self
        return replace(
            self,
            max_new_tokens=self.max_new_tokens or RANDOM_MAX_NEW_TOKENS,
            max_problems=self.max_problems or RANDOM_MAX_PROBLEMS,
        )


def _task_prompts(recipe: Recipe, tokenizer, run, max_problems: int | None) -> list[str]:
    from lighteval.tasks.registry import Registry

    from eval.compat import only_project_tasks
    from eval.tasks import tasks_module

    with only_project_tasks(tasks_module([run])):
        tasks = Registry(tasks=f"{run.info.lighteval_name}|0").load_tasks()
    docs = next(iter(tasks.values())).get_docs(max_problems)
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": d.query}], tokenize=False, add_generation_prompt=True
        )
        for d in docs
    ]


@dataclass
class _Workload:
    task: str
    sampling: SamplingSettings
    prompt_ids: list[list[int]]
    seeds: list[int]


def _workloads(recipe: Recipe, settings: BenchSettings, vocab_size: int, model_path: str) -> list[_Workload]:
    """Per task: the prompts as token ids, with the recipe's sampling (bench overrides applied). Random
    weights get synthetic prompts of `prompt_tokens` random ids: the real text means nothing to them."""
    runs = resolve_tasks(recipe.eval, recipe_dir(recipe))
    tokenizer = (
        None if settings.random_weights else load_eval_tokenizer(model_path, recipe.model.chat_template)
    )
    loads = []
    for run in runs:
        sampling = run.sampling
        if settings.max_new_tokens:
            sampling = replace(sampling, max_new_tokens=settings.max_new_tokens)
        max_problems = settings.max_problems or recipe.eval.max_problems
        if tokenizer is None:
            problems = min(run.info.size, max_problems or run.info.size)
            rng = random.Random(f"{sampling.seed}:{run.name}")
            ids = [
                [rng.randrange(vocab_size) for _ in range(settings.prompt_tokens)] for _ in range(problems)
            ]
            seeds = [sampling.seed + i for i in range(problems)]
        else:
            prompts = _task_prompts(recipe, tokenizer, run, max_problems)
            ids = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
            seeds = [prompt_seed(sampling.seed, p) for p in prompts]
        loads.append(_Workload(run.name, sampling, ids, seeds))
    return loads


def _engine(
    recipe: Recipe, backend: str, model_path: str, prefix: bool | None, settings: BenchSettings, seed: int
):
    if backend == "vllm":
        vllm = recipe.eval.vllm.model_copy(update={"enable_prefix_caching": prefix})
        return VllmEngine(model_path, vllm, 0, seed=seed, random_weights=settings.random_weights)
    return TransformersEngine(
        model_path, dtype=recipe.eval.vllm.dtype, random_weights=settings.random_weights
    )


def bench_generation(recipe: Recipe, hardware: Hardware, settings: BenchSettings) -> list[dict]:
    import torch
    from transformers import AutoConfig

    if settings.random_weights:
        model_path = str(
            architecture_dir(recipe.model.name_or_path, recipe.model.revision, recipe_dir(recipe))
        )
    else:
        model_path = resolve_model(recipe.model.name_or_path, recipe.model.revision).path
    config = AutoConfig.from_pretrained(model_path)
    dtype_bytes = 2 if torch.cuda.is_available() or recipe.eval.vllm.dtype in ("bfloat16", "float16") else 4
    params, weight_bytes, kv_per_token = model_sizes(config, dtype_bytes)
    attention_width = config.num_attention_heads * (
        getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    )
    backend = choose_backend(recipe.eval.backend)
    loads = _workloads(recipe, settings, config.vocab_size, model_path)
    variants = (
        [("prefix caching off", False), ("prefix caching on (default)", True)]
        if backend == "vllm"
        else [("transformers", None)]
    )
    rows = []
    for label, prefix in variants:
        engine = _engine(recipe, backend, model_path, prefix, settings, loads[0].sampling.seed)
        # one short request first, so one-time costs (graph capture, compilation, allocation) stay out of the timings
        warm_up = replace(loads[0].sampling, n=1, max_new_tokens=4)
        list(engine.generate([loads[0].prompt_ids[0]], [0], warm_up))
        for load in loads:
            start = time.perf_counter()
            outputs = list(engine.generate(load.prompt_ids, load.seeds, load.sampling))
            elapsed = time.perf_counter() - start
            generated = sum(s.tokens for _, samples in outputs for s in samples)
            sequences = len(load.prompt_ids) * load.sampling.n
            mean_out = generated / sequences
            context = sum(len(i) for i in load.prompt_ids) / len(load.prompt_ids) + mean_out / 2
            concurrency = (
                min(sequences, recipe.eval.vllm.max_num_seqs or DEFAULT_MAX_NUM_SEQS)
                if backend == "vllm"
                else load.sampling.n
            )
            memory_bound = decode_bound_tokens_per_s(
                weight_bytes, kv_per_token, context, concurrency, hardware.bandwidth
            )
            compute_bound = decode_compute_bound_tokens_per_s(
                params,
                config.num_hidden_layers,
                attention_width,
                context,
                hardware.peak_flops,
                prompt_tokens_per_output=sum(len(i) for i in load.prompt_ids) / generated,
            )
            bound = min(memory_bound, compute_bound)
            rows.append(
                {
                    "task": load.task,
                    "variant": label,
                    "engine": backend,
                    "weights": "random" if settings.random_weights else "trained",
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
            )
        engine.close()
    return rows


def sft_variants() -> list[dict]:
    """SFT settings to set side by side: the plain baseline, then each speed-up the recipes use, added in
    turn. Liger's kernels only where they can run (a GPU with liger-kernel installed)."""
    variants = [{"packing": False, "use_liger_kernel": False}]
    if gpu_available() and importlib.util.find_spec("liger_kernel") is not None:
        variants.append({"packing": False, "use_liger_kernel": True})
    variants.append({**variants[-1], "packing": True})
    return variants


def run_bench(recipe: Recipe, out_dir: Path, settings: BenchSettings | None = None) -> dict:
    from train.bench_train import TrainWorkload, bench_grpo_step, bench_sft

    settings = (settings or BenchSettings()).resolved()
    hardware = detect()
    print(
        f"hardware: {hardware.name}: peak {hardware.peak_flops / 1e12:.2f} TFLOP/s ({hardware.peak_flops_source}), "
        f"bandwidth {hardware.bandwidth / 1e9:.1f} GB/s ({hardware.bandwidth_source})"
    )
    workload = TrainWorkload(max_length=settings.max_length, completion_tokens=settings.max_new_tokens)
    if settings.random_weights:
        architecture = architecture_dir(recipe.model.name_or_path, recipe.model.revision, recipe_dir(recipe))
        workload = replace(workload, architecture=architecture, prompt_tokens=settings.prompt_tokens)
        print(
            f"random weights: {recipe.model.name_or_path}'s architecture ({architecture / 'config.json'}); "
            f"synthetic prompts of {settings.prompt_tokens} tokens, every sequence decoded to "
            f"{settings.max_new_tokens} tokens, at most {settings.max_problems} problems per task"
        )
    results: dict = {
        "hardware": hardware.__dict__,
        "recipe": recipe.name,
        "model": recipe.model.name_or_path,
        "settings": asdict(settings),
        "provenance": provenance(),
    }
    if "scoring" in settings.stages:
        results["scoring"] = bench_scoring()
    if "generation" in settings.stages and recipe.eval.tasks:
        results["generation"] = bench_generation(recipe, hardware, settings)
    if recipe.train is not None and "sft" in settings.stages:
        results["sft"] = [
            bench_sft(recipe, settings.sft_steps, variant, hardware.peak_flops, workload)
            for variant in sft_variants()
        ]
    if recipe.train is not None and "grpo" in settings.stages:
        results["grpo"] = bench_grpo_step(recipe, settings.grpo_steps, workload)
    print_bench(results)
    atomic_write_text(out_dir / "bench.json", json.dumps(results, indent=2, default=str))
    print(f"wrote {out_dir / 'bench.json'}")
    return results


def _setting(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def print_bench(results: dict) -> None:
    console = Console(width=200)
    weights = "random weights" if results["settings"]["random_weights"] else "trained weights"
    table = Table(
        title=f"reasonlift bench · {results['model']} ({weights}) · {results['hardware']['name']}",
        title_justify="left",
    )
    for column in ("stage", "setting", "measured", "bound", "ratio"):
        table.add_column(column, justify="left" if column in ("stage", "setting") else "right")
    for row in results.get("generation", []):
        table.add_row(
            f"eval generation · {row['task']}",
            f"{row['engine']}, {row['variant']}; {row['problems']}x{row['samples']} samples, "
            f"{row['mean_output_tokens']:,.0f} tokens each, {row['wall_s']:.1f} s",
            f"{row['tokens_per_s']:,.0f} tok/s",
            f"{row['bound_tokens_per_s']:,.0f} tok/s ({row['binding']})",
            f"{100 * row['ratio']:.1f}%",
        )
    for row in results.get("sft", []):
        if "error" in row:
            table.add_row("SFT", _setting(row["settings"]), row["error"], "–", "–")
            continue
        table.add_row(
            "SFT",
            f"{_setting(row['settings'])}; max_length {row['max_length']}, peak memory {row['peak_memory_gb']:.2f} GB",
            f"{row['tokens_per_s_per_device']:,.0f} tok/s/device",
            f"{results['hardware']['peak_flops'] / 1e12:.2f} TFLOP/s",
            f"MFU {100 * row['mfu']:.1f}%",
        )
    if "grpo" in results:
        g = results["grpo"]
        table.add_row(
            "GRPO step",
            f"{g['completions_per_step']} completions ≤ {g['max_completion_length']} tokens, {g['generation_engine']}: "
            f"generation {g['generation_s']:.2f} s · scoring {g['scoring_s']:.3f} s · optimisation {g['optimisation_s']:.2f} s",
            f"{g['step_s']:.2f} s/step",
            "–",
            "–",
        )
    if "scoring" in results:
        s = results["scoring"]
        table.add_row(
            "scoring",
            f"{s['answers']:,} answers ({s['pathological']} pathological)",
            f"{s['seconds']:.2f} s, {s['answers_per_s']:,.0f} answers/s",
            f"peak {s['peak_rss_mb']:,.0f} MB",
            "–",
        )
    console.print(table)
