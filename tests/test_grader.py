"""The one grader: every class of error it was found to make, fixed (invented examples, no benchmark items),
the same verdicts for the GRPO reward and the evaluation, robust batches, bounded pathological answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from recipes.protocol.grader import grade
from recipes.protocol.task_catalog import TASKS
from tests.conftest import REPO

DONE = "Let me work it out.\n</think>\n\n"  # an R1-style response closes its thinking before answering

MATH_CASES = [
    # 1. golds with an escaped dollar sign
    ("\\$4.75", "\\boxed{\\$4.75}", True),
    ("\\$4.75", "The total is \\boxed{4.75}.", True),
    ("\\$4.75", "\\boxed{5.75}", False),
    # 2. text answers compared without case
    ("\\text{square}", "\\boxed{\\text{Square}}", True),
    ("\\text{square}", "\\boxed{\\text{triangle}}", False),
    # 3. percentages in words, abbreviated, with and without the sign
    ("35", "\\boxed{35 percent}", True),
    ("35", "\\boxed{35 pct}", True),
    ("35", "\\boxed{35\\%}", True),
    ("35\\%", "\\boxed{35}", True),
    ("35\\%", "\\boxed{35\\%}", True),
    ("35", "\\boxed{36\\%}", False),
    # 4. lists that share only their last element, clock times, plus-or-minus, equations
    ("4, 7, \\text{ and } 11", "\\boxed{2, 6, \\text{ and } 11}", False),
    ("4, 7, 11", "\\boxed{2, 6, and 11}", False),
    ("4, 7, 11", "\\boxed{4, 7, and 11}", True),
    ("4:00", "\\boxed{10:00}", False),
    ("4:00", "\\boxed{4:00}", True),
    ("3", "\\boxed{\\pm 3}", False),
    ("\\pm 3", "\\boxed{-3, 3}", True),
    ("\\pm 3", "\\boxed{\\pm 3}", True),
    ("y = 3x - 2", "\\boxed{3x - y - 2 = 0}", True),
    ("y = 3x - 2", "\\boxed{y = 3x + 2}", False),
    # the graded region is after the last </think>
    ("\\frac{3}{4}", "maybe \\boxed{0.5}</think> so \\boxed{0.75}", True),
    ("\\frac{3}{4}", "maybe \\boxed{0.75}</think> so \\boxed{0.5}", False),
]


@pytest.mark.parametrize(("gold", "response", "expected"), MATH_CASES)
def test_each_class_of_math_error_is_fixed(gold, response, expected):
    framed = response if "</think>" in response else DONE + response
    assert grade(framed, gold, "math").correct is expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("\\boxed{C}\nA quick check of the other options confirms it.", "C"),  # 8.
        ("The answer is (B).\nAnswer: D", "D"),
        ("Answer: \\boxed{\\text{B}}", "B"),
        ("the answer is a bit subtle; I pick\n\n(C)", "C"),
        ("I cannot decide.", None),
        ("\\boxed{C) 4.2 eV}", "C"),
        ("ANSWER: b", "B"),
        ("I think the answer is option (C), since it fits", "C"),
        ("After analysis, option B is correct.", "B"),
        ("The answer is A bit tricky; the correct one is unclear.", None),
        ("The answer is (C).\n\nWhy not A? Answer: A would need more energy.", "C"),
    ],
)
def test_gpqa_letters(response, expected):
    assert grade(DONE + response, expected or "A", "letter").extracted == expected


def test_the_grpo_reward_and_the_evaluation_agree_on_every_response():
    from recipes.protocol.rewards import accuracy

    pairs = [(response, gold) for gold, response, _ in MATH_CASES]
    pairs += [(DONE + response, gold) for gold, response, _ in MATH_CASES]
    rewards = accuracy([r for r, _ in pairs], [g for _, g in pairs])
    assert rewards == [float(grade(r, g, "math").correct) for r, g in pairs]
    # an unparsable gold gives no reward at all, rather than punishing the answer
    assert accuracy(["\\boxed{1}"], ["\\text{see the figure"]) == [None]


@pytest.mark.parametrize(
    "answer",
    ["(" * 3000 + "1" + ")" * 3000, "10^{10^{10^{10}}}", "{" * 5000 + "}" * 5000, "x" * 50_000],
)
def test_pathological_answers_cost_milliseconds(answer):
    started = time.perf_counter()
    result = grade(f"{DONE}\\boxed{{{answer}}}", "5", "math")
    assert not result.correct and time.perf_counter() - started < 0.5


def test_ordinary_powers_are_not_pathological():
    assert grade(DONE + "\\boxed{e^{x^{2}}}", "e^{x^2}", "math").correct


def test_rescore_reports_malformed_rows_grades_the_rest_and_exits_1(tmp_path):
    path = tmp_path / "answers.jsonl"
    lines = [
        json.dumps({"task": "math_500", "response": "</think>\\boxed{2}", "gold": "2"}).encode(),
        json.dumps({"task": "gpqa:diamond", "response": "Answer: A", "gold": "E"}).encode(),  # gold not A-D
        b'{"task": "math_500", "response": "\\ud800 </think>\\\\boxed{3}", "gold": "3"}',  # a lone surrogate
        b'{"task": "math_500", "response": "caf\xe9 \\\\boxed{1}", "gold": "1"}',  # Latin-1, not UTF-8
        b"not json",
        json.dumps({"task": "hmmt25", "response": "1", "gold": "1"}).encode(),
        json.dumps({"task": "math_500", "response": "\\boxed{4}"}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = subprocess.run(
        [sys.executable, "-m", "eval.cli", "rescore", "--file", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for number, why in [
        (2, "is not one of A, B, C, D"),
        (4, "not UTF-8"),
        (5, "not JSON"),
        (6, "unknown task"),
        (7, "expected a JSON object"),
    ]:
        assert f"line {number}: " in result.stdout and why in result.stdout, result.stdout
    graded = [
        json.loads(line)
        for line in path.with_suffix(".rescored.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [g["correct"] for g in graded] == [True, True]
    assert "\ufffd" in graded[1]["response"]
    assert "math_500: 100.0% of 2 responses correct" in result.stdout


def test_the_math_500_fixture_has_an_escaped_dollar_gold_that_can_be_scored():
    rows = [
        json.loads(line)
        for line in (REPO / "tests/fixtures/eval_data/math_500/test.jsonl").read_text().splitlines()
    ]
    dollar = [r for r in rows if "\\$" in r["answer"]]
    assert dollar
    assert grade(f"{DONE}\\boxed{{{dollar[0]['answer']}}}", dollar[0]["answer"], "math").correct


def test_the_transformers_engine_samples_like_vllm_without_a_top_k_cut():
    """Hugging Face's generate() defaults to top-k 50; vLLM samples from the whole vocabulary. 300 one-token
    samples from the untrained tiny model (a near-uniform distribution over ~500 tokens) show more than 50
    different first tokens only when no top-k cut is applied."""
    from eval.engines.base import per_prompt
    from eval.engines.transformers_engine import TransformersEngine
    from eval.stores.generations import SamplingSettings
    from recipes.builtins import resolve

    engine = TransformersEngine(resolve("builtin:tiny-qwen2"), dtype="float32")
    ids = engine.tokenizer("What is 2 + 3?")["input_ids"]
    settings = SamplingSettings(n=300, temperature=1.0, top_p=1.0, max_new_tokens=1, seed=0)
    [(_, samples)] = list(per_prompt(engine, [ids], [0], settings))
    assert len({s.text for s in samples}) > 50


def test_a_long_response_that_never_closed_its_thinking_has_no_answer_unless_lenient():
    response = (
        "Let me think step by step. " * 1500
        + "We also tried 2^{2^{2^{2^{2}}}} and gave up. So \\boxed{\\frac12}"
    )
    assert len(response) > 30_000 and "</think>" not in response
    assert not grade(response, "\\frac{1}{2}", "math").correct
    started = time.perf_counter()
    assert grade(response, "\\frac{1}{2}", "math", unfinished="lenient").correct
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("2^{2^{2^{2}}}", "65536", True),  # a numeric tower that is a number
        ("e^{-e^{-x^{2}}}", "e^{-e^{-x^2}}", True),  # a symbolic tower
        ("10^{10^{10}}", "5", False),
        ("9^{9^{9}}", "5", False),
        ("(10^{6})!", "5", False),
        ("\\binom{10^{12}}{10^{6}}", "5", False),
        ("2^{2^{40}}", "5", False),
    ],
)
def test_numbers_too_large_to_write_are_refused_fast_and_real_towers_are_not(answer, gold, expected):
    started = time.perf_counter()
    assert grade(f"{DONE}\\boxed{{{answer}}}", gold, "math").correct is expected
    assert time.perf_counter() - started < 2


def test_the_last_box_is_the_answer_even_when_boxes_stand_close():
    assert grade(DONE + "\\boxed{3} wait, no: \\boxed{5}", "5", "math").correct


def test_rescore_survives_odd_values_and_never_leaves_an_empty_result(tmp_path):
    from eval.rescore import rescore_jsonl

    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"  # a byte-order mark
        + json.dumps({"task": "math_500", "response": "\\boxed{2}", "gold": "2"}).encode()
        + b'\n{"task": "math_500", "response": "\\\\boxed{1}", "gold": "1", "meta": {"note": "\\ud800"}}'
        + b'\n{"task": ["math_500"], "response": "x", "gold": "1"}\n'
    )
    result = rescore_jsonl(path)
    assert result.graded == 2 and result.skipped == [
        "line 3: unknown task ['math_500']; expected one of " + ", ".join(TASKS)
    ]
    rows = path.with_suffix(".rescored.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 2 and json.loads(rows[1])["meta"]["note"] == "\ufffd"
