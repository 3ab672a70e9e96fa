"""A recipe's run on disk: where its relative paths resolve, where its training writes, what it leaves there.

Training writes these; evaluation (the checkpoint curve, the compare) and the bench read them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from recipes.schema import Recipe

SUMMARY_FILE = "train_summary.json"
RECIPE_COPY = "recipe.yaml"


def recipe_dir(recipe: Recipe) -> Path:
    """The folder the recipe's relative paths are relative to (the loader has already applied the rule)."""
    return Path(recipe.source).parent if recipe.source else Path.cwd()


def output_dir(recipe: Recipe) -> Path:
    assert recipe.train is not None
    return Path(recipe.train.output_dir)


SEED_FOLDER = "seed-{seed}"


def seed_runs(recipe: Recipe) -> list[Recipe]:
    """The training runs a recipe asks for: itself, or with `train.seeds` one recipe per seed, the same in every
    key but `train.args.seed` and its output folder (`<output_dir>/seed-<seed>`)."""
    if recipe.train is None or not recipe.train.seeds:
        return [recipe]
    runs = []
    for seed in recipe.train.seeds:
        folder = Path(recipe.train.output_dir) / SEED_FOLDER.format(seed=seed)
        train = recipe.train.model_copy(
            update={"seeds": None, "output_dir": str(folder), "args": {**recipe.train.args, "seed": seed}}
        )
        # the same recipe, as `--set` would give it: the copy beside the model and a resume read it back alike
        derived = ["train.seeds=null", f"train.args.seed={seed}", f"train.output_dir={folder}"]
        runs.append(recipe.model_copy(update={"train": train, "overrides": [*recipe.overrides, *derived]}))
    return runs


def seed_label(recipe: Recipe) -> str:
    """`seed-<s>` for one of `seed_runs`' recipes."""
    assert recipe.train is not None
    return SEED_FOLDER.format(seed=recipe.train.args.get("seed"))


def run_name(recipe: Recipe) -> str:
    """The training run's name (W&B): the recipe's, with its seed when it is one of several."""
    folder = output_dir(recipe).name if recipe.train is not None else ""
    is_seed_run = folder == SEED_FOLDER.format(seed=recipe.train.args.get("seed")) if recipe.train else False
    return f"{recipe.name}-{folder}" if is_seed_run else recipe.name


def compare_dir(recipe: Recipe) -> Path:
    """Where `make compare` writes: eval.output_dir, else the trained output's compare/, else outputs/<name>/compare
    beside the recipe."""
    if recipe.eval.output_dir:
        folder = Path(recipe.eval.output_dir)
    elif recipe.train is not None:
        folder = output_dir(recipe) / "compare"
    else:
        folder = recipe_dir(recipe) / "outputs" / recipe.name / "compare"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Written into a checkpoint folder once everything in it is on disk (train.checkpoints.MarkComplete): a save that
# the disk, a time limit or kill -9 cut short leaves a folder without it.
COMPLETE_MARKER = ".complete"


def checkpoint_complete(folder: Path) -> bool:
    """Whether a checkpoint was written whole: marked so, or (saved before the marker, or cut between the
    trainer's state and the marker) holding a trainer_state.json that parses, which the Trainer writes after the
    weights, optimizer, scheduler and RNG states."""
    if (folder / COMPLETE_MARKER).exists():
        return True
    import json

    try:
        json.loads((folder / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def saved_checkpoints(folder: Path, complete_only: bool = True) -> list[Path]:
    """Every checkpoint-N folder the Trainer saved, by step (named as transformers names and finds them); only
    those written whole unless `complete_only` is False."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    pattern = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
    found = [p for p in folder.iterdir() if p.is_dir() and pattern.match(p.name)] if folder.is_dir() else []
    if complete_only:
        found = [p for p in found if checkpoint_complete(p)]
    return sorted(found, key=lambda p: int(pattern.match(p.name).group(1)))


def last_checkpoint(folder: Path) -> Path | None:
    """The last checkpoint written whole (what a resume continues from); transformers' own lookup takes the
    highest step whether or not its save finished."""
    found = saved_checkpoints(folder)
    return found[-1] if found else None


def incomplete_checkpoints(folder: Path) -> list[Path]:
    """Checkpoint folders whose save did not finish, newer than the last complete one."""
    last = last_checkpoint(folder)
    step = int(last.name.rsplit("-", 1)[-1]) if last else -1
    return [
        p
        for p in saved_checkpoints(folder, complete_only=False)
        if not checkpoint_complete(p) and int(p.name.rsplit("-", 1)[-1]) > step
    ]


TRAINER_STATE = "trainer_state.json"


def training_log(folder: Path) -> list[dict] | None:
    """The log history of the run that made `folder` (a final model or a checkpoint): its trainer_state.json, or
    for a final model saved before reasonlift kept one beside it, its last checkpoint's."""
    for candidate in (folder, last_checkpoint(folder)):
        try:
            return json.loads((candidate / TRAINER_STATE).read_text()).get("log_history")
        except (OSError, ValueError, TypeError):
            continue
    return None


def run_health(folder: Path, method: str | None = None, overrides: dict | None = None) -> dict | None:
    """The health verdicts of the run that made `folder`: its summary's (what the monitor saw), else the rules
    applied to its log history now (a checkpoint, a run trained before the monitor); None without either."""
    from recipes.health import evaluate, to_json

    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        summary = {}
    if summary.get("health"):
        return summary["health"]
    history = training_log(folder)
    if not history:
        return None
    method = method or summary.get("method") or ("grpo" if any("reward" in h for h in history) else "sft")
    return {"rules": to_json(evaluate(history, method, overrides))}
