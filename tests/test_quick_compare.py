"""The analysis's fast check ("certainly different") never contradicts the grader: wherever it says two answers
differ, math-verify (through reasonlift's grader) says they are not equal. Checked on thousands of pairs of the
answers R1 writes in its reasoning (numbers, fractions, roots, powers, polynomials, intervals, tuples) and on
hand-made near misses, equalities written differently and notations readers disagree on."""

from __future__ import annotations

import random

import pytest

from eval.bench.synthetic import _expression, _math_gold
from recipes.protocol.grader import grade
from recipes.protocol.quick_compare import certainly_different

HAND_MADE = [
    # equal, written differently: never "different"
    ("0.75", "\\frac{3}{4}"),
    ("\\sqrt{12}", "2\\sqrt{3}"),
    ("(x+1)^2", "x^2+2x+1"),
    ("2x - 2x + 42", "42"),
    ("2^{10}", "1024"),
    ("6 \\cdot 7", "42"),
    ("\\sqrt[3]{27}", "3"),
    ("1000", "1,000"),
    ("ab", "ba"),
    ("0.3333333", "\\frac{1}{3}"),
    ("1.414214", "\\sqrt{2}"),
    ("√12", "2\\sqrt{3}"),
    ("50", "50\\%"),
    # near misses and what readers disagree on: left to math-verify
    ("3.1416", "\\pi"),
    ("2^{0.5}", "\\sqrt{2}"),
    ("\\frac12", "0.5"),
    ("a/2b", "1"),
    ("e", "2.718281828"),
    ("x^23", "x^{23}"),
    # different, and said so at once
    ("17", "\\frac{3}{4}"),
    ("2\\sqrt{3}", "3\\sqrt{2}"),
    ("2n+1", "2x+1"),
    ("3x^2 + 5x - 10", "42"),
    ("2", "(2,3)"),
    ("(1,3]", "5"),
]


def _pairs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        gold = _math_gold(rng, "math_500") if rng.random() < 0.7 else _expression(rng)
        pairs.append((rng.choice([_expression(rng), _math_gold(rng, "math_500"), gold]), gold))
    return pairs


@pytest.mark.parametrize("seed", [1, 2])
def test_certainly_different_never_contradicts_math_verify(seed):
    pairs = [*_pairs(1200, seed), *HAND_MADE]
    said_different = [(a, g) for a, g in pairs if certainly_different(a, g)]
    contradicted = [
        (a, g) for a, g in said_different if grade(f"\\boxed{{{a}}}", g, "math", thinking=False).correct
    ]
    assert contradicted == []
    assert len(said_different) > len(pairs) // 2  # and it decides most of them: that is its purpose


def test_equal_values_and_unreadable_notation_are_left_to_math_verify():
    undecided = HAND_MADE[:19]
    assert [pair for pair in undecided if certainly_different(*pair)] == []
    assert all(certainly_different(*pair) for pair in HAND_MADE[19:])
