"""The one answer checker: evaluation, `make rescore`, the reasoning analysis and the GRPO rewards all grade here.

`grade` asks the answer's kind (recipes.protocol.answer_kinds: math, letters) how to read and check it; the checks
themselves are in recipes.protocol.checking (math-verify 0.9 for math, with reasonlift's fixes: the final answer
located as a careful reader would, Unicode math, numbers below 1, words that turn an answer around, text golds;
GPQA letters in any language lighteval carries, hedges). The names other modules use are exported here.
"""

from __future__ import annotations

from recipes.protocol.answer_kinds import ANSWER_KINDS
from recipes.protocol.checking import (
    Grade,
    Unfinished,
    gold_parses,
    parse_gold,
    pathological,
    same_as_written,
)

__all__ = [
    "Grade",
    "Unfinished",
    "answer_span",
    "gold_parses",
    "grade",
    "parse_gold",
    "pathological",
    "same_as_written",
]


def grade(
    response: str,
    gold: str,
    kind: str,
    choices: tuple[str, ...] = (),
    *,
    thinking: bool = True,
    unfinished: Unfinished = "no_answer",
) -> Grade:
    """Grade `response` against `gold` as answers of `kind` are graded (recipes.protocol.answer_kinds: "math",
    or "letter" for multiple choice).

    `thinking`: the prompt opened a thinking block (R1-Distill's does). `unfinished`: what a response that
    never closed it earns: "no_answer" (nothing: it is wrong, counted as no answer) or "lenient" (its whole
    text is graded, as harnesses that ignore the thinking block do)."""
    return ANSWER_KINDS[kind].grade(response, gold, choices, thinking, unfinished == "lenient")


def answer_span(
    response: str,
    extracted: str | None,
    kind: str,
    choices: tuple[str, ...] = (),
    *,
    thinking: bool = True,
    unfinished: Unfinished = "no_answer",
) -> tuple[int, int] | None:
    """Where `grade` read `extracted` in `response`, found by the same location rules without parsing (so it
    runs anywhere, math-verify's timeout needs the main thread)."""
    if extracted is None:
        return None
    return ANSWER_KINDS[kind].span(response, extracted, choices, thinking, unfinished == "lenient")
