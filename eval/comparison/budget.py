"""Accuracy under a token budget, from the saved generations (nothing is generated again).

pass@1 had generation stopped at B tokens: a sample counts when it finished (its own end, not the length
limit) within B tokens, with a final answer, and was graded correct. B runs over a doubling grid up to the
run's `max_new_tokens`; at each B the delta gets the same paired interval over problems as the headline.
Beside it, completed-only accuracy: correct among the samples that finished at all, which separates "wrong"
from "cut off" (a fine-tune can look worse only because it thinks longer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from eval.comparison.pairing import paired_problems
from eval.comparison.statistics import mean_and_se, paired_t_ci
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult

GRID_POINTS = 6  # max_new_tokens, then halved five times (32k: 1k, 2k, 4k, 8k, 16k, 32k)


def finished(sample: SampleRecord) -> bool:
    return sample.finish_reason != "length"


def budget_grid(max_new_tokens: int) -> list[int]:
    grid = [max_new_tokens]
    while len(grid) < GRID_POINTS and grid[-1] // 2 >= 1:
        grid.append(grid[-1] // 2)
    return sorted(set(grid))


def pass1_within(problem: ProblemRecord, budget: int) -> float:
    samples = problem.samples
    hits = sum(s.correct and finished(s) and s.tokens <= budget for s in samples)
    return hits / len(samples) if samples else 0.0


@dataclass(frozen=True)
class BudgetPoint:
    budget: int
    baseline: float
    tuned: float
    baseline_se: float
    tuned_se: float
    delta: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Completed:
    """Correct among finished samples, and how many finished."""

    accuracy: float | None  # None when no sample finished
    finished: int
    samples: int

    @classmethod
    def of(cls, problems: list[ProblemRecord]) -> Completed:
        samples = [s for p in problems for s in p.samples]
        done = [s for s in samples if finished(s)]
        accuracy = sum(s.correct for s in done) / len(done) if done else None
        return cls(accuracy, len(done), len(samples))


@dataclass(frozen=True)
class TaskBudget:
    task: str
    max_new_tokens: int
    points: list[BudgetPoint]
    baseline_completed: Completed
    tuned_completed: Completed

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "max_new_tokens": self.max_new_tokens,
            "points": [asdict(p) for p in self.points],
            "completed_only": {
                "baseline": asdict(self.baseline_completed),
                "tuned": asdict(self.tuned_completed),
            },
        }

    def budget_to_match(self) -> int | None:
        """The smallest budget at which the tuned side reaches the baseline's accuracy at the full budget."""
        target = self.points[-1].baseline
        if target <= 0:  # nothing to reach
            return None
        return next((p.budget for p in self.points if p.tuned >= target), None)


def task_budget(baseline: TaskResult, tuned: TaskResult) -> TaskBudget:
    base, tune = paired_problems(baseline.problems, tuned.problems)
    limit = int(baseline.settings.get("max_new_tokens") or max(s.tokens for p in base for s in p.samples))
    points = []
    for budget in budget_grid(limit):
        b = np.array([pass1_within(p, budget) for p in base])
        t = np.array([pass1_within(p, budget) for p in tune])
        low, high = paired_t_ci(b, t) if len(b) else (float("nan"), float("nan"))
        (b_mean, b_se), (t_mean, t_se) = mean_and_se(b), mean_and_se(t)
        points.append(BudgetPoint(budget, b_mean, t_mean, b_se, t_se, float((t - b).mean()), low, high))
    return TaskBudget(baseline.task, limit, points, Completed.of(base), Completed.of(tune))
