"""Choosing a checkpoint: on a selection set (honest), or on the test task itself (then adjusted for it).

Picking the best of K checkpoints on the benchmark that reports it reports the largest of K noisy estimates: its
p value, computed as if that checkpoint had been named in advance, is too small, and its delta too large (the
winner's curse). The correction is a max-statistic permutation test (Westfall and Young): the K checkpoints'
per-problem differences from the baseline are sign-flipped together, problem by problem (under no effect the
baseline and the checkpoints are exchangeable within a problem), and the chosen checkpoint's |delta| is ranked
among the largest |delta| of the K under each flip. Flipping the K differences together treats each problem's
vector of differences as symmetric under no effect; that holds exactly for one checkpoint and approximately for
several (the baseline is shared, and a skewed pass rate makes the vector slightly asymmetric), so the test is
approximate: in simulation (tests/test_seed_statistics.py: 8 correlated checkpoints, AIME-sized) it rejected at
most about 5% of the time. The same flips give the best-of-K delta expected with no real effect: the optimism a
best-checkpoint report carries (computed from the observed differences, so a real effect inflates it a little).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.comparison.pairing import paired_problems
from eval.evaluate import evaluate_model
from eval.stores.results import TaskResult
from recipes.errors import UserError
from recipes.log import info
from recipes.runs import SUMMARY_FILE, saved_checkpoints
from recipes.schema import Recipe, TaskSpec

SELECTION_RESAMPLES = 10_000


@dataclass(frozen=True)
class SelectionAdjustment:
    task: str
    chosen: str  # the checkpoint reported
    candidates: list[str]  # the K it was chosen among
    delta: float
    naive_p: float  # the chosen checkpoint's own paired test, as if named in advance
    adjusted_p: float  # the max-statistic permutation p over the K
    expected_best_delta: float  # the best-of-K delta expected with no real effect (optimism)
    resamples: int


def max_statistic_p(
    baseline: np.ndarray,
    candidates: np.ndarray,
    chosen: int,
    resamples: int = SELECTION_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(p of the chosen candidate's own sign-flip test, max-statistic p over all candidates, expected best delta
    under no effect), for `candidates` K x n per-problem scores against `baseline` (n)."""
    d = np.atleast_2d(np.asarray(candidates, dtype=float)) - np.asarray(baseline, dtype=float)[None, :]
    rng = np.random.default_rng(seed)
    n = d.shape[1]
    observed = abs(float(d[chosen].mean()))
    own = best = 0
    optimism = 0.0
    for start in range(0, resamples, 2000):  # in blocks, to bound memory at MATH-500's size
        count = min(2000, resamples - start)
        flips = rng.choice(np.array([-1.0, 1.0]), size=(count, n))
        means = flips @ d.T / n  # count x K
        own += int(np.sum(np.abs(means[:, chosen]) >= observed - 1e-12))
        best += int(np.sum(np.abs(means).max(axis=1) >= observed - 1e-12))
        optimism += float(means.max(axis=1).sum())
    return (own + 1) / (resamples + 1), (best + 1) / (resamples + 1), optimism / resamples


def adjust_selection(
    task: str,
    baseline: np.ndarray,
    candidates: dict[str, np.ndarray],
    chosen: str,
    resamples: int = SELECTION_RESAMPLES,
) -> SelectionAdjustment:
    names = list(candidates)
    scores = np.stack([candidates[name] for name in names])
    naive, adjusted, optimism = max_statistic_p(baseline, scores, names.index(chosen), resamples)
    return SelectionAdjustment(
        task=task,
        chosen=chosen,
        candidates=names,
        delta=float(np.mean(candidates[chosen]) - np.mean(baseline)),
        naive_p=naive,
        adjusted_p=adjusted,
        expected_best_delta=optimism,
        resamples=resamples,
    )


@dataclass(frozen=True)
class Candidate:
    label: str  # checkpoint-N, or final
    path: str
    step: int | None
    score: float  # mean pass@1 over the selection tasks


@dataclass(frozen=True)
class Selection:
    """The checkpoint chosen on the selection set, before the test tasks were evaluated."""

    tasks: list[str]
    chosen: Candidate
    candidates: list[Candidate]


def candidate_folders(run_folder: Path) -> list[tuple[str, Path, int | None]]:
    """The run's checkpoints with full weights, then its final model: (label, folder, step)."""
    found: list[tuple[str, Path, int | None]] = []
    for folder in saved_checkpoints(run_folder):
        if any(folder.glob("*.safetensors")) and (folder / "config.json").exists():
            found.append((folder.name, folder, int(folder.name.rsplit("-", 1)[1])))
        else:
            info(
                f"notice: eval.selection: {folder.name} holds no full weights (a LoRA adapter?): not a candidate"
            )
    if (run_folder / "config.json").exists():
        summary = run_folder / SUMMARY_FILE
        step = json.loads(summary.read_text()).get("global_step") if summary.exists() else None
        if step is None or step not in {
            s for _, _, s in found
        }:  # else a checkpoint of the last step stands for it
            found.append(("final", run_folder, step))
    return found


def select_checkpoint(recipe: Recipe, run_folder: Path, generate: bool = True) -> Selection:
    """Evaluate every checkpoint of the run (and its final model) on `eval.selection`'s tasks and choose the best
    mean pass@1; ties go to the later one (more training for the same score)."""
    assert recipe.eval.selection is not None
    chosen_on = recipe.eval.selection
    spec = recipe.eval.model_copy(
        update={"tasks": {t: TaskSpec(n=chosen_on.n) for t in chosen_on.tasks}, "selection": None}
    )
    candidates = []
    folders = candidate_folders(run_folder)
    if not folders:
        raise UserError(f"eval.selection: {run_folder} holds no checkpoint or final model with full weights")
    for label, folder, step in folders:
        info(f"== selection: {label} on {', '.join(chosen_on.tasks)}")
        evaluation = evaluate_model(
            str(folder), spec, recipe.model.chat_template, label=f"selection {label}", generate=generate
        )
        score = float(np.mean([np.mean([p.pass1 for p in r.problems]) for r in evaluation.results.values()]))
        candidates.append(Candidate(label, str(folder), step, score))
    if len(candidates) == 1:
        info(
            f"notice: eval.selection: {run_folder} has one model with full weights, so nothing was chosen; save "
            "checkpoints (save_strategy, save_total_limit) to choose among them"
        )
    best = max(range(len(candidates)), key=lambda i: (candidates[i].score, i))
    return Selection(list(chosen_on.tasks), candidates[best], candidates)


def selection_line(selection: Selection) -> str:
    chosen = selection.chosen
    return (
        f"selection: {chosen.label} chosen on {', '.join(selection.tasks)} (pass@1 {100 * chosen.score:.1f}%, the best "
        f"of {len(selection.candidates)}: "
        + ", ".join(f"{c.label} {100 * c.score:.1f}" for c in selection.candidates)
        + "), before the test tasks were evaluated"
    )


def adjustment_line(adjustment: SelectionAdjustment) -> str:
    return (
        f"{adjustment.task}: {adjustment.chosen} is one of {len(adjustment.candidates)} checkpoints evaluated on this "
        f"task; if it was chosen by its score here, its p is {adjustment.adjusted_p:.3f} (max-statistic permutation "
        f"over the {len(adjustment.candidates)}), not {adjustment.naive_p:.3f}, and a best-of-"
        f"{len(adjustment.candidates)} pick with no real effect shows {100 * adjustment.expected_best_delta:+.1f} "
        "points on average (eval.selection chooses on another task instead)"
    )


def selection_adjustments(
    baseline: dict[str, TaskResult], candidates: dict[str, dict[str, TaskResult]], chosen: str
) -> list[SelectionAdjustment]:
    """Per task: the chosen candidate's p adjusted for having been the best of all `candidates` (label -> that
    candidate's results by task), on the problems every candidate and the baseline answered."""
    adjustments = []
    for task, base_result in baseline.items():
        results = {label: by_task[task] for label, by_task in candidates.items() if task in by_task}
        if chosen not in results or len(results) < 2:
            continue
        common = set.intersection(*({p.problem_id for p in r.problems} for r in results.values()))
        base = [p for p in base_result.problems if p.problem_id in common]
        scores = {
            label: np.array([p.pass1 for p in paired_problems(base, r.problems)[1]])
            for label, r in results.items()
        }
        adjustments.append(adjust_selection(task, np.array([p.pass1 for p in base]), scores, chosen))
    return adjustments
