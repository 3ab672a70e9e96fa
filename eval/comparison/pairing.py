"""Pair the two sides problem by problem and compare them: one row per task, and per MATH level."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from eval.comparison.guard import settings_mismatches
from eval.comparison.statistics import PairedComparison, compare_paired, holm
from eval.stores.results import ProblemRecord, TaskResult


@dataclass
class SideSummary:
    mean_tokens: float
    truncation_rate: float
    no_answer_rate: float

    @classmethod
    def of(cls, problems: list[ProblemRecord]) -> SideSummary:
        samples = [s for p in problems for s in p.samples]
        if not samples:
            return cls(float("nan"), float("nan"), float("nan"))
        return cls(
            mean_tokens=float(np.mean([s.tokens for s in samples])),
            truncation_rate=float(np.mean([s.finish_reason == "length" for s in samples])),
            no_answer_rate=float(np.mean([s.extracted is None for s in samples])),
        )


@dataclass
class CompareRow:
    task: str
    subset: str | None  # e.g. "level 3" for the MATH-500 breakdown; None for the whole task
    metric: str
    stats: PairedComparison
    baseline: SideSummary
    tuned: SideSummary
    seen_in_training: int = 0  # problems of this row that the contamination check found in training data

    @property
    def label(self) -> str:
        label = f"{self.task} · {self.subset}" if self.subset else self.task
        return label + (f" ⚠ {self.seen_in_training} seen in training" if self.seen_in_training else "")

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "subset": self.subset,
            "metric": self.metric,
            **asdict(self.stats),
            "significant": self.stats.significant,
            "p_at_floor": self.stats.p_at_floor,
            "seen_in_training": self.seen_in_training,
            "baseline_side": asdict(self.baseline),
            "tuned_side": asdict(self.tuned),
        }


@dataclass
class TaskComparison:
    task: str
    samples: int  # n, samples per problem (the same on both sides unless the guard was overridden)
    rows: list[CompareRow]
    mismatches: list[str] = field(default_factory=list)


def paired_problems(
    baseline: list[ProblemRecord], tuned: list[ProblemRecord]
) -> tuple[list[ProblemRecord], list[ProblemRecord]]:
    """The problems both sides answered, in the baseline's order: the unit every paired figure is over."""
    tuned_by_id = {p.problem_id: p for p in tuned}
    pairs = [(p, tuned_by_id[p.problem_id]) for p in baseline if p.problem_id in tuned_by_id]
    return [a for a, _ in pairs], [b for _, b in pairs]


def _row(
    task: str, subset: str | None, base: list[ProblemRecord], tuned: list[ProblemRecord], seed: int
) -> CompareRow:
    stats = compare_paired(np.array([p.pass1 for p in base]), np.array([p.pass1 for p in tuned]), seed=seed)
    return CompareRow(
        task=task,
        subset=subset,
        metric="pass@1",
        stats=stats,
        baseline=SideSummary.of(base),
        tuned=SideSummary.of(tuned),
    )


def compare_task(
    baseline: TaskResult, tuned: TaskResult, seed: int = 0, seen_in_training: frozenset[str] = frozenset()
) -> TaskComparison:
    """The task's row, one per MATH level, and, when some problems were seen in training (the contamination
    check's problem ids), a row on the clean problems alone with its own interval."""
    base, tune = paired_problems(baseline.problems, tuned.problems)
    rows = [_row(baseline.task, None, base, tune, seed)]
    seen = sum(p.problem_id in seen_in_training for p in base)
    if seen:
        rows[0].seen_in_training = seen
        clean = [(p, q) for p, q in zip(base, tune, strict=True) if p.problem_id not in seen_in_training]
        if clean:
            rows.append(_row(baseline.task, "clean", [p for p, _ in clean], [q for _, q in clean], seed))
    levels = sorted({p.level for p in base if p.level not in (None, "")}, key=str)
    if len(levels) > 1:
        level_rows = []
        for level in levels:
            b = [p for p in base if p.level == level]
            t = [q for p, q in zip(base, tune, strict=True) if p.level == level]
            level_rows.append(_row(baseline.task, f"level {level}", b, t, seed))
        # the levels are one family of comparisons: each is significant only after Holm's adjustment
        for row, adjusted in zip(level_rows, holm([r.stats.p_value for r in level_rows]), strict=True):
            row.stats = replace(row.stats, p_adjusted=adjusted)
        rows += level_rows
    return TaskComparison(
        task=baseline.task,
        samples=baseline.settings["n"],
        rows=rows,
        mismatches=settings_mismatches(baseline, tuned),
    )
