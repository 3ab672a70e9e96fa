"""Before/after comparison: evaluate both sides with identical settings, then compare problem by problem."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from eval.results import ProblemRecord, TaskResult
from eval.stats import PairedComparison, compare_paired

SETTINGS_LABELS = {
    "task_version": "task version (prompt and scoring)",
    "dataset": "dataset",
    "revision": "dataset revision",
    "n": "samples per problem (n)",
    "temperature": "temperature",
    "top_p": "top_p",
    "max_new_tokens": "max new tokens",
    "seed": "sampling seed",
    "chat_template": "chat template",
}


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

    @property
    def label(self) -> str:
        return f"{self.task} · {self.subset}" if self.subset else self.task

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "subset": self.subset,
            "metric": self.metric,
            **asdict(self.stats),
            "significant": self.stats.significant,
            "baseline_side": asdict(self.baseline),
            "tuned_side": asdict(self.tuned),
        }


@dataclass
class TaskComparison:
    task: str
    rows: list[CompareRow]
    baseline_metrics: dict[str, float]
    tuned_metrics: dict[str, float]
    mismatches: list[str] = field(default_factory=list)


def settings_mismatches(baseline: TaskResult, tuned: TaskResult) -> list[str]:
    """Every way the two sides were not evaluated alike, in words."""
    problems = []
    for key in sorted(set(baseline.settings) | set(tuned.settings)):
        a, b = baseline.settings.get(key), tuned.settings.get(key)
        if a != b and key != "task":
            problems.append(
                f"{baseline.task}: {SETTINGS_LABELS.get(key, key)} differs: baseline {a!r}, tuned {b!r}"
            )
    if baseline.data_fingerprint != tuned.data_fingerprint:
        problems.append(f"{baseline.task}: the problems or gold answers differ between the two evaluations")
    base_prompts = {p.problem_id: p.prompt_hash for p in baseline.problems}
    differing = sum(
        1
        for p in tuned.problems
        if p.problem_id in base_prompts and base_prompts[p.problem_id] != p.prompt_hash
    )
    if differing:
        problems.append(f"{baseline.task}: {differing} of {len(tuned.problems)} rendered prompts differ")
    if baseline.partial != tuned.partial:
        problems.append(
            f"{baseline.task}: one side was evaluated on a subset of problems (eval.max_problems)"
        )
    return problems


def _paired(
    baseline: list[ProblemRecord], tuned: list[ProblemRecord]
) -> tuple[list[ProblemRecord], list[ProblemRecord]]:
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


def compare_task(baseline: TaskResult, tuned: TaskResult, seed: int = 0) -> TaskComparison:
    base, tune = _paired(baseline.problems, tuned.problems)
    rows = [_row(baseline.task, None, base, tune, seed)]
    levels = sorted({p.level for p in base if p.level not in (None, "")}, key=str)
    if len(levels) > 1:
        for level in levels:
            b = [p for p in base if p.level == level]
            t = [q for p, q in zip(base, tune, strict=True) if p.level == level]
            rows.append(_row(baseline.task, f"level {level}", b, t, seed))
    return TaskComparison(
        task=baseline.task,
        rows=rows,
        baseline_metrics=baseline.metrics,
        tuned_metrics=tuned.metrics,
        mismatches=settings_mismatches(baseline, tuned),
    )
