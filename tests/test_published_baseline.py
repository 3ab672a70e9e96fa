"""The baseline set beside DeepSeek's published figure, on results built from the fixtures' problem ids."""

from __future__ import annotations

import json

from eval.comparison.published import check_baseline, check_lines, is_published_model
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult
from tests.conftest import REPO

PROTOCOL = {
    "n": 16,
    "temperature": 0.6,
    "top_p": 0.95,
    "max_new_tokens": 32768,
    "grading_unfinished": "lenient",
}


def _aime(correct_per_problem: list[int], settings: dict) -> TaskResult:
    rows = [
        json.loads(line)
        for line in (REPO / "tests/fixtures/eval_data/aime24/train.jsonl").read_text().splitlines()
    ]
    problems = []
    for index, right in enumerate(correct_per_problem):
        row = rows[index % len(rows)]
        samples = [SampleRecord("", 10, "stop", "1", i < right) for i in range(settings["n"])]
        problems.append(ProblemRecord(f"{row['id']}-{index}", str(row["answer"]), "h", samples))
    return TaskResult("aime24", "m", "f", settings, "d", "t", {}, problems)


def test_only_the_published_model_is_checked():
    assert is_published_model("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
    assert is_published_model("/models/deepseek-r1-distill-qwen-1.5b/")
    assert not is_published_model("outputs/sft-openr1-math")
    assert check_baseline("outputs/sft", {"aime24": _aime([5] * 30, PROTOCOL)}) == []


def test_a_baseline_that_reproduces_and_one_that_does_not():
    # 30 problems at 16 samples: about 29% correct, spread over problems
    near = [16] * 8 + [2] * 3 + [0] * 19  # 8 solved always, 3 sometimes: 28.8%
    [check] = check_baseline("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", {"aime24": _aime(near, PROTOCOL)})
    assert check.within and check.low < 0.289 < check.high and check.departures == []
    assert "reproduced" in check_lines([check])[0]

    short = {**PROTOCOL, "max_new_tokens": 8192, "n": 4, "grading_unfinished": "no_answer"}
    far = [4] * 2 + [1] * 2 + [0] * 26  # about 8%
    [check] = check_baseline("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", {"aime24": _aime(far, short)})
    assert not check.within and check.high < 0.289
    line = check_lines([check])[0]
    assert line.startswith("warning:") and "max_new_tokens 8192 (DeepSeek: 32768)" in line
    assert "n 4 samples" in line and "unfinished" in line


def test_the_interval_is_sampling_noise_on_these_problems():
    """DeepSeek's figure is on the same 30 problems: a 19% baseline is not a reproduction of 28.9%, however
    wide the between-problem interval of a compare would be."""
    low = [16] * 5 + [4] * 3 + [0] * 22  # 19.2%
    [check] = check_baseline("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", {"aime24": _aime(low, PROTOCOL)})
    assert not check.within
    assert check.high - check.low < 0.06  # a few points, not the ±14 of the problem-level interval
