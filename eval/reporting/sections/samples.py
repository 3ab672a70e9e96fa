"""The W&B drill-down: a row per problem (each side's majority answer and pass@1) and a bounded table of samples."""

from __future__ import annotations

from eval.evaluate import ModelEvaluation
from eval.reporting.sections.base import Section
from eval.stores.records import SampleRow
from eval.stores.results import TaskResult

# The per-sample table: bounded, so a full compare (~10,000 samples of up to 32k tokens) stays a table W&B
# shows; each response is cut to its end (where the answer is).
MAX_SAMPLE_ROWS = 2000
RESPONSE_CHARS = 1500
SAMPLE_COLUMNS = [
    "task",
    "problem_id",
    "side",
    "sample",
    "response (end)",
    "extracted",
    "gold",
    "correct",
    "tokens",
    "finish_reason",
]
DRILLDOWN_COLUMNS = [
    "task",
    "problem_id",
    "gold",
    "baseline_answer",
    "baseline_pass1",
    "baseline_tokens",
    "tuned_answer",
    "tuned_pass1",
    "tuned_tokens",
    "change",
]


def sample_rows(baseline: TaskResult, tuned: TaskResult, limit: int) -> list[list]:
    """Each sample of both sides, problem by problem (both sides of a problem together), at most `limit`."""
    tuned_by_id = {p.problem_id: p for p in tuned.problems}
    rows: list[list] = []
    for b in baseline.problems:
        t = tuned_by_id.get(b.problem_id)
        if t is None:
            continue
        for side, result, problem in (("baseline", baseline, b), ("tuned", tuned, t)):
            for index in range(len(problem.samples)):
                row = SampleRow.of(result.task, problem, index)
                text = (
                    row.response
                    if len(row.response) <= RESPONSE_CHARS
                    else "…" + row.response[-RESPONSE_CHARS:]
                )
                rows.append(
                    [
                        row.task,
                        row.problem_id,
                        side,
                        row.sample,
                        text,
                        row.extracted,
                        b.gold,
                        row.correct,
                        row.tokens,
                        row.finish_reason,
                    ]
                )
        if len(rows) >= limit:
            break
    return rows[:limit]


def drilldown_rows(baseline: TaskResult, tuned: TaskResult) -> list[list]:
    """One row per problem: what each side answered (its majority answer) and how often it was right."""
    tuned_by_id = {p.problem_id: p for p in tuned.problems}
    return [
        [
            baseline.task,
            b.problem_id,
            b.gold,
            b.majority_answer,
            round(b.pass1, 4),
            round(b.mean_tokens, 1),
            t.majority_answer,
            round(t.pass1, 4),
            round(t.mean_tokens, 1),
            round(t.pass1 - b.pass1, 4),
        ]
        for b in baseline.problems
        if (t := tuned_by_id.get(b.problem_id)) is not None
    ]


class SamplesSection(Section):
    """On W&B only: the per-problem drill-down and the per-sample table (local files hold them all: details/)."""

    def __init__(self, baseline: ModelEvaluation, tuned: ModelEvaluation):
        self.baseline, self.tuned = baseline, tuned

    def wandb(self, run, wandb, logged: dict) -> None:
        names = list(self.baseline.results)
        logged["per_problem"] = wandb.Table(
            columns=DRILLDOWN_COLUMNS,
            data=[r for n in names for r in drilldown_rows(self.baseline.results[n], self.tuned.results[n])],
        )
        per_task = MAX_SAMPLE_ROWS // max(len(names), 1)  # every task gets its share
        logged["samples"] = wandb.Table(
            columns=SAMPLE_COLUMNS,
            data=[
                r
                for n in names
                for r in sample_rows(self.baseline.results[n], self.tuned.results[n], per_task)
            ],
        )
