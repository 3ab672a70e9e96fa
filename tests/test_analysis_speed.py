"""The thinking analysis at the cost of grading, with the figures it always gave.

tests/fixtures/analysis_reference.jsonl.gz holds invented R1-style responses (synthetic ones and hand-written
cases: candidates only math-verify can decide, Unicode math, repeated intermediate results, letters) with the
figures the analysis computed for each before it was made fast (every step searched with the grader, every text
re-tokenised). The fast analysis (a search shared by each problem's samples, cheap comparisons first, processes,
a cache) must give the same figures, sample by sample.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict

import pytest

from eval.models import token_counter
from eval.reasoning.analysis import analyse_task
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult
from recipes.builtins.tiny_model import tiny_model_path
from recipes.schema import AnalysisSpec
from tests.conftest import REPO

REFERENCE = REPO / "tests" / "fixtures" / "analysis_reference.jsonl.gz"


def _reference() -> list[dict]:
    with gzip.open(REFERENCE, "rt") as f:
        return [json.loads(line) for line in f]


def _results(rows: list[dict]) -> dict[str, TaskResult]:
    by_task: dict[str, dict[str, ProblemRecord]] = {}
    for row in rows:
        problems = by_task.setdefault(row["task"], {})
        problem = problems.setdefault(
            row["problem_id"], ProblemRecord(row["problem_id"], row["gold"], "h", [])
        )
        problem.samples.append(
            SampleRecord(
                text=row["text"],
                tokens=row["tokens"],
                finish_reason=row["finish_reason"],
                extracted=None,
                correct=row["correct"],
                reasoning_tokens=row["reasoning_tokens"],
            )
        )
    return {
        task: TaskResult(task, "m", f"fingerprint-{task}", {"n": 1}, "d", "c", {}, list(problems.values()))
        for task, problems in by_task.items()
    }


def _expected(rows: list[dict], result: TaskResult) -> list[dict]:
    """The reference figures in the result's sample order (problem by problem)."""
    flat = [r for p in result.problems for r in rows if r["problem_id"] == p.problem_id]
    assert len(flat) == sum(len(p.samples) for p in result.problems)
    return [r["figures"] for r in flat]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_fast_analysis_gives_todays_figures_sample_by_sample(workers, isolated_cache, monkeypatch):
    import eval.reasoning.analysis as analysis

    monkeypatch.setattr(analysis, "PARALLEL_MIN_CHARS", 0)  # the process pool even for this small set
    rows = _reference()
    count = token_counter(str(tiny_model_path()))
    found = 0
    for task, result in _results(rows).items():
        analysed = analyse_task(
            result,
            count,
            AnalysisSpec(),
            tokenizer_source=str(tiny_model_path()),
            workers=workers,
            cache=False,
        )
        got = [asdict(s) for s in analysed.samples[None]]
        for mine, before in zip(got, _expected(rows, result), strict=True):
            assert {k: mine[k] for k in before} == before, task
            found += before["first_correct_tokens"] is not None
    assert found >= 20  # the set exercises the search, not only samples that never reach the gold


def test_a_second_analysis_is_read_from_the_cache_without_tokenising(isolated_cache):
    rows = _reference()
    result = _results(rows)["math_500"]
    counted = []
    real = token_counter(str(tiny_model_path()))

    def count(text: str) -> int:
        counted.append(len(text))
        return real(text)

    first = analyse_task(result, count, AnalysisSpec())
    assert counted  # the first analysis tokenised the prefixes it needed
    counted.clear()
    second = analyse_task(result, count, AnalysisSpec())
    assert counted == [] and second.samples == first.samples
    analyse_task(result, count, AnalysisSpec(switch_markers=["hmm"]))  # other settings: computed again
    assert counted


def test_a_degenerate_trace_is_cut_at_the_bound_and_counted():
    """1,000 steps, each stating a different interval (only math-verify can judge those): the search stops
    after MAX_CHECKS decisions instead of costing seconds, and the sample says it was cut."""
    import time

    from eval.reasoning.first_correct import MAX_CHECKS
    from eval.reasoning.metrics import analyse_sample, summarise

    steps = [f"So $S = ({i}, {i + 1}]$." for i in range(1000)]
    response = "\n\n".join(steps)
    words = lambda text: len(text.split())  # noqa: E731
    started = time.perf_counter()
    sample = analyse_sample(response, "(-1,0]", "math", False, words, reasoning_tokens=5000)
    assert time.perf_counter() - started < 5.0
    assert sample.search_cut and sample.first_correct_tokens is None
    assert summarise([sample]).search_cut == 1 and MAX_CHECKS < 1000
