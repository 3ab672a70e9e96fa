"""Where the final answer is read: each class of the answer-location rules, on invented responses."""

from __future__ import annotations

import pytest

from recipes.protocol.grader import answer_span, grade

DONE = "Let me work through it.\n</think>\n\n"


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # 1. unfinished: a box inside the unfinished thinking, even one the reasoning goes on to reject
        ("Try x = 4, so \\boxed{4}. Hmm, that fails the second condition, so", "4", False),
        ("The sum is 17. Checking the carry again, the sum is 17", "17", False),
        # 2. several boxes after </think> are one answer
        (DONE + "The roots are $x=\\boxed{2}$ and $x=\\boxed{-3}$.", "2, -3", True),
        (DONE + "So $\\boxed{a=4}, \\boxed{b=7}$", "a=4, b=7", True),
        (DONE + "(a) $\\boxed{6}$ (b) $\\boxed{11}$", "6, 11", True),
        # ... but an intermediate box followed by prose and a final box is the final box
        (DONE + "First $|v| = \\boxed{13}$. Squaring, the area is $\\boxed{169}$.", "169", True),
        (DONE + "First $|v| = \\boxed{13}$. Squaring, the area is $\\boxed{169}$.", "13", False),
        (DONE + "\\boxed{3} wait, no: \\boxed{5}", "5", True),
        # 3. a final statement after an intermediate box wins over it
        (DONE + "So $|v| = \\boxed{13}$. The area is its square.\n\nThe final answer is 169.", "169", True),
        (DONE + "So $|v| = \\boxed{13}$.\n\nFinal Answer: 169", "169", True),
        (DONE + "So $|v| = \\boxed{13}$.\n\n**Answer: 169**", "169", True),
        (DONE + "So $|v| = \\boxed{13}$.\n\n**Answer:** $169$", "169", True),
        # the converse: an intermediate box equal to the gold, then a different stated final answer
        (DONE + "So $|v| = \\boxed{13}$.\n\nThe final answer is 169.", "13", False),
        # prose after a box is not a statement of the answer
        (DONE + "So the area is $\\boxed{169}$. The answer is the square of 13.", "169", True),
        (DONE + "$\\boxed{42}$\n\nThe answer is consistent with both checks.", "42", True),
        # 6. text and units in a box, thousands separators in a statement
        (DONE + "The rope is $\\boxed{\\text{7 m}}$ long.", "7", True),
        (DONE + "The rope is $\\boxed{\\text{8 m}}$ long.", "7", False),
        (DONE + "They meet at $\\boxed{3:15 \\text{ p.m.}}$", "\\text{3:15 p.m.}", True),
        (DONE + "They meet at $\\boxed{4:15 \\text{ p.m.}}$", "\\text{3:15 p.m.}", False),
        (DONE + "The final answer is 12,345.", "12345", True),
        (DONE + "Final Answer: 12,345", "12345", True),
        (DONE + "The final answer is 12 cm.", "12", True),  # a unit after the number is text
        (DONE + "Final Answer: 8 apples", "7", False),
        # a verbatim text comparison never equates different fractions or cases
        (DONE + "$\\boxed{\\frac{11}{2}}$", "\\frac{1}{12}", False),
        (DONE + "$\\boxed{\\frac{23}{4}}$", "\\frac{2}{34}", False),
        # a clause after the answer in a statement is not part of it
        (DONE + "$\\boxed{6}$\n\nThe answer is 6, which is the number of ways.", "6", True),
        (DONE + "$\\boxed{7}$\n\nThe answer is x = 7, as required.", "7", True),
        (DONE + "$\\boxed{7}$\n\nAnswer: (see above)", "7", True),
        (DONE + "$\\boxed{12}$\n\nThe final answer is 12 (in square units).", "12", True),
        (DONE + "$\\boxed{2}$\n\nSo the answer is $\\frac{1}{2}$ of the original, i.e. 2.", "2", True),
        # the last statement on a line wins
        (DONE + "The answer is 5. Wait, no: the final answer is 7.", "7", True),
        (DONE + "Answer: 5. Correction, Answer: 7", "7", True),
        # an operator between boxes makes them a computation, not a list
        (DONE + "$\\boxed{3} \\cdot \\boxed{4} = \\boxed{12}$", "12", True),
        (DONE + "$\\boxed{3} \\implies \\boxed{12}$", "12", True),
        # a response that boxed its answer is never graded on its prose
        (DONE + "We found $x = 7$ earlier but I am unsure.\n\n\\boxed{}", "7", False),
        # a gold math-verify cannot read is compared against every located answer
        (DONE + "$\\boxed{\\cos^2 t}$\n\nThe answer is $\\cos^2 t$, as shown.", "\\cos^2 t", True),
    ],
)
def test_math_answer_location(response, gold, correct):
    graded = grade(response, gold, "math")
    assert graded.correct is correct
    # the viewer's regex-only location agrees with the grader's, wherever the grader read an answer
    if graded.span is not None:
        assert answer_span(response, graded.extracted, "math") == graded.span


def test_unfinished_responses_are_no_answer_and_lenient_reads_the_whole_text():
    response = "Try x = 4, so \\boxed{4}. Hmm, that fails the second condition, so"
    strict = grade(response, "4", "math")
    assert (strict.correct, strict.extracted, strict.finished) == (False, None, False)
    assert grade(response, "4", "math", unfinished="lenient").correct
    # a model that does not think has no thinking block to leave open
    assert grade("so \\boxed{4}", "4", "math", thinking=False).correct
    # ... unless it opens one itself
    assert not grade("<think>so \\boxed{4}", "4", "math", thinking=False).correct


def test_the_span_points_at_the_answer_that_was_read():
    response = DONE + "So $|v| = \\boxed{13}$.\n\nFinal Answer: 169"
    result = grade(response, "169", "math")
    start, end = result.span
    assert response[start:end] == "169"
    response = DONE + "The roots are $x=\\boxed{2}$ and $x=\\boxed{-3}$."
    start, end = grade(response, "2, -3", "math").span
    assert response[start:end] == "\\boxed{2}$ and $x=\\boxed{-3}"


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        # 4. the letter need not end its phrase
        ("ANSWER: (B) 42 kJ", "B"),
        ("The answer is (B) 42 kJ.", "B"),
        ("Answer: D) 2.0×10⁵ s", "D"),
        ("**Final Answer: (C) the second isomer**", "C"),
        ("Both fit, but I'd go with D", "D"),
        ("I will choose (A) because the spin is conserved.", "A"),
        # the last explicit statement wins
        ("ANSWER: A\n\nOn reflection the sign is wrong.\n\nANSWER: (B) 0.2 T", "B"),
        ("\\boxed{C}\n\nOn reflection, Answer: (A)", "A"),
        # a box holding a quantity is not an option
        ("The field is $\\boxed{B = 0.2\\,\\text{T}}$.\n\nAnswer: C", "C"),
        ("The field is $\\boxed{B = 0.2\\,\\text{T}}$.", None),
        ("$\\boxed{(D)}$", "D"),
        ("$\\boxed{\\text{D}}$", "D"),
        # still nothing where no option was named
        ("The answer is A bit tricky; the correct one is unclear.", None),
        ("The answer: a = 5 is not among them.", None),
        ("The correct answer is C because the ring strain is lower.", "C"),
        ("So the answer is B as it conserves charge.", "B"),
        ("The final answer is D since nothing else fits.", "D"),
        ("Answer: C\nexplanation follows", "C"),
        ("Answer: B\n\nThe answer is a Diels-Alder adduct.", "B"),
        ("The answer is D-glucose-derived, so Answer: A", "A"),
        ("Answer: (B)\n\nOne might think the answer is (A), but no.", "B"),
        ("$\\boxed{c}$", "C"),
        ("Choice: (C)", "C"),
        ("I choose to compute the energy first.", None),
        ("Answer: A and B are both wrong, so the correct option is C", "C"),
        ("Option A is incorrect.", None),
    ],
)
def test_gpqa_answer_location(response, letter):
    graded = grade(DONE + response, letter or "A", "letter")
    assert graded.extracted == letter
    assert answer_span(DONE + response, graded.extracted, "letter") == graded.span


def test_an_unfinished_gpqa_response_has_no_letter():
    result = grade("The spin is conserved, so ANSWER: B. But wait", "B", "letter")
    assert (result.correct, result.extracted, result.finished) == (False, None, False)
    assert grade("The spin is conserved, so ANSWER: B. But wait", "B", "letter", unfinished="lenient").correct


def test_a_gold_math_verify_cannot_parse_is_compared_as_text_and_counted():
    from eval.stores.results import ProblemRecord, SampleRecord, TaskResult
    from recipes.protocol.grader import gold_parses

    assert not gold_parses("\\cos^2 t")
    assert grade(DONE + "So $\\boxed{\\cos^2 t}$.", "\\cos^2 t", "math").correct
    assert grade(DONE + "So $\\boxed{\\cos^{2} t}$.", "\\cos^2 t", "math").correct  # braces are notation
    assert not grade(DONE + "So $\\boxed{\\sin^2 t}$.", "\\cos^2 t", "math").correct
    sample = SampleRecord(text="", tokens=1, finish_reason="stop", extracted=None, correct=False)
    problems = [ProblemRecord(pid, gold, "h", [sample]) for pid, gold in [("p1", "\\cos^2 t"), ("p2", "7")]]
    result = TaskResult("math_500", "m", "f", {}, "d", "t", {}, problems)
    assert result.unparsed_golds() == ["p1"]


def test_every_fixture_and_toy_gold_parses():
    import json

    from recipes.builtins.toy_data import toy_dataset_path
    from recipes.protocol.grader import gold_parses
    from tests.conftest import REPO

    files = [
        *sorted((REPO / "tests/fixtures/eval_data").glob("*/*.jsonl")),
        *toy_dataset_path().glob("eval/*.jsonl"),
    ]
    golds = [
        json.loads(line)["answer"]
        for path in files
        if "gpqa" not in str(path)
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    assert len(golds) >= 30
    assert [g for g in golds if not gold_parses(str(g))] == []


def test_the_unfinished_rule_flows_from_the_recipe_to_the_metric_and_the_compare_settings():
    from eval.harness.tasks import task_config
    from eval.settings import resolve_tasks
    from recipes.schema import EvalSpec

    [strict] = resolve_tasks(EvalSpec(tasks=["aime24"]))
    [lenient] = resolve_tasks(EvalSpec(tasks=["aime24"], grading={"unfinished": "lenient"}))
    assert strict.describe()["grading_unfinished"] == "no_answer"
    assert lenient.describe()["grading_unfinished"] == "lenient"
    metric = task_config(lenient).metrics[0].sample_level_fn
    assert metric.unfinished == "lenient"


def test_a_bad_unfinished_value_names_the_key(tmp_path):
    from recipes.errors import UserError
    from recipes.loader import load_recipe
    from tests.conftest import write_recipe

    path = write_recipe(tmp_path / "r.yaml", **{"eval.grading": {"unfinished": "whole"}})
    with pytest.raises(UserError) as err:
        load_recipe(path)
    assert "eval.grading.unfinished" in str(err.value) and "lenient" in str(err.value)


@pytest.mark.parametrize(
    "response",
    [
        DONE + "answer" + " " * 30_000 + "x",
        DONE + "The answer" + "\n" * 20_000 + "7",
        DONE + "Final answer: 7" + " " * 8_000 + "ok",
        DONE + "\\boxed{" * 5_000 + "7",
        DONE + ("Step: \\boxed{1}. Then the answer is 2. " * 800) + "\\boxed{7}",
    ],
)
def test_degenerate_responses_grade_fast(response):
    import time

    started = time.perf_counter()
    grade(response, "7", "math")
    grade(response, "A", "letter")
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        # the option word, brackets, quotes, bold, "is:" before the letter
        ("Answer: Option B", "B"),
        ("Answer: option (C)", "C"),
        ("Answer: [D]", "D"),
        ("Answer: 'A'", "A"),
        ('Answer: "B"', "B"),
        ("Answer: **C**", "C"),
        ("The correct answer is: B", "B"),
        ("The answer is **(C)**.", "C"),
        ("The final answer is: [A]", "A"),
        # full-width letters and colons, read one character for one (the span stays on the response)
        ("答案：Ｂ", "B"),
        ("Ａｎｓｗｅｒ： （Ｃ）", "C"),
        # other languages (the oracle test checks every language lighteval carries)
        ("最终答案：C", "C"),
        ("答案是B。", "B"),
        ("Die Antwort lautet D.", "D"),
        ("La bonne réponse est C.", "C"),
        ("Правильный ответ — B.", "B"),
        ("正解は B です。", "B"),
        ("정답: C", "C"),
        # hedges: two options or more after the final marker are no single answer
        ("Answer: B or C", None),
        ("Answer: either A or D", None),
        ("Answer: (B) or (D)", None),
        ("Answer: B/C", None),
        ("Answer: B, C", None),
        ("Answer: B or possibly C", None),
        ("The answer is B or C.", None),
        ("答案：B或C", None),
        ("Antwort: B oder C", None),
        # ... but a later answer settles it, options listed inside a sentence are no hedge, and words are words
        ("Answer: B or C\n\nAfter checking again, Answer: C", "C"),
        ("Answer: B and C are both wrong, so the correct option is D", "D"),
        ("Answer: B) 42 kJ or more", "B"),
        ("Answer: C (not A or B)", "C"),
    ],
)
def test_gpqa_phrasing_languages_and_hedges(response, letter):
    graded = grade(DONE + response, letter or "A", "letter")
    assert graded.extracted == letter
    assert answer_span(DONE + response, graded.extracted, "letter") == graded.span
    if graded.span:
        start, end = graded.span
        assert (DONE + response)[start:end].translate({0xFF21 + i: 0x41 + i for i in range(26)}) == letter


@pytest.mark.parametrize(
    ("answer", "gold", "correct"),
    [
        # Unicode math, as R1 writes it after </think>
        ("\\boxed{30°}", "30^\\circ", True),
        ("\\boxed{30°}", "30", True),
        ("\\boxed{√2/2}", "\\frac{\\sqrt{2}}{2}", True),
        ("\\boxed{3√3}", "3\\sqrt{3}", True),
        ("\\boxed{3√2}", "2\\sqrt{3}", False),
        ("\\boxed{2√(3)}", "2\\sqrt{3}", True),
        ("\\boxed{∛2}", "\\sqrt[3]{2}", True),
        ("\\boxed{x²+1}", "x^2+1", True),
        ("\\boxed{10⁻³}", "0.001", True),
        ("\\boxed{−5}", "-5", True),
        ("\\boxed{2×3^{4}}", "162", True),
        ("\\boxed{½}", "\\frac{1}{2}", True),
        ("\\boxed{x ≤ 2}", "x \\geq 2", False),
        ("The area is 4π.", "4\\pi", True),
        ("The final answer is 10√2 cm.", "10\\sqrt{2}", True),
        ("The area is 12 cm².", "12", True),  # a unit's power is the unit's
        ("\\boxed{12 cm²}", "12", True),
        # tiny numbers: equal under math-verify's 6-decimal rounding, different numbers all the same
        ("\\boxed{0.0000001}", "0.0000002", False),
        ("\\boxed{1.5\\times10^{-8}}", "3\\times10^{-8}", False),
        ("\\boxed{0.0012344}", "0.0012341", False),
        ("\\boxed{0.00000012}", "1.2\\times10^{-7}", True),
        ("\\boxed{0.333333}", "\\frac{1}{3}", True),  # six significant digits, as math-verify rounds at 1
        ("\\boxed{0.866025}", "\\frac{\\sqrt{3}}{2}", True),
        # a word that carries the meaning
        ("\\boxed{n \\text{ is odd}}", "n \\text{ is even}", False),
        ("\\boxed{12 \\text{ (maximum)}}", "12 \\text{ (minimum)}", False),
        ("\\boxed{3\\text{ even numbers}}", "3 \\text{ odd numbers}", False),
        ("\\boxed{4 \\text{ clockwise}}", "4 \\text{ counterclockwise}", False),
        ("The answer is at least 5.", "\\text{at most } 5", False),
        ("\\boxed{\\geq 7}", "\\leq 7", False),
        ("\\boxed{\\geq 7}", "\\ge 7", True),
        ("\\boxed{-2 \\text{ (negative)}}", "-2", True),  # the word agrees, or the gold has none
        ("\\boxed{12}", "12 \\text{ (minimum)}", True),
    ],
)
def test_unicode_math_tiny_numbers_and_words_that_carry_meaning(answer, gold, correct):
    assert grade(DONE + answer, gold, "math").correct is correct
