"""math-verify 0.9.0's own test suite (from its sdist on PyPI) through reasonlift's grader.

Every case math-verify runs under the settings reasonlift grades with must agree. Cases the suite runs
under other settings are graded too; each one where reasonlift's verdict differs is listed below with the
setting that explains it, and the test fails if that list is wrong in either direction.
"""

from __future__ import annotations

import pytest

from recipes.protocol.grader import grade
from tests.oracles.environments import fetched
from tests.oracles.math_verify_suite import load_cases, sdist_tests

# Cases whose verdict depends on a math-verify setting reasonlift does not use (it always extracts LaTeX,
# boxed first, and expressions; rounds to 6 digits; compares symbols strictly; never relates sets to
# inequalities).
DEPARTURES = {
    "test_all.py::test_number_extraction[6]": "expression-only extraction reads 1,22 as a decimal comma; "
    "with LaTeX extraction too it is the list 1, 22",
    "test_all.py::test_latex_notation[5]": "LaTeX-only extraction rejects math split over lines; the "
    "expression extraction reasonlift adds reads the 9",
    "test_all.py::test_latex_notation[6]": "likewise, for \\( \\n 9 \\n \\)",
    "test_all.py::test_complex_math_expressions[7]": "run at 2-digit precision; reasonlift compares 6 digits",
    "test_all.py::test_complex_math_expressions[13]": "run at 2-digit precision; reasonlift compares 6 digits",
    "test_all.py::test_set_rel_assymetry[2]": "run with allow_set_relation_comp; reasonlift keeps it off "
    "(an inequality is not the interval it describes unless written as one)",
    "test_strict.py::test_strict_variable_comparison[1]": "run with strict=False; reasonlift compares "
    "variable names strictly (f(y) is not f(x))",
}


@pytest.fixture(scope="module")
def cases():
    found, _ = load_cases(fetched("math-verify's sdist", sdist_tests))
    assert len(found) >= 250  # the suite as released: 260 gold/response cases
    return found


def test_agrees_with_math_verify_suite_except_listed_departures(cases):
    disagree = {
        c.test: c
        for c in cases
        if grade(c.response, c.gold, "math", thinking=False).correct is not c.expected
    }
    under_settings = [c for c in cases if c.under_grader_settings]
    assert not [t for t in disagree if disagree[t].under_grader_settings], (
        "a case under the grader's settings"
    )
    assert set(disagree) == set(DEPARTURES)
    assert all(not c.under_grader_settings for t, c in disagree.items())
    agreement = 1 - len(disagree) / len(cases)
    print(
        f"math-verify suite: {len(under_settings)}/{len(under_settings)} under the grader's settings, "
        f"{len(cases) - len(disagree)}/{len(cases)} in all ({100 * agreement:.1f}%)"
    )


def test_as_r1_responses_the_suite_grades_the_same_after_the_thinking(cases):
    """Framed as R1-Distill answers (reasoning, `</think>`, then the case's response), nothing changes; left
    unfinished (no `</think>`), no case earns credit: the one departure by design."""
    for case in cases[::5]:
        finished = grade(f"Let me think.\n</think>\n\n{case.response}", case.gold, "math")
        assert finished.correct is grade(case.response, case.gold, "math", thinking=False).correct, case.test
        unfinished = grade(case.response.replace("</think>", ""), case.gold, "math")
        assert not unfinished.correct and unfinished.extracted is None and not unfinished.finished
