"""What every training method shares: model and tokenizer loading, LoRA, the output folder, the summary."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from recipes import log
from recipes.errors import UserError
from recipes.gpus import gpu_available
from recipes.protocol.chat_template import apply_recipe_template
from recipes.provenance import provenance
from recipes.runs import RECIPE_COPY, SUMMARY_FILE, last_checkpoint, output_dir
from recipes.schema import Recipe, path_fields
from train.run import TrainRun, effective_args


def load_tokenizer(run: TrainRun):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run.model)
    apply_recipe_template(tokenizer, run.recipe.model.chat_template)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _model_kwargs(recipe: Recipe) -> dict[str, Any]:
    import torch

    dtype = recipe.model.dtype
    if not gpu_available() and dtype in ("bfloat16", "float16"):
        dtype = "float32"  # half precision training on CPU is slow and poorly supported
    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype) if dtype != "auto" else "auto"}
    if recipe.model.attn_implementation:
        kwargs["attn_implementation"] = recipe.model.attn_implementation
    return kwargs


def load_model(run: TrainRun):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(run.model, **_model_kwargs(run.recipe))


def random_model(run: TrainRun, architecture: Path):
    """The recipe's model with random weights (`make bench weights=random`), built straight on the device
    it will train on: initialising 1.5B parameters on a GPU takes seconds, on a CPU core minutes."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs = _model_kwargs(run.recipe)
    if kwargs["dtype"] == "auto":
        kwargs.pop("dtype")
    with torch.device("cuda" if gpu_available() else "cpu"):
        return AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(architecture), **kwargs)


def lora_config(recipe: Recipe):
    assert recipe.train is not None
    spec = recipe.train.lora
    if spec is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=spec.target_modules,
        task_type="CAUSAL_LM",
    )


def check_output_dir(recipe: Recipe, resume: bool) -> None:
    """Refuse to mix a fresh run into a folder that holds an earlier run's checkpoints."""
    folder = output_dir(recipe)
    if not resume and folder.exists() and last_checkpoint(folder) is not None:
        raise UserError(
            f"{folder} already holds checkpoints from an earlier run: resume it with `make train recipe=... resume=1`, "
            f"or start over with `fresh=1` (deletes the folder)"
        )


def prepare_output_dir(recipe: Recipe, resume: bool) -> Path | None:
    """Create the output folder and return the checkpoint to resume from, if any."""
    check_output_dir(recipe, resume)
    folder = output_dir(recipe)
    checkpoint = last_checkpoint(folder) if folder.exists() else None
    if resume:
        if checkpoint is None:
            log.notice(f"nothing to resume in {folder}: starting from the beginning")
        else:
            log.info(f"resuming from {checkpoint}")
        return checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    return None


def finished_run(recipe: Recipe) -> dict | None:
    """The summary of a run that already trained to the recipe's end in its output folder (a resubmitted
    job, a requeue after the final save); None when there is something left to train."""
    if recipe.train is None:
        return None
    folder = output_dir(recipe)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    checkpoint = last_checkpoint(folder)
    if checkpoint is not None and int(checkpoint.name.rsplit("-", 1)[-1]) > summary.get("global_step", 0):
        return None  # trained further since that summary
    args = recipe.train.args
    if int(args.get("max_steps", -1)) > 0:
        return summary if summary.get("global_step", 0) >= int(args["max_steps"]) else None
    epochs = float(effective_args(recipe.train.method, args)["num_train_epochs"])
    return summary if (summary.get("epochs") or 0) >= epochs - 1e-6 else None


def finished_notice(summary: dict) -> str:
    return (
        f"{summary['output_dir']} already holds this recipe's trained model ({summary['global_step']} steps, "
        f"{summary.get('epochs') or 0:g} epochs): nothing to resume. Raise num_train_epochs or max_steps to train "
        "further, or start over with fresh=1"
    )


def _tokens_at(checkpoint: Path | None) -> int:
    """Tokens trained when `checkpoint` was saved (0 for a fresh run)."""
    if checkpoint is None:
        return 0
    try:
        history = json.loads((checkpoint / "trainer_state.json").read_text()).get("log_history", [])
    except (OSError, json.JSONDecodeError):
        return 0
    return int(max((h.get("num_tokens", 0) for h in history), default=0))


def write_summary(
    recipe: Recipe,
    trainer,
    started: float,
    extra: dict[str, Any] | None = None,
    resumed: Path | None = None,
    resumed_tokens: int = 0,
) -> dict:
    """train_summary.json: what was trained, for how long, how fast, to what loss, with which code. After a
    resume, tokens/s is this segment's: the tokens trained since `resumed` (`resumed_tokens`, read before training:
    save_total_limit may have rotated that checkpoint away since) over this segment's runtime."""
    folder = output_dir(recipe)
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    tokens = max((h.get("num_tokens", 0) for h in history), default=0)
    segment_tokens = tokens - resumed_tokens
    runtime = time.time() - started
    train_metrics = next((h for h in reversed(history) if "train_runtime" in h), {})
    summary = {
        "recipe": recipe.name,
        "method": recipe.train.method if recipe.train else None,
        "base_model": recipe.model.name_or_path,
        "base_model_revision": recipe.model.revision,
        "output_dir": str(folder),
        "global_step": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "runtime_s": round(runtime, 2),
        "train_runtime_s": train_metrics.get("train_runtime"),
        "tokens": int(tokens),
        "resumed_from_step": int(resumed.name.rsplit("-", 1)[-1]) if resumed else None,
        "segment_tokens": int(segment_tokens),
        "tokens_per_s": round(segment_tokens / train_metrics["train_runtime"], 1)
        if segment_tokens and train_metrics.get("train_runtime")
        else None,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "world_size": trainer.args.world_size,
        "lora": recipe.train.lora.model_dump() if recipe.train and recipe.train.lora else None,
        **(extra or {}),
        **provenance(),
    }
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    return summary


def save_final_model(recipe: Recipe, trainer) -> None:
    """Save full weights to the output folder: with LoRA, the adapter goes to `adapter/` and the merged
    model to the folder itself, so evaluation (vLLM or transformers) loads it like any other checkpoint."""
    folder = output_dir(recipe)
    if recipe.train is not None and recipe.train.lora is not None:
        trainer.save_model(str(folder / "adapter"))
        if trainer.is_world_process_zero():
            merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
            merged.save_pretrained(str(folder))
    else:
        trainer.save_model(str(folder))


def train_and_save(
    recipe: Recipe, trainer, tokenizer, checkpoint: Path | None, started: float, extra: dict
) -> dict | None:
    """Run (or resume) training, save the model, tokenizer, recipe copy and summary. None on non-main ranks."""
    resumed_tokens = _tokens_at(checkpoint)  # now: the checkpoint may be rotated away before the summary
    if checkpoint is not None and hasattr(trainer, "_total_train_tokens"):
        # TRL's SFTTrainer counts its logged num_tokens from 0 again on a resume (the counter is not in the
        # checkpoint): continue it, so the tokens logged, summed and plotted stay cumulative
        trainer._total_train_tokens = resumed_tokens
    from train.checkpoints import mark_complete
    from train.health import HealthMonitor
    from train.stop import STOP_FILE_VAR, stop_callback

    trainer.add_callback(mark_complete())
    stop = stop_callback()
    if stop is not None:
        trainer.add_callback(stop)
    assert recipe.train is not None
    health = HealthMonitor(recipe.train.method, recipe.train.health) if recipe.train.health.enabled else None
    if health is not None:
        trainer.add_callback(health)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if stop is not None and stop.stopped_at is not None:
        # not the final model: the requeued job resumes from this checkpoint and saves that
        log.info(
            f"stopped as asked ({STOP_FILE_VAR}) after step {stop.stopped_at}: checkpoint-{stop.stopped_at} "
            "saved; resuming continues from it"
        )
        return None
    save_final_model(recipe, trainer)
    if not trainer.is_world_process_zero():
        return None
    tokenizer.save_pretrained(str(output_dir(recipe)))
    # the log history beside the final model too (checkpoints have theirs): the compare and `make view` read it
    trainer.state.save_to_json(str(output_dir(recipe) / "trainer_state.json"))
    copy_recipe(recipe)
    if health is not None:
        extra = {**extra, "health": health.summary()}
        if health.stopped_by is not None:
            log.warning(
                f"stopped by the health monitor after step {health.stopped_at} ({health.stopped_by.rule}, from step "
                f"{health.stopped_by.step}): checkpoint-{health.stopped_at} and the model saved in {output_dir(recipe)}"
            )
    return write_summary(
        recipe, trainer, started, extra=extra, resumed=checkpoint, resumed_tokens=resumed_tokens
    )


# What may change between a run and its resume: how long it trains, how often it saves and logs.
CHANGEABLE_ON_RESUME = (
    "train.args.max_steps",
    "train.args.num_train_epochs",
    "train.args.save_steps",
    "train.args.save_total_limit",
    "train.args.save_strategy",
    "train.args.logging_steps",
    "train.args.log_completions",
    "train.args.num_completions_to_print",
)


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}.{key}"))
        return out
    return {prefix: value}


def _what_trains(recipe: Recipe) -> dict[str, Any]:
    assert recipe.train is not None
    return {
        **_flat(recipe.model.model_dump(), "model"),
        **_flat(recipe.train.model_dump(exclude={"output_dir"}), "train"),
    }


def recipe_changes(recipe: Recipe) -> list[str]:
    """What differs, as `key: before -> now`, between `recipe` and the copy its run left in the output folder
    (written when the run started), among the keys that decide what is trained; [] when there is no copy."""
    copy = output_dir(recipe) / RECIPE_COPY
    if not copy.exists():
        return []
    from recipes import load_recipe

    try:
        before = _what_trains(load_recipe(copy, check_paths=False))
    except UserError:
        return [f"{copy} no longer loads as a recipe"]
    now = _what_trains(recipe)
    return [
        f"{key}: {before.get(key)!r} -> {now.get(key)!r}"
        for key in sorted(set(before) | set(now))
        if before.get(key) != now.get(key)
        and key not in CHANGEABLE_ON_RESUME
        and not key.startswith("train.health.")  # the monitor's settings change nothing trained
    ]


def check_resume_matches(recipe: Recipe, force: bool) -> None:
    """Refuse to resume a run with a recipe that trains something else, listing what changed (`--force` goes on
    and the copy beside the model is replaced)."""
    changes = recipe_changes(recipe)
    if not changes:
        return
    listed = "; ".join(changes)
    if not force:
        raise UserError(
            f"{output_dir(recipe)} was trained with another recipe ({listed}): resuming would continue it with "
            "different settings. Train into another train.output_dir, start over with fresh=1, or resume anyway "
            "with force=1"
        )
    log.notice(f"resuming with a changed recipe (force): {listed}")


def copy_recipe(recipe: Recipe) -> None:
    """The recipe beside the model it trained: the file itself, or, with --set overrides or relative paths
    (which would mean other folders from here), the file as the run read it, paths absolute, under a header."""
    if not recipe.source:
        return
    import yaml

    from recipes.loader import apply_overrides

    target = output_dir(recipe) / RECIPE_COPY
    raw = apply_overrides(yaml.safe_load(Path(recipe.source).read_text()), recipe.overrides)
    moved = False
    for dotted, owner, key, _, _ in path_fields(
        recipe
    ):  # the recipe's path keys, as the loader resolved them
        node = raw
        for part in dotted.split(".")[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(key) not in (None, getattr(owner, key)):
            node[key], moved = getattr(owner, key), True
    if not recipe.overrides and not moved:
        shutil.copyfile(recipe.source, target)
        return
    header = f"# {recipe.source}" + (f" with --set {' '.join(recipe.overrides)}" if recipe.overrides else "")
    target.write_text(header + " (paths made absolute)\n" + yaml.safe_dump(raw, sort_keys=False))


def is_main_process() -> bool:
    return log.rank() == 0
