"""The contamination check: near-copies of evaluation problems in training data are found, others are not."""

import json

import pytest

from eval.comparison.pairing import compare_task
from eval.contamination.check import check_contamination
from eval.contamination.ngrams import OverlapIndex, words
from recipes import load_recipe
from recipes.builtins.toy_data import eval_rows, train_rows
from recipes.protocol.prompts import math_prompt
from tests.conftest import REPO, write_recipe

FIXTURES = REPO / "tests" / "fixtures" / "eval_data"
AIME = [json.loads(line) for line in (FIXTURES / "aime24" / "train.jsonl").read_text().splitlines()]


def test_normalised_words_ignore_case_spacing_and_latex_layout():
    assert words(r"Let $x^{2}+3x = \dfrac{1}{2}$.") == words(r"LET  x^2 + 3 x=\frac 1 2") == [
        "let", "x", "2", "3", "x", "frac", "1", "2"
    ]  # fmt: skip
    assert words(r"\left( a \right)\,\quad b") == ["a", "b"]


@pytest.mark.parametrize(
    "variant",
    [
        lambda t: t,
        lambda t: "  ".join(t.split()),  # whitespace
        lambda t: t.replace("^2", "^{2}").replace(" = ", "=").replace("$x$", r"$\,x\,$"),  # LaTeX spacing
        lambda t: t.upper(),  # capitalisation
        lambda t: "Problem 7. " + t + " Show your work.",  # inside a longer row
    ],
)
def test_near_copies_are_found_and_unrelated_problems_are_not(variant):
    problems = [row["problem"] for row in AIME]
    planted = AIME[1]["problem"]  # "Let $x$ be the positive real with $x^2 = 7x + 8$. Find $x$."
    rows = ["What is the capital of France?", "Solve $y^2 = 9$ for positive $y$.", variant(planted)]
    matches = OverlapIndex(problems).scan(rows)
    assert set(matches) == {1}
    assert matches[1].first_row == 2


def test_a_short_problem_needs_all_its_words_in_order():
    index = OverlapIndex(["What is 23 + 5?"])
    assert set(index.scan(["what is 23+5 ?"])) == {0}
    assert index.scan(["What is 23 + 6?", "5 + 23 is what"]) == {}


def _recipe(tmp_path, training_rows, tasks, data_dir=None):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in training_rows))
    overrides = {"train.dataset.path": str(data), "eval.tasks": tasks}
    if data_dir:
        overrides["eval.data_dir"] = str(data_dir)
    return load_recipe(write_recipe(tmp_path / "recipe.yaml", **overrides))


def _sft_row(problem: str) -> dict:
    return {
        "messages": [
            {"role": "user", "content": math_prompt(problem)},
            {"role": "assistant", "content": "<think>\nwork\n</think>\n\n$\\boxed{1}$"},
        ]
    }


def test_toy_training_data_is_clean_and_a_planted_problem_is_found(tmp_path, isolated_cache):
    planted = eval_rows()[4]
    rows = [*train_rows(), _sft_row(planted["problem"].replace(" + ", "+").lower())]
    report = check_contamination(_recipe(tmp_path, rows, {"toy_addition": {"n": 2}}))
    toy = report.tasks["toy_addition"]
    assert toy.problems == 30
    assert toy.contaminated == {planted["unique_id"]}
    assert report.training_rows == len(rows)
    clean = check_contamination(_recipe(tmp_path, train_rows(), {"toy_addition": {"n": 2}}))
    assert clean.tasks["toy_addition"].hits == []


def test_fixture_benchmarks_report_per_task(tmp_path, isolated_cache):
    rows = [*train_rows()[:50], _sft_row(AIME[2]["problem"].replace("$", "").replace("  ", " ").upper())]
    recipe = _recipe(tmp_path, rows, {"aime24": {"n": 1}, "math_500": {"n": 1}}, FIXTURES)
    report = check_contamination(recipe)
    assert report.tasks["aime24"].contaminated == {str(AIME[2]["id"])}
    assert report.tasks["aime24"].hits[0].training_row == 50
    assert report.tasks["math_500"].hits == []


def test_compare_reports_the_clean_subset_with_its_own_interval():
    from eval.stores.results import ProblemRecord, SampleRecord, TaskResult

    def result(scores):
        problems = [
            ProblemRecord(
                problem_id=f"p{i}",
                gold="1",
                prompt_hash=str(i),
                samples=[SampleRecord("", 1, "stop", "1" if s else "0", bool(s))],
            )
            for i, s in enumerate(scores)
        ]
        return TaskResult("t", "m", "f", {"n": 1}, "d", "c", {}, problems)

    base = result([0] * 10)
    tuned = result([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])  # gains on p0-p2 (seen) and p5
    comparison = compare_task(base, tuned, seen_in_training=frozenset({"p0", "p1", "p2"}))
    full, clean = comparison.rows
    assert full.seen_in_training == 3 and "3 seen in training" in full.label
    assert full.stats.delta == pytest.approx(0.4)
    assert clean.subset == "clean" and clean.stats.n_problems == 7
    assert clean.stats.delta == pytest.approx(1 / 7)
    assert clean.stats.ci_low <= 1 / 7 <= clean.stats.ci_high
