"""reasonlift's thinking metrics against EvalScope ThinkBench's own code (1.14.1, in an environment of its own),
on the same invented R1-style responses and the same tokenizer.

ThinkBench finds the first correct paragraph with a judge model; here it is given the paragraph reasonlift's
grader found, so that what is compared is the counting and the aggregation. For each metric the test asserts
equality or the documented difference:
- reasoning tokens, switches (EvalScope's thought_num) and the reached rate (its accuracy): equal;
- first-correct tokens: reasonlift's step keeps the blank line that ends it, EvalScope joins paragraphs
  without it: reasonlift's count is EvalScope's plus that separator's tokens (0 for the last paragraph);
- reflection tokens and token efficiency in EvalScope's aggregation (over all samples, 0 where no first
  correct point was found): equal up to that separator.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from eval.models import load_tokenizer, token_counter
from eval.reasoning.metrics import analyse_sample, first_correct_step, split_reasoning, split_steps, summarise
from recipes.builtins.tiny_model import tiny_model_path
from tests.conftest import REPO
from tests.oracles.environments import evalscope_python, fetched

pytestmark = pytest.mark.slow

# Invented responses (no benchmark items): steps separated by blank lines, markers in several cases.
RESPONSES = [
    (
        "What is 17 + 25?",
        "42",
        "Add the units: 7 + 5 = 12.\n\nSo 17 + 25 = 42.\n\nWait, let me check: 42 - 25 = 17. Yes.\n</think>\n\n$\\boxed{42}$",
    ),
    (
        "What is 6 times 7?",
        "42",
        "Six sevens.\n\nBut wait, maybe it is 48?\n\nAlternatively, 7 + 7 + 7 + 7 + 7 + 7 = 42.\n\nAnother way: 6 x 7 = 42.\n</think>\n\n$\\boxed{42}$",
    ),
    (
        "Solve 2x = 10.",
        "5",
        "Divide both sides by 2.\n\nLet me reconsider the sign. Nothing changes.\n\nSo x = 5.\n</think>\n\nx = $\\boxed{5}$",
    ),
    (
        "Solve 3x = 12.",
        "4",
        "Divide by three.\n\nHmm, x = 3? ANOTHER APPROACH: check 3 x 3 = 9.\n\nWait, wait. Not it.\n</think>\n\n$\\boxed{3}$",
    ),
    (
        "What is 9 squared?",
        "81",
        "Nine nines: 9 x 9 = 81.\n\nAlternatively, (10 - 1)^2 = 100 - 20 + 1 = 81.\n\nAlternatively, another method gives 81 too.",
    ),
    ("What is 100 / 4?", "25", "A quarter of a hundred.\n\nThat is 100 / 4 = 25.\n</think>\n\n$\\boxed{25}$"),
    (
        "What is 2 + 2?",
        "4",
        "Two and two.\n\nbut wait, another angle on it: sets of two.\n\nStill unsure.\n</think>\n\n$\\boxed{5}$",
    ),
]


def _ours(counter):
    samples, paragraphs = [], []
    for _, gold, response in RESPONSES:
        generated = counter(response)  # as generated: the text round-trips through this tokenizer
        samples.append(analyse_sample(response, gold, "math", True, counter, generated_tokens=generated))
        index = first_correct_step(split_steps(split_reasoning(response)[0]), gold, "math")
        paragraphs.append(None if index is None else index + 1)  # EvalScope keeps paragraphs[:k]
    return samples, paragraphs


def _theirs(tokenizer_dir: str, paragraphs: list[int | None]) -> list[dict]:
    python = fetched("EvalScope", evalscope_python)
    job = {
        "tokenizer": tokenizer_dir,
        "items": [
            {"problem": p, "gold": g, "response": r, "paragraph": k}
            for (p, g, r), k in zip(RESPONSES, paragraphs, strict=True)
        ],
    }
    result = subprocess.run(
        [str(python), str(REPO / "tests" / "oracles" / "evalscope_thinkbench.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "MODELSCOPE_OFFLINE": "1", "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_thinking_metrics_match_evalscope_thinkbench():
    folder = str(tiny_model_path())
    counter = token_counter(load_tokenizer(folder))
    ours, paragraphs = _ours(counter)
    theirs = _theirs(folder, paragraphs)
    assert any(p is None for p in paragraphs) and any(p is not None for p in paragraphs)
    for (_, _, response), mine, its, paragraph in zip(RESPONSES, ours, theirs, paragraphs, strict=True):
        assert mine.reasoning_tokens == its["reasoning_tokens"], response
        assert mine.switches == its["thought_num"], response
        assert (mine.first_correct_tokens is not None) == bool(its["accuracy"]), response
        if paragraph is None:
            assert its["first_correct_tokens"] == 0
            continue
        paragraphs_text = split_reasoning(response)[0].split("\n\n")
        their_text = "\n\n".join(paragraphs_text[:paragraph])
        assert counter(their_text) == its["first_correct_tokens"], response
        # reasonlift's step ends with its blank line (none after the last paragraph)
        last = paragraph == len(paragraphs_text)
        assert mine.first_correct_tokens == counter(their_text + ("" if last else "\n\n")), response
    summary = summarise(ours)
    n = len(theirs)
    assert summary.reasoning_tokens == pytest.approx(sum(t["reasoning_tokens"] for t in theirs) / n)
    assert summary.switches == pytest.approx(sum(t["thought_num"] for t in theirs) / n)
    assert summary.reached_rate == pytest.approx(sum(t["accuracy"] for t in theirs) / n)
    gaps = sum(
        m.first_correct_tokens - t["first_correct_tokens"]
        for m, t in zip(ours, theirs, strict=True)
        if m.first_correct_tokens
    )
    assert summary.first_correct_tokens_all == pytest.approx(
        sum(t["first_correct_tokens"] for t in theirs) / n + gaps / n
    )
    assert summary.reflection_tokens_all == pytest.approx(
        sum(t["reflection_tokens"] for t in theirs) / n - gaps / n
    )
    theirs_efficiency = sum(t["token_efficiency"] for t in theirs) / n
    assert summary.efficiency_all == pytest.approx(
        theirs_efficiency, abs=2 / min(m.reasoning_tokens for m in ours)
    )
