"""The markup R1-style responses share: the thinking block and `\\boxed{...}` answers.

R1-Distill's generation prompt pre-fills `<think>\\n`, so a response is its reasoning, then `</think>`, then
the answer; a response that never closes its thinking is all reasoning (and its whole text is searched for
an answer). The chat template, the grader, the rewards and the reasoning analysis all read responses
through these helpers.
"""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
BOXED_OPEN = re.compile(r"\\boxed\s*\{")


def split_thinking(response: str) -> tuple[str, str, bool]:
    """(reasoning, answer part, whether the thinking was closed). Unclosed: the whole text is both."""
    if THINK_CLOSE in response:
        reasoning, answer = response.rsplit(THINK_CLOSE, 1)
        return reasoning, answer, True
    return response, response, False


def answer_region(response: str) -> str:
    """The part of a response that holds the final answer: after the last `</think>`, or all of it."""
    return split_thinking(response)[1]


def boxed_contents(text: str) -> list[str]:
    """The content of every outermost `\\boxed{...}` in order, braces balanced (an unclosed box is left out;
    a box inside another is part of the outer one's content)."""
    found: list[str] = []
    end = 0
    for match in BOXED_OPEN.finditer(text):
        if match.start() < end:
            continue
        start, depth = match.end(), 1
        for index in range(start, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:index])
                    end = index
                    break
    return found


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}`, braces balanced."""
    match = None
    for match in BOXED_OPEN.finditer(text):  # noqa: B007 - only the last opening counts
        pass
    if match is None:
        return None
    found = boxed_contents(text[match.start() :])
    return found[0] if found else None
