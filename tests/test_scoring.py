import pytest

from recipes.protocol.grader import grade


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        ("so the answer is \\boxed{\\frac12}", "0.5", True),
        ("</think>\n\nThe answer is $\\boxed{0.5}$.", "\\frac{1}{2}", True),
        ("\\boxed{\\dfrac{3}{4}}", "0.75", True),
        ("The answer is $\\boxed{(1, 3]}$", "(1,3]", True),
        ("The answer is $\\boxed{[1, 3)}$", "(1,3]", False),
        ("\\boxed{\\{1,2\\}}", "\\{2,1\\}", True),
        ("\\boxed{3\\sqrt{2}}", "3\\sqrt2", True),
        ("We get x = \\boxed{-\\frac{2}{3}}, done.", "-\\frac23", True),
        ("Lots of text before. Final answer: $\\boxed{204}$. Some text after.", "204", True),
        ("\\boxed{205}", "204", False),
        ("no answer at all", "5", False),
    ],
)
def test_math_hard_cases(response, gold, correct):
    # responses of a model that does not think (no thinking block to close)
    assert grade(response, gold, "math", thinking=False).correct is correct


def test_only_text_after_the_last_think_close_is_graded():
    # the model considered 3 while thinking, then answered 7
    assert grade("maybe \\boxed{3}\n</think>\n\nSo \\boxed{7}", "7", "math").correct
    assert not grade("maybe \\boxed{7}\n</think>\n\nSo \\boxed{3}", "7", "math").correct


def test_unclosed_think_block_has_no_final_answer_unless_lenient():
    # the opening <think> was pre-filled in the prompt; the model never closed it (ran out of tokens)
    response = "Let me compute. 40 + 2 = 42, so \\boxed{42}. Wait, let me double check"
    result = grade(response, "42", "math")
    assert not result.correct and result.extracted is None and not result.finished
    assert grade(response, "42", "math", unfinished="lenient").correct


@pytest.mark.parametrize(
    "response",
    ["Answer: B", "the answer is (B)", "**Answer:** B", "Answer: $B$", "</think>\nThe correct option is B."],
)
def test_gpqa_letters_written_several_ways(response):
    assert grade(response, "B", "letter", thinking=False).correct
    assert grade(f"Thinking...</think>{response}", "B", "letter").correct


def test_gpqa_wrong_letter():
    result = grade("</think>Answer: C", "B", "letter")
    assert not result.correct and result.extracted == "C"


def test_extracted_answer_is_reported():
    assert grade("</think>\\boxed{12}", "12", "math").extracted == "12"
    assert grade("</think>nothing", "12", "math").extracted is None


def test_rescore_a_jsonl_of_responses(tmp_path):
    import json

    from eval.rescore import rescore_jsonl

    path = tmp_path / "answers.jsonl"
    rows = [
        {"task": "math_500", "response": "</think> \\boxed{\\frac{1}{2}}", "gold": "0.5"},
        {"task": "math_500", "response": "\\boxed{3}", "gold": "4"},
        {"task": "gpqa:diamond", "response": "Answer: D", "gold": "D", "thinking": False},
        {"task": "math_500", "response": "so \\boxed{4}, wait", "gold": "4"},  # never closed its thinking
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert rescore_jsonl(path).accuracy == {"math_500": 1 / 3, "gpqa:diamond": 1.0}
    graded = [json.loads(line) for line in path.with_suffix(".rescored.jsonl").read_text().splitlines()]
    assert [g["correct"] for g in graded] == [True, False, True, False]
    assert graded[3]["extracted"] is None


def test_rescore_a_file_of_a_model_that_does_not_think_or_leniently(tmp_path, capsys):
    import json

    from eval.rescore import rescore_jsonl

    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps({"task": "math_500", "response": "so \\boxed{4}", "gold": "4"}) + "\n")
    assert rescore_jsonl(path).accuracy == {"math_500": 0.0}
    assert "1 responses never closed their thinking" in capsys.readouterr().out
    assert rescore_jsonl(path, thinking=False).accuracy == {"math_500": 1.0}
    assert rescore_jsonl(path, unfinished="lenient").accuracy == {"math_500": 1.0}
