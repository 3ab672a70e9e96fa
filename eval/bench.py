"""`make bench`: throughput of every stage, each set beside its bound on this hardware.

- eval generation: output tokens/s per task with the recipe's engine and settings, against the
  memory-bandwidth bound (weights + KV cache read per decoding step at the measured context length);
  run with prefix caching off and on, to show what the default buys.
- SFT: tokens/s per device, peak memory, MFU against the matmul peak; without and with packing.
- GRPO: one step split into generation, scoring and optimisation.
- scoring: answers checked per second.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.engines import TransformersEngine, VllmEngine, choose_backend, prompt_seed
from eval.hardware import Hardware, decode_bound_tokens_per_s, detect, model_sizes
from eval.model_ref import resolve_model
from eval.results import atomic_write_text
from eval.runner import load_eval_tokenizer
from eval.scoring import grade
from eval.settings import resolve_tasks
from recipes.provenance import provenance
from recipes.schema import Recipe

DEFAULT_MAX_NUM_SEQS = 256  # vLLM's default cap on sequences decoded together


def bench_scoring(samples: int = 400) -> dict:
    responses = [
        (
            f"Working... so the value is {i}.\n</think>\n\nThe answer is $\\boxed{{\\frac{{{i}}}{{{i + 1}}}}}$.",
            f"{i}/{i + 1}",
        )
        for i in range(samples)
    ]
    start = time.perf_counter()
    correct = sum(grade(r, g, "math").correct for r, g in responses)
    elapsed = time.perf_counter() - start
    assert correct == samples, "the scoring benchmark's answers should all be right"
    return {"answers": samples, "answers_per_s": samples / elapsed}


def _task_prompts(recipe: Recipe, tokenizer, run) -> list[str]:
    from lighteval.tasks.registry import Registry

    from eval.compat import only_project_tasks
    from eval.tasks import tasks_module

    with only_project_tasks(tasks_module([run])):
        tasks = Registry(tasks=f"{run.info.lighteval_name}|0").load_tasks()
    docs = next(iter(tasks.values())).get_docs(recipe.eval.max_problems)
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": d.query}], tokenize=False, add_generation_prompt=True
        )
        for d in docs
    ]


def bench_generation(recipe: Recipe, hardware: Hardware) -> list[dict]:
    import torch
    from transformers import AutoConfig

    ref = resolve_model(recipe.model.name_or_path, recipe.model.revision)
    tokenizer = load_eval_tokenizer(ref.path, recipe.model.chat_template)
    config = AutoConfig.from_pretrained(ref.path)
    dtype_bytes = 2 if torch.cuda.is_available() else 4
    _, weight_bytes, kv_per_token = model_sizes(config, dtype_bytes)
    backend = choose_backend(recipe.eval.backend)
    rows = []
    for run in resolve_tasks(recipe.eval):
        prompts = _task_prompts(recipe, tokenizer, run)
        ids = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
        seeds = [prompt_seed(run.sampling.seed, p) for p in prompts]
        variants = (
            [("prefix caching off", False), ("prefix caching on (default)", True)]
            if backend == "vllm"
            else [("transformers", None)]
        )
        for label, prefix in variants:
            if backend == "vllm":
                settings = recipe.eval.vllm.model_copy(update={"enable_prefix_caching": prefix})
                engine = VllmEngine(ref.path, settings, run.sampling.max_new_tokens, seed=run.sampling.seed)
            else:
                engine = TransformersEngine(ref.path, dtype=recipe.eval.vllm.dtype)
            start = time.perf_counter()
            outputs = list(engine.generate(ids, seeds, run.sampling))
            elapsed = time.perf_counter() - start
            engine.close()
            generated = sum(s.tokens for _, samples in outputs for s in samples)
            sequences = len(prompts) * run.sampling.n
            mean_out = generated / sequences
            context = sum(len(i) for i in ids) / len(ids) + mean_out / 2
            concurrency = (
                min(sequences, recipe.eval.vllm.max_num_seqs or DEFAULT_MAX_NUM_SEQS)
                if backend == "vllm"
                else run.sampling.n
            )
            bound = decode_bound_tokens_per_s(
                weight_bytes, kv_per_token, context, concurrency, hardware.bandwidth
            )
            rows.append(
                {
                    "task": run.name,
                    "variant": label,
                    "engine": backend,
                    "problems": len(prompts),
                    "samples": run.sampling.n,
                    "wall_s": elapsed,
                    "output_tokens": generated,
                    "tokens_per_s": generated / elapsed,
                    "mean_context_tokens": context,
                    "concurrency": concurrency,
                    "bound_tokens_per_s": bound,
                    "ratio": generated / elapsed / bound,
                }
            )
    return rows


def run_bench(recipe: Recipe, out_dir: Path, sft_steps: int = 30, grpo_steps: int = 4) -> dict:
    from train.bench_train import bench_grpo_step, bench_sft

    hardware = detect()
    print(
        f"hardware: {hardware.name}: peak {hardware.peak_flops / 1e12:.2f} TFLOP/s ({hardware.peak_flops_source}), "
        f"bandwidth {hardware.bandwidth / 1e9:.1f} GB/s ({hardware.bandwidth_source})"
    )
    results: dict = {"hardware": hardware.__dict__, "recipe": recipe.name, "provenance": provenance()}
    results["scoring"] = bench_scoring()
    results["generation"] = bench_generation(recipe, hardware)
    if recipe.train is not None:
        results["sft"] = [
            bench_sft(recipe, sft_steps, {"packing": False}, hardware.peak_flops),
            bench_sft(recipe, sft_steps, {"packing": True}, hardware.peak_flops),
        ]
        results["grpo"] = bench_grpo_step(recipe, grpo_steps)
    print_bench(results)
    atomic_write_text(out_dir / "bench.json", json.dumps(results, indent=2, default=str))
    print(f"wrote {out_dir / 'bench.json'}")
    return results


def print_bench(results: dict) -> None:
    console = Console(width=180)
    table = Table(title=f"reasonlift bench · {results['hardware']['name']}", title_justify="left")
    for column in ("stage", "setting", "measured", "bound", "ratio"):
        table.add_column(column, justify="left" if column in ("stage", "setting") else "right")
    for row in results["generation"]:
        table.add_row(
            f"eval generation · {row['task']}",
            f"{row['variant']}; {row['problems']}x{row['samples']} samples, {row['wall_s']:.1f} s",
            f"{row['tokens_per_s']:,.0f} tok/s",
            f"{row['bound_tokens_per_s']:,.0f} tok/s (memory)",
            f"{100 * row['ratio']:.1f}%",
        )
    for row in results.get("sft", []):
        table.add_row(
            "SFT",
            f"packing={row['settings']['packing']}; peak memory {row['peak_memory_gb']:.2f} GB",
            f"{row['tokens_per_s_per_device']:,.0f} tok/s/device",
            f"{results['hardware']['peak_flops'] / 1e12:.2f} TFLOP/s",
            f"MFU {100 * row['mfu']:.1f}%",
        )
    if "grpo" in results:
        g = results["grpo"]
        table.add_row(
            "GRPO step",
            f"generation {g['generation_s']:.2f} s · scoring {g['scoring_s']:.3f} s · optimisation {g['optimisation_s']:.2f} s",
            f"{g['step_s']:.2f} s/step",
            "–",
            "–",
        )
    s = results["scoring"]
    table.add_row(
        "scoring", f"{s['answers']} math-verify checks", f"{s['answers_per_s']:,.0f} answers/s", "–", "–"
    )
    console.print(table)
