"""What each side's answers cost to serve: output tokens per answer and per correct answer, and, when
`make perf` measured both models, seconds of serving per correct answer at the measured throughput.

A tuned model that is right more often but thinks much longer can cost more per correct answer; the
accuracy table alone hides that.
"""

from __future__ import annotations

from eval.evaluate import ModelEvaluation
from eval.stores.perf import load_perf
from eval.stores.results import TaskResult


def _tokens(result: TaskResult) -> dict[str, float | None]:
    samples = [s for p in result.problems for s in p.samples]
    total = sum(s.tokens for s in samples)
    correct = sum(s.correct for s in samples)
    return {
        "tokens_per_answer": total / len(samples) if samples else None,
        "tokens_per_correct": total / correct if correct else None,
        "correct_answers": correct,
        "answers": len(samples),
    }


def common_level(base_perf: dict | None, tuned_perf: dict | None) -> str | None:
    """The highest concurrency `make perf` measured for both models (the busiest comparable serving)."""
    if not base_perf or not tuned_perf:
        return None
    shared = set(base_perf.get("levels", {})) & set(tuned_perf.get("levels", {}))
    return max(shared, key=int) if shared else None


def serving_cost(baseline: ModelEvaluation, tuned: ModelEvaluation) -> list[dict]:
    perfs = load_perf(baseline.model.fingerprint), load_perf(tuned.model.fingerprint)
    level = common_level(*perfs)
    rows = []
    for task in baseline.results:
        row: dict = {"task": task, "concurrency": int(level) if level else None}
        for side, evaluation, perf in (("baseline", baseline, perfs[0]), ("tuned", tuned, perfs[1])):
            numbers = _tokens(evaluation.results[task])
            rate = perf["levels"][level]["output_tokens_per_s"] if level and perf else None
            per_correct = numbers["tokens_per_correct"]
            numbers["output_tokens_per_s"] = rate
            numbers["seconds_per_correct"] = per_correct / rate if per_correct and rate else None
            row[side] = numbers
        row["ratio"] = {}
        for key in ("tokens_per_answer", "tokens_per_correct", "seconds_per_correct"):
            base, tuned_value = row["baseline"][key], row["tuned"][key]
            row["ratio"][key] = tuned_value / base if base and tuned_value is not None else None
        rows.append(row)
    return rows
