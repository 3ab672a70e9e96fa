"""`make bench`: throughput of every stage, each set beside its bound on this hardware.

- eval generation: output tokens/s per task with the recipe's engine and settings, against the tighter of
  the memory-bandwidth bound (weights + KV cache read per decoding step at the measured context length)
  and the compute bound (FLOPs per token over the peak); with prefix caching off and on.
- SFT: tokens/s per device, peak memory, MFU against the matmul peak: a baseline, then each speed-up.
- GRPO: one generation batch split into generation, scoring and optimisation.
- scoring: answers checked per second.
- contamination: the 8-gram check on ~100k training rows against 728 evaluation problems, in seconds.
- analysis: the post-generation side of a full compare (grading, statistics, the thinking analysis, files) on a
  synthetic compare of the protocol's size, and a second compare on its cached results (eval.bench.post_generation).
- scheduling (vLLM, random weights): every task through one engine against one task at a time, both
  against the ideal (total tokens at the engine's peak throughput), and reasonlift's engine path against
  vLLM's own LLM.generate; per-request limits long-tailed like R1-Distill answers.

`weights=random` runs all of it on the recipe model's architecture with random weights and synthetic
prompts and sequences (see recipes.architectures and train.bench_train): the real compute, nothing downloaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from eval.bench.contamination import bench_contamination
from eval.bench.generation import bench_generation
from eval.bench.hardware import detect
from eval.bench.report import print_bench
from eval.bench.scoring import bench_scoring
from recipes.architectures import architecture_dir
from recipes.files import atomic_write_text, strict_json
from recipes.gpus import gpu_available, vllm_available
from recipes.log import info
from recipes.provenance import provenance
from recipes.schema import Recipe

STAGES = ("scoring", "contamination", "analysis", "generation", "scheduling", "sft", "grpo")
# random weights never stop early, so their work is capped by default (the flags raise it)
RANDOM_MAX_NEW_TOKENS = 1024
RANDOM_MAX_PROBLEMS = 32
RANDOM_PROMPT_TOKENS = 256  # of the order of a competition problem with its instructions


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
    prefix_caching: str = "both"  # vLLM generation measured with it off and on, or one of them (on | off)
    analysis_scale: float = 1.0  # the synthetic compare's size against the protocol's (stages=analysis)

    def resolved(self) -> BenchSettings:
        """Random weights decode to the limit every time: cap the work so the run takes minutes."""
        if not self.random_weights:
            return self
        return replace(
            self,
            max_new_tokens=self.max_new_tokens or RANDOM_MAX_NEW_TOKENS,
            max_problems=self.max_problems or RANDOM_MAX_PROBLEMS,
        )


def fit_context(recipe: Recipe, settings: BenchSettings) -> BenchSettings:
    """Random weights: a prompt plus its new tokens must fit the engine's context (eval.vllm.max_model_len), or
    vLLM stops mid-run. Checked before any engine starts: the default work is sized to the recipe, a limit the
    user asked for is refused in one line."""
    if not settings.random_weights or not ({"generation", "scheduling"} & set(settings.stages)):
        return settings
    context = recipe.eval.vllm.max_model_len
    if context is None:
        return settings  # the model's own context, far above the bench's synthetic work
    need = settings.prompt_tokens + settings.max_new_tokens
    if need <= context:
        return settings
    fitted = context - settings.prompt_tokens
    if fitted < 8 or settings.max_new_tokens != RANDOM_MAX_NEW_TOKENS:
        from recipes.errors import UserError

        raise UserError(
            f"{settings.prompt_tokens} prompt + {settings.max_new_tokens} new tokens do not fit eval.vllm.max_model_len "
            f"{context}: lower max_new_tokens= (at most {max(fitted, 0)}) or prompt_tokens, or raise max_model_len"
        )
    info(
        f"random weights: new tokens capped at {fitted} so that {settings.prompt_tokens}-token prompts fit the "
        f"recipe's max_model_len {context}"
    )
    return replace(settings, max_new_tokens=fitted)


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

    settings = fit_context(recipe, (settings or BenchSettings()).resolved())
    hardware = detect()
    info(
        f"hardware: {hardware.name}: peak {hardware.peak_flops / 1e12:.2f} TFLOP/s ({hardware.peak_flops_source}), "
        f"bandwidth {hardware.bandwidth / 1e9:.1f} GB/s ({hardware.bandwidth_source})"
    )
    workload = TrainWorkload(max_length=settings.max_length, completion_tokens=settings.max_new_tokens)
    if settings.random_weights:
        architecture = architecture_dir(recipe.model.name_or_path, recipe.model.revision)
        workload = replace(workload, architecture=architecture, prompt_tokens=settings.prompt_tokens)
        info(
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
    if "contamination" in settings.stages:
        results["contamination"] = bench_contamination()
    if "analysis" in settings.stages:
        from eval.bench.post_generation import bench_analysis

        results["analysis"] = bench_analysis(out_dir, settings.analysis_scale)
    if "generation" in settings.stages and recipe.eval.tasks:
        results["generation"] = bench_generation(recipe, hardware, settings)
    if "scheduling" in settings.stages and settings.random_weights and vllm_available():
        from eval.bench.scheduling import bench_scheduling

        results["scheduling"] = bench_scheduling(recipe, settings)
    if recipe.train is not None and "sft" in settings.stages:
        results["sft"] = [
            bench_sft(recipe, settings.sft_steps, variant, hardware.peak_flops, workload)
            for variant in sft_variants()
        ]
    if recipe.train is not None and "grpo" in settings.stages:
        results["grpo"] = bench_grpo_step(recipe, settings.grpo_steps, workload)
    print_bench(results)
    atomic_write_text(out_dir / "bench.json", strict_json(results))
    info(f"wrote {out_dir / 'bench.json'}")
    return results
