import math

import pytest

from recipes.protocol.rewards import (
    accuracy,
    build_rewards,
    check_reward_params,
    completion_text,
    make_cosine_accuracy,
    make_repetition_penalty,
    make_soft_overlong,
    tag_count,
    think_format,
)

GOOD = "3 + 4 = 7\n</think>\n\nThe answer is $\\boxed{7}$."


def conversational(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def test_completion_text_accepts_both_trl_formats():
    assert completion_text(GOOD) == GOOD
    assert completion_text(conversational(GOOD)) == GOOD


def test_accuracy():
    completions = [
        conversational(GOOD),
        conversational(GOOD.replace("{7}", "{8}")),
        "so\n</think>\n\n\\boxed{\\frac{14}{2}}",
        "\\boxed{7} but wait, let me check",  # never closed its thinking: no answer, no reward
    ]
    assert accuracy(completions, answer=["7", "7", "7", "7"]) == [1.0, 0.0, 1.0, 0.0]


def test_accuracy_grades_only_after_the_think_block():
    text = "maybe \\boxed{7}?\n</think>\n\nSo \\boxed{8}"
    assert accuracy([text], answer=["7"]) == [0.0]


def test_accuracy_skips_an_unparsable_gold_instead_of_punishing():
    assert accuracy(["\\boxed{5}", "\\boxed{5}"], answer=["\\frac{", ""]) == [None, None]


def test_accuracy_survives_a_pathological_answer():
    nasty = "</think>\\boxed{" + "(" * 2000 + "}"
    assert accuracy([nasty], answer=["1"]) == [0.0]


def test_format_knows_the_prefilled_think():
    assert think_format([GOOD]) == [1.0]
    assert think_format(["<think>\nreasoning\n</think>\n\n\\boxed{1}"]) == [0.0]  # opened a second block
    assert think_format(["reasoning but never closes \\boxed{1}"]) == [0.0]
    assert think_format(["</think>\n\n\\boxed{1}"]) == [0.0]  # no reasoning at all
    assert think_format(["reasoning\n</think>\n\n"]) == [0.0]  # no answer after thinking
    assert think_format(["a</think>b</think>c"]) == [0.0]


def test_tag_count_gives_partial_credit():
    assert tag_count([GOOD]) == [1.0]
    assert tag_count(["reasoning \\boxed{1}"]) == [0.25]  # only "no opening tag"
    assert tag_count(["x</think> answer without box"]) == [0.75]
    assert tag_count(["<think>x</think></think>"]) == [0.0]


def test_cosine_accuracy_shape():
    reward = make_cosine_accuracy(max_len=100)
    correct, wrong = GOOD, GOOD.replace("{7}", "{9}")
    ids = [[0] * 0, [0] * 50, [0] * 100, [0] * 400]
    values_correct = reward([correct] * 4, answer=["7"] * 4, completion_ids=ids)
    values_wrong = reward([wrong] * 4, answer=["7"] * 4, completion_ids=ids)
    assert values_correct == pytest.approx([1.0, 0.75, 0.5, 0.5])
    assert values_wrong == pytest.approx([-1.0, -0.75, -0.5, -0.5])
    # strictly better to be right, at any length
    assert min(values_correct) > max(values_wrong)
    assert reward([correct], answer=["\\frac{"], completion_ids=[[0]]) == [None]
    assert math.isclose(
        reward([correct], answer=["7"], completion_ids=[[0] * 25])[0],
        0.5 + 0.5 * (1 + math.cos(math.pi / 4)) / 2,
    )


def test_repetition_penalty():
    penalty = make_repetition_penalty(ngram_size=2, max_penalty=-1.0)
    assert penalty(["one two three four"]) == [0.0]
    # "a b" x3 -> bigrams: ab ba ab ba ab = 5, unique 2 -> 3/5 repeated
    assert penalty(["a b a b a b"]) == [pytest.approx(-0.6)]
    assert penalty(["short"]) == [0.0]
    with pytest.raises(ValueError):
        make_repetition_penalty(max_penalty=0.5)


def test_soft_overlong():
    reward = make_soft_overlong(max_len=100, buffer=20)
    ids = [[0] * n for n in (10, 80, 90, 100, 130)]
    assert reward(["x"] * 5, completion_ids=ids) == pytest.approx([0.0, 0.0, -0.5, -1.0, -1.0])
    with pytest.raises(ValueError):
        make_soft_overlong(max_len=10, buffer=20)


def test_build_rewards_names_and_weights():
    functions, weights = build_rewards(
        {"accuracy": {"weight": 1.0}, "cosine": {"weight": 0.5, "max_len": 64}}
    )
    assert [f.__name__ for f in functions] == ["accuracy", "cosine"]
    assert weights == [1.0, 0.5]


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("acuracy", {}, "did you mean 'accuracy'"),
        ("cosine", {}, "needs max_len"),
        ("soft_overlong", {"max_len": 10, "buff": 2}, "has no parameter 'buff'"),
    ],
)
def test_reward_params_are_checked(name, params, message):
    with pytest.raises(ValueError, match=message):
        check_reward_params(name, params)
