"""The markup R1-style responses share: the thinking block and `\\boxed{...}` answers.

R1-Distill's generation prompt pre-fills `<think>\\n`, so a response is its reasoning, then `</think>`, then
the answer; a response that never closes its thinking is all reasoning (and has no final answer: see
recipes.protocol.answers). The chat template, the grader, the rewards and the reasoning analysis all read responses
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


def think_close_id(tokenizer) -> int | None:
    """The id of `</think>` when the tokenizer holds it as one token (R1-Distill's and the tiny model's do)."""
    if tokenizer is None:
        return None
    ids = tokenizer.encode(THINK_CLOSE, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def reasoning_token_count(generated_ids: list[int], close_id: int | None) -> int | None:
    """Generated tokens before the last `</think>` (all of them when it never came); None when `</think>`
    is not one token, so that its position among the ids is unknown."""
    if close_id is None:
        return None
    for position in range(len(generated_ids) - 1, -1, -1):
        if generated_ids[position] == close_id:
            return position
    return len(generated_ids)


def opens_thinking(prompt: str) -> bool:
    """Whether a rendered prompt leaves a thinking block open (R1-Distill's template pre-fills `<think>`)."""
    return prompt.rfind(THINK_OPEN) > prompt.rfind(THINK_CLOSE)


def _closing_braces(text: str) -> dict[int, int]:
    """Each `{` that is closed, mapped to its `}` (one pass, so thousands of unclosed boxes cost nothing)."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    for index, char in enumerate(text):
        if char == "{":
            stack.append(index)
        elif char == "}" and stack:
            closing[stack.pop()] = index
    return closing


def boxes(text: str) -> list[tuple[int, int, str]]:
    """Every outermost `\\boxed{...}`: (start of `\\boxed`, end after its closing brace, contents), braces
    balanced; an unclosed box is left out, and a box inside another is part of the outer one's contents."""
    found: list[tuple[int, int, str]] = []
    opens = list(BOXED_OPEN.finditer(text))
    if not opens:
        return found
    closing = _closing_braces(text)
    end = 0
    for match in opens:
        brace = match.end() - 1
        if match.start() < end or brace not in closing:
            continue
        found.append((match.start(), closing[brace] + 1, text[match.end() : closing[brace]]))
        end = closing[brace] + 1
    return found


def boxed_contents(text: str) -> list[str]:
    """The content of every outermost `\\boxed{...}`, in order."""
    return [contents for _, _, contents in boxes(text)]
