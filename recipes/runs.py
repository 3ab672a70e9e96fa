"""A recipe's run on disk: where its relative paths resolve, where its training writes, what it leaves there.

Training writes these; evaluation (the checkpoint curve, the compare) and the bench read them.
"""

from __future__ import annotations

from pathlib import Path

from recipes.schema import Recipe

SUMMARY_FILE = "train_summary.json"
RECIPE_COPY = "recipe.yaml"


def recipe_dir(recipe: Recipe) -> Path:
    return Path(recipe.source).parent if recipe.source else Path.cwd()


def output_dir(recipe: Recipe) -> Path:
    assert recipe.train is not None
    return Path(recipe.train.output_dir).expanduser().resolve()


def last_checkpoint(folder: Path) -> Path | None:
    checkpoints = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(checkpoints, key=lambda p: int(p.name.split("-")[-1])) if checkpoints else None
