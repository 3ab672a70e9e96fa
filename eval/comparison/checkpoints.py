"""`checkpoints=all`: the metric against the training step, from every saved checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eval.comparison.statistics import mean_and_se
from eval.evaluate import ModelEvaluation, evaluate_model
from eval.stores.generations import NotGenerated
from recipes.log import info
from recipes.runs import SUMMARY_FILE, last_checkpoint, saved_checkpoints
from recipes.schema import Recipe


def _step(folder: Path) -> int:
    return int(folder.name.rsplit("-", 1)[1])


def _point(step: int, label: str, evaluation: ModelEvaluation) -> dict:
    point: dict = {"step": step, "label": label, "fingerprint": evaluation.model.fingerprint, "tasks": {}}
    for name, result in evaluation.results.items():
        mean, se = mean_and_se(np.array([p.pass1 for p in result.problems]))
        point["tasks"][name] = {"pass@1": mean, "se": se}
    return point


def checkpoint_curve(
    recipe: Recipe,
    tuned_dir: Path,
    base_eval: ModelEvaluation,
    tuned_eval: ModelEvaluation,
    generate: bool = True,
    evaluated: dict[str, ModelEvaluation] | None = None,
) -> list[dict]:
    """pass@1 per task at step 0 (the baseline), at each checkpoint with full weights, and at the end.
    `evaluated` collects each checkpoint's evaluation by folder name (the compare writes their details)."""
    points = [_point(0, "baseline", base_eval)]
    seen = {base_eval.model.fingerprint}
    for folder in saved_checkpoints(tuned_dir):
        if not any(folder.glob("*.safetensors")) or not (folder / "config.json").exists():
            info(f"notice: {folder.name} holds no full weights (a LoRA adapter?): left out of the curve")
            continue
        try:
            evaluation = evaluate_model(
                str(folder),
                recipe.eval,
                recipe.model.chat_template,
                label=folder.name,
                generate=generate,
            )
        except NotGenerated:
            # re-grading only (a sweep's compare job): a checkpoint saved after the sweep's array was
            # rendered was never evaluated; the curve goes on without it (one evaluated in part is an error)
            info(
                f"notice: {folder.name} was never evaluated (saved after the sweep was rendered?): "
                "left out of the curve; render and submit the sweep again to add it"
            )
            continue
        seen.add(evaluation.model.fingerprint)
        points.append(_point(_step(folder), folder.name, evaluation))
        if evaluated is not None:
            evaluated[folder.name] = evaluation
    if tuned_eval.model.fingerprint not in seen:
        summary_path = tuned_dir / SUMMARY_FILE
        last = last_checkpoint(tuned_dir)
        step = json.loads(summary_path.read_text())["global_step"] if summary_path.exists() else None
        if step is None:
            step = _step(last) + 1 if last else 1
        if step not in {
            p["step"] for p in points
        }:  # a checkpoint saved at the last step already stands for it
            points.append(_point(step, "final", tuned_eval))
    return points
