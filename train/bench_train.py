"""Training measurements for `make bench`: SFT throughput, memory and MFU; the split of a GRPO step.

With random weights (`TrainWorkload.architecture` set) the model is the recipe's architecture, randomly
initialised on the device, and the data synthetic: SFT sequences of random token ids with lengths spread
over the recipe's `max_length`, GRPO prompts of `prompt_tokens` tokens. The compute per token is the real
model's, so throughput, memory and MFU carry over; nothing needs downloading.
"""

from __future__ import annotations

import gc
import random
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.gpus import vllm_available
from recipes.models import model_folder
from recipes.protocol.rewards import recipe_rewards
from recipes.schema import Recipe
from train import common
from train.data import load_prompt_dataset, load_train_dataset
from train.run import TrainRun, base_model_folder, describe

# the tokenizer that pads and renders prompts when the model's own is not on disk (random weights): its ids
# are a subset of any vocabulary, and the token counts that matter are set by the workload, not by text
RANDOM_WEIGHTS_TOKENIZER = "builtin:tiny-qwen2"


@dataclass(frozen=True)
class TrainWorkload:
    architecture: Path | None = None  # a folder with the model's config.json: random weights, synthetic data
    max_length: int | None = None  # SFT sequence limit; None: the recipe's
    completion_tokens: int | None = None  # GRPO completion limit; None: the recipe's
    prompt_tokens: int = 256  # GRPO prompt length with random weights

    @property
    def random_weights(self) -> bool:
        return self.architecture is not None


class _StepTimer:
    """A TrainerCallback (duck-typed) that times optimizer steps after the first (warm-up) one."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)

    def __getattr__(self, name: str):  # every other callback event is a no-op
        return lambda *args, **kwargs: None


def _timed(fn, total: list[float]):
    """Wrap `fn` so that the seconds spent in it add up in total[0]; keeps its name (TRL logs by name)."""

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - start

    wrapper.__name__ = getattr(fn, "__name__", "timed")
    return wrapper


def _peak_memory_gb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kilobytes on Linux


def _device_ready_args(args: dict[str, Any]) -> dict[str, Any]:
    """Liger's kernels are Triton (CUDA) code: off on a CPU, so a GPU recipe still benches here."""
    if not common.gpu_available() and args.get("use_liger_kernel"):
        args = {**args, "use_liger_kernel": False}
    return args


def _model(bench: TrainRun, workload: TrainWorkload):
    if workload.architecture is not None:
        return common.random_model(bench, workload.architecture)
    return common.load_model(bench)


def synthetic_sequences(vocab_size: int, max_length: int, rows: int, seed: int = 0):
    """Token sequences with lengths spread evenly over [max_length / 8, max_length]: unequal like R1
    traces, so padding and packing cost what they cost on real data."""
    from datasets import Dataset

    rng = random.Random(seed)
    lengths = [rng.randint(max(max_length // 8, 1), max_length) for _ in range(rows)]
    return Dataset.from_dict({"input_ids": [[rng.randrange(vocab_size) for _ in range(n)] for n in lengths]})


def synthetic_prompts(tokenizer, prompt_tokens: int, rows: int, seed: int = 0):
    """Conversational prompts of `prompt_tokens` tokens of numbers (the tokenizer's own text), gold answer 1."""
    from datasets import Dataset

    rng = random.Random(seed)
    prompts = []
    for _ in range(rows):
        words = " ".join(str(rng.randrange(1000)) for _ in range(prompt_tokens))
        ids = tokenizer(words, add_special_tokens=False).input_ids[:prompt_tokens]
        prompts.append([{"role": "user", "content": tokenizer.decode(ids)}])
    return Dataset.from_dict({"prompt": prompts, "answer": ["1"] * rows})


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _sft_args(recipe: Recipe, overrides: dict[str, Any], steps: int, workload: TrainWorkload) -> dict:
    """The recipe's SFT arguments with the variant's overrides, for a short timed run."""
    args = {**recipe.train.args, **overrides, "max_steps": steps, "save_strategy": "no", "logging_steps": 1}
    if workload.max_length:
        args["max_length"] = workload.max_length
    if workload.random_weights:  # token ids only: no chat turns to mask
        args["assistant_only_loss"] = False
    return _device_ready_args(args)


def _sft_speed(trainer, timer: _StepTimer, params: int, peak_flops: float) -> dict:
    """Tokens/s (the first step, with its one-time costs, left out), peak memory and MFU of a finished run."""
    tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    measured = timer.times[1:] or timer.times
    step_s = sum(measured) / len(measured)
    tokens_per_step = (tokens[-1] - tokens[0]) / max(len(tokens) - 1, 1) if len(tokens) > 1 else tokens[-1]
    tokens_per_s = tokens_per_step / step_s
    return {
        "max_length": trainer.args.max_length,
        "tokens_per_s": tokens_per_s,
        "tokens_per_s_per_device": tokens_per_s / max(trainer.args.world_size, 1),
        "step_s": step_s,
        "peak_memory_gb": _peak_memory_gb(),
        "mfu": 6 * params * tokens_per_s / peak_flops,  # forward + backward, dense parameters
    }


def bench_sft(
    recipe: Recipe,
    steps: int,
    overrides: dict[str, Any],
    peak_flops: float,
    workload: TrainWorkload | None = None,
) -> dict:
    import torch
    from trl import SFTConfig, SFTTrainer

    assert recipe.train is not None
    workload = workload or TrainWorkload()
    _free_memory()
    with tempfile.TemporaryDirectory() as out:
        bench = _variant(recipe, workload, output_dir=out, args=_sft_args(recipe, overrides, steps, workload))
        model = _model(bench, workload)
        params = sum(p.numel() for p in model.parameters())
        config = bench.trl_config(SFTConfig, run_name="bench")
        if workload.random_weights:
            rows = steps * config.per_device_train_batch_size * config.gradient_accumulation_steps * 2 + 8
            dataset = synthetic_sequences(model.config.vocab_size, config.max_length or 1024, rows)
        else:
            dataset = load_train_dataset(bench.recipe.train.dataset)
        timer = _StepTimer()
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=common.load_tokenizer(bench),
            callbacks=[timer],
        )
        try:
            trainer.train()
        except torch.OutOfMemoryError:
            del model, trainer
            _free_memory()
            return {"settings": overrides, "parameters": params, "error": "out of memory"}
    result = {"settings": overrides, "parameters": params, **_sft_speed(trainer, timer, params, peak_flops)}
    del model, trainer
    return result


def _grpo_args(recipe: Recipe, steps: int, workload: TrainWorkload) -> dict:
    """The recipe's GRPO arguments for a short timed run: one generation batch per step, no reference model.
    vLLM generation needs real weights in a folder, vLLM installed and a GPU to share; otherwise the step is
    timed with transformers generation, and the row says so."""
    args = {k: v for k, v in recipe.train.args.items() if k in _grpo_fields()}
    args.setdefault("num_generations", 8)
    args.setdefault("per_device_train_batch_size", 16)
    args.setdefault("max_completion_length", 48)
    if workload.completion_tokens:
        args["max_completion_length"] = min(args["max_completion_length"], workload.completion_tokens)
    use_vllm = bool(args.get("use_vllm")) and vllm_available() and common.gpu_available()
    args.update(
        use_vllm=use_vllm and not workload.random_weights,
        max_steps=steps,
        save_strategy="no",
        logging_steps=1,
        gradient_accumulation_steps=1,
        beta=0.0,
    )
    if not args["use_vllm"]:
        args.pop("vllm_enable_sleep_mode", None)
    if workload.random_weights:  # as in eval generation: no chance stops, every completion at the limit
        args["generation_kwargs"] = {
            **(args.get("generation_kwargs") or {}),
            "min_new_tokens": args["max_completion_length"],
        }
    return _device_ready_args(args)


def bench_grpo_step(recipe: Recipe, steps: int, workload: TrainWorkload | None = None) -> dict:
    """Time a few GRPO steps (one generation batch each), split into generation, scoring and optimisation."""
    from trl import GRPOConfig, GRPOTrainer

    assert recipe.train is not None
    workload = workload or TrainWorkload()
    _free_memory()
    reward_funcs, weights = recipe_rewards(recipe.train.rewards)  # an SFT recipe: accuracy alone
    scoring, generation = [0.0], [0.0]
    grpo_args = _grpo_args(recipe, steps, workload)
    use_vllm = grpo_args["use_vllm"]
    with tempfile.TemporaryDirectory() as out:
        bench = _variant(recipe, workload, method="grpo", output_dir=out, args=grpo_args)
        model = _model(bench, workload)
        if not use_vllm:
            model.generate = _timed(model.generate, generation)
        tokenizer = common.load_tokenizer(bench)
        if workload.random_weights:
            rows = steps * grpo_args["per_device_train_batch_size"] // grpo_args["num_generations"] * 2 + 8
            dataset = synthetic_prompts(tokenizer, workload.prompt_tokens, rows)
        else:
            dataset = load_prompt_dataset(bench.recipe.train.dataset)
        timer = _StepTimer()
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[_timed(f, scoring) for f in reward_funcs],
            args=bench.trl_config(GRPOConfig, run_name="bench", reward_weights=weights),
            train_dataset=dataset,
            processing_class=tokenizer,
            callbacks=[timer],
        )
        if use_vllm:
            trainer.vllm_generation.generate = _timed(trainer.vllm_generation.generate, generation)
        trainer.train()
    total, steps_done = sum(timer.times), len(timer.times)
    del model, trainer
    return {
        "steps": steps_done,
        "generation_engine": "vLLM (colocate)" if use_vllm else "transformers",
        "completions_per_step": grpo_args["per_device_train_batch_size"],
        "max_completion_length": grpo_args["max_completion_length"],
        "step_s": total / steps_done,
        "generation_s": generation[0] / steps_done,
        "scoring_s": scoring[0] / steps_done,
        "optimisation_s": max(total - generation[0] - scoring[0], 0.0) / steps_done,
    }


def _variant(recipe: Recipe, workload: TrainWorkload, **train_updates: Any) -> TrainRun:
    """The run of a copy of the recipe for measuring: other training settings, no W&B (model_copy skips
    validation). With random weights its folder is a small model's, for the tokenizer alone."""
    assert recipe.train is not None
    bench = recipe.model_copy(
        update={
            "train": recipe.train.model_copy(update=train_updates),
            "wandb": recipe.wandb.model_copy(update={"enabled": False}),
        }
    )
    folder = (
        str(model_folder(RANDOM_WEIGHTS_TOKENIZER)) if workload.random_weights else base_model_folder(bench)
    )
    return describe(bench, model=folder)


def _grpo_fields() -> set[str]:
    import dataclasses

    from trl import GRPOConfig

    return {f.name for f in dataclasses.fields(GRPOConfig)}
