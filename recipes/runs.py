"""A recipe's run on disk: where its relative paths resolve, where its training writes, what it leaves there.

Training writes these; evaluation (the checkpoint curve, the compare) and the bench read them.
"""

from __future__ import annotations

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


def saved_checkpoints(folder: Path) -> list[Path]:
    """Every checkpoint-N folder the Trainer saved, by step (named as transformers names and finds them)."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    pattern = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")
    found = [p for p in folder.iterdir() if p.is_dir() and pattern.match(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(pattern.match(p.name).group(1)))


def last_checkpoint(folder: Path) -> Path | None:
    """The checkpoint-N folder with the highest N (transformers' own lookup, as the Trainer resumes)."""
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    return Path(found) if found else None
