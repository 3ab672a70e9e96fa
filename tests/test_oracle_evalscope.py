"""reasonlift's thinking metrics against EvalScope ThinkBench's own code (1.14.1, in an environment of its own),
on the same invented R1-style responses and the same tokenizer.

ThinkBench finds the first correct paragraph with a judge model. Here the judge's seat is taken by a deterministic
judge that is *not* reasonlift's rule (tests/oracles/evalscope_thinkbench.py: the first of EvalScope's paragraphs
that mentions the reference answer as a number), so the first-correct point comes from two independent sources:
reasonlift's `first_correct_step` (math-verify on the answers a step states) and EvalScope's split plus that judge.
For each metric the test asserts equality or a listed departure:
- reasoning tokens and switches (EvalScope's thought_num): equal, on every response;
- the first correct paragraph: the same index, except where the two rules differ (DEPARTURES: a number mentioned
  in passing is not a step that states it);
- reached (EvalScope's accuracy): EvalScope keeps the paragraphs *before* the judge's index, so an answer in the
  first paragraph counts as not reached there (useful tokens 0); reasonlift counts it;
- first-correct tokens: reasonlift counts through the step that reaches the answer and its blank line, EvalScope
  stops before that paragraph;
- reflection tokens and efficiency follow from those two.
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
        "What is 6 times 7?",
        "42",
        "Probably 42 or 48, I do not remember.\n\nCompute: 6 x 7 = 42.\n\nWait, 7 x 6 = 42 as well.\n</think>\n\n$\\boxed{42}$",
    ),
    (
        "What is 2 + 2?",
        "4",
        "Two and two.\n\nbut wait, another angle on it: sets of two.\n\nStill unsure.\n</think>\n\n$\\boxed{5}$",
    ),
]


# response index -> why the judge's paragraph differs from reasonlift's first correct step
DEPARTURES = {
    6: "the judge takes the first mention of 42 ('42 or 48' as a guess); reasonlift the first step that states "
    "it as a result ('= 42')",
}


def _ours(counter):
    samples, steps = [], []
    for _, gold, response in RESPONSES:
        generated = counter(response)  # as generated: the text round-trips through this tokenizer
        samples.append(analyse_sample(response, gold, "math", True, counter, generated_tokens=generated))
        index = first_correct_step(split_steps(split_reasoning(response)[0]), gold, "math")
        steps.append(-1 if index is None else index)
    return samples, steps


def _theirs(tokenizer_dir: str) -> list[dict]:
    python = fetched("EvalScope", evalscope_python)
    job = {
        "tokenizer": tokenizer_dir,
        "items": [{"problem": p, "gold": g, "response": r} for p, g, r in RESPONSES],
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
    ours, our_steps = _ours(counter)
    theirs = _theirs(folder)
    judged = [t["judge_index"] for t in theirs]
    # the two sources disagree exactly where listed, and between them cover found, first-paragraph and none
    assert {i for i, (a, b) in enumerate(zip(our_steps, judged, strict=True)) if a != b} == set(DEPARTURES)
    assert {-1, 0} <= set(judged) and any(j > 0 for j in judged)
    for number, ((_, _, response), mine, its) in enumerate(zip(RESPONSES, ours, theirs, strict=True)):
        assert mine.reasoning_tokens == its["reasoning_tokens"], response
        assert mine.switches == its["thought_num"], response
        paragraphs = split_reasoning(response)[0].split("\n\n")
        judge = its["judge_index"]
        # EvalScope keeps the paragraphs before the judge's index: an answer in the first paragraph is not reached
        assert its["accuracy"] == (1 if judge > 0 else 0), response
        assert its["first_correct_tokens"] == (counter("\n\n".join(paragraphs[:judge])) if judge > 0 else 0)
        step = our_steps[number]
        assert (mine.first_correct_tokens is not None) == (step >= 0), response
        if step >= 0:  # through the step that reaches it, and its blank line (none after the last paragraph)
            last = step + 1 == len(paragraphs)
            kept = "\n\n".join(paragraphs[: step + 1]) + ("" if last else "\n\n")
            assert mine.first_correct_tokens == counter(kept), response
    summary = summarise(ours)
    n = len(theirs)
    assert summary.reasoning_tokens == pytest.approx(sum(t["reasoning_tokens"] for t in theirs) / n)
    assert summary.switches == pytest.approx(sum(t["thought_num"] for t in theirs) / n)
    # reached: where the judge agrees with reasonlift and found the answer after the first paragraph
    agreed = [i for i in range(n) if i not in DEPARTURES and judged[i] != 0]
    assert all(bool(theirs[i]["accuracy"]) == (our_steps[i] >= 0) for i in agreed)
    assert summary.reached_rate == pytest.approx(sum(s >= 0 for s in our_steps) / n)
