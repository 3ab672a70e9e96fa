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
- Letters (GPQA): the last "Answer: X" (the format the prompt asks for: "Answer: (B) 42 kJ", "**Final
  Answer: (C) ...**") wins; without one, the last other explicit choice ("the answer is D) ...", "I'd go
  with C") or boxed letter. A box is a letter only when it holds one (`\\boxed{B = 0.2\\,T}` is a quantity,
  not option B); a bare "A" or "I" before a word, and a lowercase letter in prose, are words. Failing all of
  these, a last line that is nothing but a letter.
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


# What may stand between two boxes of one answer: connectives, labels of parts, spacing commands and short
# left-hand sides (`x =`, `(b)`, `\\quad \\text{and} \\quad`). Any other word ("wait, no:"), an operator
# (`\\cdot`, `=`, `\\implies`: a computation, not a list) or a sentence end separates a box from the next.
MAX_GAP = 80
_GAP_ALLOWED = re.compile(
    r"\\(?:quad|qquad|text|textrm|mathrm|mbox|left|right)(?![A-Za-z])|\\[,;:! ()\[\]]|[\s${}()\[\],;:&.]"
    r"|\b(?:and|or|for|part|parts|the|also|respectively|with|while|is|are)\b"
    r"|\b[A-Za-z](?:_\{?\w+\}?|')?\s*=|\b[A-Za-z](?:_\{?\w+\}?|')?(?![A-Za-z=])|\b(?:[ivx]+|\d+)(?=\))"
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


# "The final answer is X", "Final Answer: X", "**Answer:** X", "Answer: X", "the answer is X". A statement's
# content runs to the next statement or the end of its line, then to the end of its sentence.
_STATEMENT = re.compile(
    r"(?i:\bfinal\s+answer\b(?:[*_]+)?[ \t]*(?:is\b|:)?|\banswer(?:[*_]+)?[ \t]*(?:is[ \t]*)?:|\bthe\s+answer\s+is\b)"
    r"(?:[*_: \t]+)?"
)
_HOPE = re.compile(r"(?i)\.?\s*I hope it is correct\.?$")
_PREFIX = re.compile(r"(?i)^(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*")
# Where the answer in a statement ends: a clause after it ("6, which is the number of ways", "12 (in square
# units)", "x = 7, as required") is not part of it.
_CLAUSE = re.compile(
    r",\s+(?:which|because|as|since|so|where|i\.e\.|e\.g\.)\b|\s+(?:because|since|as)\s|\s+\("
)
_MATH_SPAN = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)


MAX_STATEMENT = 300


def _trim(text: str) -> str:
    return text.strip().strip("*_").strip().rstrip(".").strip()


def _statement_content(raw: str) -> str:
    raw = re.sub(
        r"\s+", " ", raw[: 4 * MAX_STATEMENT]
    )  # runs of spaces would make the clause search quadratic
    content = re.split(r"\.(?=\s)|[!?](?=\s|$)", raw, maxsplit=1)[0]  # its sentence only
    for _ in range(3):  # "Final Answer: The final answer is $5$. I hope it is correct."
        content = _trim(_HOPE.sub("", _trim(content)))
        content, stripped = _PREFIX.subn("", content)
        if not stripped:
            break
    outside_math = _MATH_SPAN.sub(" ", content)
    clause = _CLAUSE.search(outside_math)
    if clause:  # cut at the clause, measured on the text with math blanked out (same length)
        content = content[: clause.start()]
    content = _trim(content)
    return content if len(content) <= MAX_STATEMENT else ""  # longer is prose, not a stated answer


def answer_only(content: str) -> bool:
    """A statement's content is an answer when it is math or a number, with at most a unit word or two:
    prose ("the square of 13", "see above", "1/2 of the original") is not a statement of the answer."""
    if not re.search(r"[\d\\$^=]", content) and len(content) > 3:
        return False
    words = re.findall(r"(?<![\\A-Za-z])[A-Za-z]{2,}", _MATH_SPAN.sub(" ", content))  # not \\commands
    return len(words) <= 2


def final_statements(text: str, after: int = 0) -> list[tuple[int, int, str]]:
    """Final-answer statements starting at or after `after`: (start, end, content), in order."""
    found = []
    matches = list(_STATEMENT.finditer(text, after))
    for number, match in enumerate(matches):
        start = match.end()
        line_end = text.find("\n", start)
        end = len(text) if line_end < 0 else line_end
        if number + 1 < len(matches):
            end = min(end, matches[number + 1].start())
        content = _statement_content(text[start:end])
        # a statement holding a box is read as the box
        if content and answer_only(content) and not BOXED_OPEN.search(content):
            found.append((start, end, content))
    return found


def locate_math(response: str, *, thinking: bool = True, lenient: bool = False) -> list[Located] | None:
    """Candidates for a math answer, best first: a final statement after the last box, the final box group;
    without a box, a final statement, then the end of the region (for math-verify's own unanchored
    extraction). None: the response has no final answer (unfinished)."""
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
        return candidates  # a response that boxed its answer is graded on it, never on its prose
    tail_start = max(0, len(text) - 2000)
    tail = re.sub(r"[ \t]{2,}|\n{3,}", lambda m: m.group()[0], text[tail_start:])  # runs choke the parser
    candidates.append(Located(tail, offset + tail_start, offset + len(text), "tail"))
    return candidates


# An option letter in a box: `B`, `(B)`, `\\text{B}`, `B) 42 kJ`, `B. 42 kJ`, `c`, but not `B = 0.2 T`.
_BOX_LETTER = re.compile(r"^\s*(?:\(\s*([A-Za-z])\s*\)|([A-Za-z])\s*(?:$|\)|[.:](?!\d)))")
_LETTER_TEXT = re.compile(r"\\(?:text|mathrm|textbf|mathbf)\s*\{([^{}]*)\}")
_LETTER = (
    r"[*_$\s]*(?:\\(?:text|textbf|mathrm|boxed)\{\s*)?(?:\(\s*(?P<paren>[A-Za-z])\s*\)|(?P<bare>[A-Za-z]))"
)
# The format the GPQA prompt asks for: "Answer: X" (also "Final Answer:", "Choice:", bold, parenthesised).
_FORMATTED = re.compile(r"(?i:\b(?:final\s+answer|answer|choice|option)(?:[*_]+)?[ \t]*:)" + _LETTER)
# Other explicit choices: "the answer is D) ...", "the correct option is B", "I'd go with D", "option B is correct".
_STATED = re.compile(
    r"(?i:\b(?:(?:final|correct)\s+)?(?:answer|option|choice)\s+is\b(?:\s+(?:option|choice)\b)?"
    r"|\bi(?:'d|\s+would|'ll|\s+will)?\s+(?:go\s+with|choose|pick|select)\b(?:\s+(?:option|choice)\b)?)"
    + _LETTER
    + r"|(?i:\b(?:option|choice))\s+\(?(?P<named>[A-Z])\)?\s+is\s+(?i:correct|right)"
)
# A word after a bare "A" or "I" makes it the English word ("The answer is A bit tricky"), except these.
_AFTER_A = {"because", "since", "as"}


def _bare_letter_ok(letter: str, following: str) -> bool:
    """Whether a bare letter names an option, judged by what follows it on its line."""
    if re.match(r"[A-Za-z0-9]|-[A-Za-z]", following):  # part of a word: "Diels-Alder", "D-glucose"
        return False
    if re.match(r"[ \t]*=", following):  # a quantity: "B = 0.2 T"
        return False
    if letter.islower():  # "the answer is a ..." is prose unless the letter stands alone
        return re.match(r"[ \t]*(?:[.,;:!?)*$}\]]|\n|$)", following) is not None
    word = re.match(r"[ \t]+([a-z]+)", following)
    return not (letter in "AI" and word and word.group(1) not in _AFTER_A)


def _choices(pattern: re.Pattern, text: str, offset: int, letters: tuple[str, ...]) -> list[Located]:
    found = []
    for match in pattern.finditer(text):
        group = next(g for g in ("paren", "bare", "named") if g in pattern.groupindex and match.group(g))
        letter = match.group(group)
        if group == "bare" and not _bare_letter_ok(letter, text[match.end(group) : match.end(group) + 24]):
            continue
        if letter.upper() in letters:
            start, end = offset + match.start(group), offset + match.end(group)
            found.append(Located(letter.upper(), start, end, "letter-statement"))
    return found


def locate_letter(
    response: str, letters: tuple[str, ...], *, thinking: bool = True, lenient: bool = False
) -> Located | None:
    """The option a multiple-choice response chose, or None. The last "Answer: X" (the format the prompt
    asks for) wins; without one, the last other explicit choice or boxed letter; failing all, a last line
    that is nothing but a letter."""
    region = answer_region(response, thinking=thinking, lenient=lenient)
    if region is None:
        return None
    text, offset = region
    formatted = _choices(_FORMATTED, text, offset, letters)
    if formatted:
        return formatted[-1]
    chosen = _choices(_STATED, text, offset, letters)
    for start, end, contents in boxes(text):
        match = _BOX_LETTER.match(_LETTER_TEXT.sub(r"\1", contents))
        letter = match and (match.group(1) or match.group(2)).upper()
        if letter in letters:
            chosen.append(Located(letter, offset + start, offset + end, "letter-box"))
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
