"""Accuracy under a token budget and completed-only accuracy, from saved generations."""

from __future__ import annotations

import numpy as np
import pytest

from eval.comparison.budget import budget_grid, task_budget
from eval.comparison.statistics import paired_t_ci
from eval.reporting.sections.budget import budget_line, budget_markdown
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult


def sample(tokens: int, correct: bool, finish: str = "stop") -> SampleRecord:
    return SampleRecord(text="", tokens=tokens, finish_reason=finish, extracted=None, correct=correct)


def result(problems: dict[str, list[SampleRecord]], limit: int = 8192) -> TaskResult:
    records = [ProblemRecord(problem_id=k, gold="1", prompt_hash="", samples=v) for k, v in problems.items()]
    return TaskResult(
        task="aime24",
        model="m",
        model_fingerprint="f",
        settings={"n": 2, "max_new_tokens": limit},
        data_fingerprint="d",
        chat_template_hash="c",
        metrics={},
        problems=records,
    )


def test_the_grid_doubles_up_to_max_new_tokens():
    assert budget_grid(32768) == [1024, 2048, 4096, 8192, 16384, 32768]
    assert budget_grid(48) == [1, 3, 6, 12, 24, 48]
    assert budget_grid(1) == [1]


def test_a_sample_counts_once_it_finished_correct_within_the_budget():
    baseline = result(
        {
            "p1": [sample(6000, True), sample(8192, False, "length")],  # long thinker
            "p2": [sample(900, True), sample(5000, True)],
            "p3": [sample(8192, True, "length"), sample(300, False)],  # correct text, but cut off
        }
    )
    tuned = result(
        {
            "p1": [sample(1500, True), sample(1900, True)],
            "p2": [sample(800, True), sample(8192, False, "length")],
            "p3": [sample(700, False), sample(600, False)],
            "p4": [sample(10, True), sample(10, True)],  # not in the baseline: not paired, not counted
        }
    )
    budget = task_budget(baseline, tuned)
    by_budget = {p.budget: p for p in budget.points}
    assert list(by_budget) == [256, 512, 1024, 2048, 4096, 8192]
    # baseline: p1 0 then 1/2 from 6000; p2 1/2 from 900, 1 from 5000; p3 never (cut off)
    assert by_budget[1024].baseline == pytest.approx((0 + 0.5 + 0) / 3)
    assert by_budget[8192].baseline == pytest.approx((0.5 + 1 + 0) / 3)
    assert by_budget[2048].tuned == pytest.approx((1 + 0.5 + 0) / 3)
    # the interval at each budget is the paired t interval over the three shared problems
    low, high = paired_t_ci(np.array([0, 0.5, 0]), np.array([1, 0.5, 0]))
    assert (by_budget[2048].ci_low, by_budget[2048].ci_high) == pytest.approx((low, high))
    assert budget.budget_to_match() == 2048  # tuned reaches the baseline's 8k pass@1 (50%) at 2k
    # completed-only: correct among the samples that finished (baseline: 3 of its 4)
    assert budget.baseline_completed.finished == 4 and budget.baseline_completed.accuracy == pytest.approx(
        3 / 4
    )
    assert budget.tuned_completed.finished == 5 and budget.tuned_completed.accuracy == pytest.approx(3 / 5)
    line = budget_line(budget)
    assert line.startswith("aime24: 256 ") and "8k 50.0%→50.0%" in line
    assert "tuned reaches the baseline's 8k pass@1 at 2k" in line
    assert "completed-only 75.0% (4/6 finished) → 60.0% (5/6 finished)" in line
    assert "| aime24 | 2k | 16.7% | 50.0% | +33.3 |" in budget_markdown([budget])
