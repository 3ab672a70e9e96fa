"""Training measurements for `make bench`: SFT throughput, memory and MFU; the split of a GRPO step."""

from __future__ import annotations

import resource
import tempfile
import time
from typing import Any

from recipes.schema import Recipe
from train import common
from train.data import load_prompt_dataset, load_train_dataset
from train.rewards import build_rewards


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


def bench_sft(recipe: Recipe, steps: int, overrides: dict[str, Any], peak_flops: float) -> dict:
    import torch
    from trl import SFTConfig, SFTTrainer

    assert recipe.train is not None
    with tempfile.TemporaryDirectory() as out:
        args = {
            **recipe.train.args,
            **overrides,
            "max_steps": steps,
            "save_strategy": "no",
            "logging_steps": 1,
        }
        bench = _variant(recipe, output_dir=out, args=args)
        model = common.load_model(bench)
        params = sum(p.numel() for p in model.parameters())
        timer = _StepTimer()
        trainer = SFTTrainer(
            model=model,
            args=common.build_trl_config(bench, SFTConfig, run_name="bench"),
            train_dataset=load_train_dataset(bench.train.dataset, common.recipe_dir(bench)),
            processing_class=common.load_tokenizer(bench),
            callbacks=[timer],
        )
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
    tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    measured = timer.times[1:] or timer.times
    tokens_per_step = (tokens[-1] - tokens[0]) / max(len(tokens) - 1, 1) if len(tokens) > 1 else tokens[-1]
    tokens_per_s = tokens_per_step / (sum(measured) / len(measured))
    flops_per_s = 6 * params * tokens_per_s  # forward + backward, dense parameters
    return {
        "settings": overrides,
        "parameters": params,
        "tokens_per_s": tokens_per_s,
        "tokens_per_s_per_device": tokens_per_s / max(trainer.args.world_size, 1),
        "step_s": sum(measured) / len(measured),
        "peak_memory_gb": _peak_memory_gb(),
        "mfu": flops_per_s / peak_flops,
    }


def bench_grpo_step(recipe: Recipe, steps: int) -> dict:
    """Time a few GRPO steps on the recipe's model and data, split into generation, scoring, optimisation."""
    from trl import GRPOConfig, GRPOTrainer

    assert recipe.train is not None
    if recipe.train.rewards:
        spec = {n: {"weight": r.weight, **(r.model_extra or {})} for n, r in recipe.train.rewards.items()}
    else:  # an SFT recipe: time GRPO on its data with the accuracy reward
        spec = {"accuracy": {"weight": 1.0}}
    reward_funcs, weights = build_rewards(spec)
    scoring, generation = [0.0], [0.0]
    with tempfile.TemporaryDirectory() as out:
        grpo_args = {k: v for k, v in recipe.train.args.items() if k in _grpo_fields()}
        grpo_args.setdefault("num_generations", 8)
        grpo_args.setdefault("per_device_train_batch_size", 16)
        grpo_args.setdefault("max_completion_length", 48)
        grpo_args.update(max_steps=steps, save_strategy="no", logging_steps=1, beta=0.0)
        bench = _variant(
            recipe, method="grpo", output_dir=out, args=grpo_args
        )  # an SFT recipe timed under GRPO
        model = common.load_model(bench)
        model.generate = _timed(model.generate, generation)
        timer = _StepTimer()
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[_timed(f, scoring) for f in reward_funcs],
            args=common.build_trl_config(bench, GRPOConfig, run_name="bench", reward_weights=weights),
            train_dataset=load_prompt_dataset(bench.train.dataset, common.recipe_dir(bench)),
            processing_class=common.load_tokenizer(bench),
            callbacks=[timer],
        )
        trainer.train()
    total = sum(timer.times)
    return {
        "steps": len(timer.times),
        "step_s": total / len(timer.times),
        "generation_s": generation[0] / len(timer.times),
        "scoring_s": scoring[0] / len(timer.times),
        "optimisation_s": max(total - generation[0] - scoring[0], 0.0) / len(timer.times),
    }


def _variant(recipe: Recipe, **train_updates: Any) -> Recipe:
    """A copy of the recipe for measuring: other training settings, no W&B. model_copy skips validation."""
    assert recipe.train is not None
    return recipe.model_copy(
        update={
            "train": recipe.train.model_copy(update=train_updates),
            "wandb": recipe.wandb.model_copy(update={"enabled": False}),
        }
    )


def _grpo_fields() -> set[str]:
    import dataclasses

    from trl import GRPOConfig

    return {f.name for f in dataclasses.fields(GRPOConfig)}
