"""Where a response states its final answer, read as a careful reader would. The grader parses and compares
what these functions locate; nothing here compares answers.

The rules, in order (the README's "Where the answer is read" table says the same):
- R1-style responses start inside a thinking block (the prompt pre-fills `<think>`). The final answer is
  after the last `</think>`; a response that never closed its thinking has **no final answer** (unless the
  recipe grades leniently, `eval.grading.unfinished: lenient`, which reads the whole text).
- Math: the last group of boxes, boxes that stand together (`x=\\boxed{2} and x=\\boxed{-3}`,
  `\\boxed{a=4}, \\boxed{b=7}`, labelled parts) read as one answer, the way math-verify combines them; an
  intermediate box followed by prose and a final box is the final box alone. A final statement ("The final
  answer is 169", "Final Answer: 169", "**Answer:** 169") after the last box wins over it.
- Letters (GPQA): the last explicit choice wins: "Answer: (B) 42 kJ", "the answer is D) ...", a box holding
  an option letter, "I'd go with C". A box is a letter only when it holds one (`\\boxed{B = 0.2\\,T}` is a
  quantity, not option B). Failing all of these, a last line that is nothing but a letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recipes.protocol.markup import BOXED_OPEN, THINK_CLOSE, THINK_OPEN, boxes


@dataclass(frozen=True)
class Located:
    text: str  # the answer as written: box contents (joined for a group), or a statement's content
    start: int  # offsets of the answer in the whole response
    end: int
    how: str  # "boxes", "statement", "tail", "letter-box", "letter-statement", "letter-line"


def answer_region(response: str, *, thinking: bool = True, lenient: bool = False) -> tuple[str, int] | None:
    """The part of a response that may hold its final answer, and its offset; None when there is none.

    `thinking`: the prompt opened a thinking block (R1-Distill's template pre-fills `<think>`); a response
    that opens one itself counts the same. Such a response without a closing tag is unfinished."""
    if THINK_CLOSE in response:
        offset = response.rindex(THINK_CLOSE) + len(THINK_CLOSE)
        return response[offset:], offset
    if (thinking or THINK_OPEN in response) and not lenient:
        return None
    return response, 0


# What may stand between two boxes of one answer: connectives, labels of parts, math spacing and short
# left-hand sides (`x =`, `(b)`, `\\quad \\text{and} \\quad`). Any other word ("wait, no:") or a sentence end
# separates a box from the next.
MAX_GAP = 80
_GAP_ALLOWED = re.compile(
    r"\\[A-Za-z]+|[\s${}()\[\],;:=&.\\]|\b(?:and|or|for|part|parts|the|also|respectively|with|while|is|are)\b"
    r"|\b[A-Za-z](?:_\{?\w+\}?|')?(?![A-Za-z])|\b(?:[ivx]+|\d+)(?=\))"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n\s*\n")


def _together(gap: str) -> bool:
    return len(gap) <= MAX_GAP and not _SENTENCE_END.search(gap) and not _GAP_ALLOWED.sub("", gap).strip()


def final_box_group(text: str) -> list[tuple[int, int, str]]:
    """The boxes of the final answer: the last box and the boxes standing together with it."""
    found = boxes(text)
    if not found:
        return []
    group = [found[-1]]
    for previous in reversed(found[:-1]):
        if not _together(text[previous[1] : group[0][0]]):
            break
        group.insert(0, previous)
    return group


# "The final answer is X", "Final Answer: X", "**Answer:** X", "Answer: X", "the answer is X" (a sentence's
# last clause). The statement's content runs to the end of its line.
_STATEMENT = re.compile(
    r"(?i:\bfinal\s+answer\b[*_]*\s*(?:is|:)?|\banswer\s*[*_]*\s*(?:is\s*)?:|\bthe\s+answer\s+is\b)"
    r"[*_\s:]*(?P<content>[^\n]*)"
)
_TRAILER = re.compile(r"(?i)(?:\.?\s*I hope it is correct\.?|[*_\s]+)$")
_PREFIX = re.compile(r"(?i)^(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*")
# A statement's content counts as an answer when it starts like one: a number, math, `x = ...`. Prose
# ("the answer is consistent with the box", "the square of 13") is not a statement of the answer.
_ANSWER_LIKE = re.compile(r"^(?:[-+.\d$\\({\[]|[A-Za-z]\s*=)")


def _statement_content(raw: str) -> str:
    content = re.split(r"\.(?=\s)|[!?](?=\s|$)", raw, maxsplit=1)[0].strip()  # its sentence only
    for _ in range(3):  # "Final Answer: The final answer is $5$. I hope it is correct."
        content = _TRAILER.sub("", content)
        content = re.sub(r"^[*_\s]+|[*_\s]+$", "", content).rstrip(".").strip()
        content, stripped = _PREFIX.subn("", content)
        if not stripped:
            break
    return content


def final_statements(text: str, after: int = 0) -> list[tuple[int, int, str]]:
    """Final-answer statements starting at or after `after`: (start, end, content), in order."""
    found = []
    for match in _STATEMENT.finditer(text, after):
        content = _statement_content(match.group("content"))
        # a statement holding a box is read as the box
        if content and _ANSWER_LIKE.match(content) and not BOXED_OPEN.search(content):
            found.append((match.start("content"), match.end("content"), content))
    return found


def locate_math(response: str, *, thinking: bool = True, lenient: bool = False) -> list[Located] | None:
    """Candidates for a math answer, best first: a final statement after the last box, the final box group,
    any final statement, then the end of the region (for math-verify's own unanchored extraction). None:
    the response has no final answer (unfinished)."""
    region = answer_region(response, thinking=thinking, lenient=lenient)
    if region is None:
        return None
    text, offset = region
    candidates: list[Located] = []
    group = final_box_group(text)
    after = group[-1][1] if group else 0
    statements = final_statements(text, after)
    if statements:
        start, end, content = statements[-1]
        candidates.append(Located(content, offset + start, offset + end, "statement"))
    if group:
        joined = ", ".join(contents for _, _, contents in group)
        candidates.append(Located(joined, offset + group[0][0], offset + group[-1][1], "boxes"))
    tail_start = max(0, len(text) - 2000)
    candidates.append(Located(text[tail_start:], offset + tail_start, offset + len(text), "tail"))
    return candidates


# An option letter in a box: `B`, `(B)`, `\text{B}`, `B) 42 kJ`, `B. 42 kJ`, but not `B = 0.2 T`.
_BOX_LETTER = re.compile(r"^\s*(?:\(\s*([A-Z])\s*\)|([A-Z])\s*(?:$|\)|[.:](?!\d)))")
_LETTER_TEXT = re.compile(r"\\(?:text|mathrm|textbf|mathbf)\s*\{([^{}]*)\}")
# An explicit choice: "Answer: (B) 42 kJ", "the answer is D) ...", "**Final Answer: (C)**", "Answer: $B$",
# "option B is correct", "I'd go with D". A bare letter must not start a word ("The answer is A bit ...").
_CHOICE = re.compile(
    r"(?:(?i:\b(?:final\s+answer|answer|correct\s+(?:option|choice|answer))\b(?:\s+is)?|"
    r"\b(?:i(?:'d|\s+would|'ll|\s+will)?\s+(?:go\s+with|choose|pick|select)|i\s+choose|i\s+pick))"
    r"(?:\s+(?i:option|choice))?[\s*_:$]*(?:\\text(?:bf)?\{\s*|\\boxed\{\s*)?"
    r"(?:\(\s*(?P<paren>[A-Za-z])\s*\)|(?P<bare>[A-Za-z])(?![A-Za-z0-9])(?!\s+[a-z])(?!\s*=)))"
    r"|(?i:\b(?:option|choice))\s+\(?(?P<stated>[A-Z])\)?\s+is\s+(?i:correct|right)",
)


def locate_letter(
    response: str, letters: tuple[str, ...], *, thinking: bool = True, lenient: bool = False
) -> Located | None:
    """The option a multiple-choice response chose, or None."""
    region = answer_region(response, thinking=thinking, lenient=lenient)
    if region is None:
        return None
    text, offset = region
    chosen: list[Located] = []
    for start, end, contents in boxes(text):
        inner = _LETTER_TEXT.sub(r"\1", contents)
        match = _BOX_LETTER.match(inner)
        letter = match and (match.group(1) or match.group(2))
        if letter in letters:
            chosen.append(Located(letter, offset + start, offset + end, "letter-box"))
    for match in _CHOICE.finditer(text):
        group = next(g for g in ("paren", "bare", "stated") if match.group(g))
        letter = match.group(group).upper()
        if letter in letters:
            chosen.append(
                Located(letter, offset + match.start(group), offset + match.end(group), "letter-statement")
            )
    if chosen:
        return max(chosen, key=lambda c: c.start)
    lines = [(m.start(), m.group()) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]
    if lines:
        start, line = lines[-1]
        bare = re.fullmatch(r"\s*[*$]*\(?([A-Z])\)?[.)]?[*$]*\s*", line)
        if bare and bare.group(1) in letters:
            return Located(
                bare.group(1), offset + start + bare.start(1), offset + start + bare.end(1), "letter-line"
            )
    return None
