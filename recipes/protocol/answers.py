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
  Answer: (C) ...**", "Answer: Option [D]", "答案：B" and the answer word of every language lighteval carries,
  full-width letters read as their ASCII twins) wins, unless it names two options ("Answer: B or C": no
  answer); without one, the last other explicit choice ("the answer is D) ...", "I'd go with C") or boxed
  letter. A box is a letter only when it holds one (`\\boxed{B = 0.2\\,T}` is a quantity,
  not option B); a bare "A" or "I" before a word, and a lowercase letter in prose, are words. Failing all of
  these, a last line that is nothing but a letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

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
# The letter after a marker: markup, quotes, an "is:", the option word or "either" may come first; the letter in
# parentheses or brackets, or standing alone ("Answer: **B**", "is: (C)", "Answer: Option [D]", "Answer: 'A'").
_LETTER = (
    r"[*_$\s]*:?[*_$\s]*(?i:(?:option|choice)\s+|(?:either|both)\s+)?"
    r"(?:\\(?:text|textbf|mathrm|boxed)\{\s*)?[\"'“‘`]?\s*"
    r"(?:[(\[【「]\s*(?P<paren>[A-Za-z])\s*[)\]】」]|(?P<bare>[A-Za-z]))"
)
# Latin and Cyrillic letters: a marker word must not continue one (CJK words are written without spaces).
_NOT_AFTER_LETTER = r"(?<![A-Za-z\u00C0-\u024F\u0400-\u04FF])"
_SPACED = re.compile(r"[A-Za-z\u00C0-\u024F\u0370-\u04FF]")  # scripts that put spaces between words
# Answer words lighteval's literals lack: Japanese writes 答え or 正解 more than 回答; Korean is not carried.
_EXTRA_ANSWER_WORDS = ("答え", "解答", "正解", "정답")


@cache
def _literals() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(answer words, connectives) in the languages lighteval carries: the answer word of its multilingual
    multiple-choice templates and its "or"/"and" words (lighteval.tasks.templates.utils.translation_literals),
    the maintained source, longest first."""
    from lighteval.tasks.templates.utils.translation_literals import TRANSLATION_LITERALS

    answers, connectives = set(_EXTRA_ANSWER_WORDS), set()
    for literals in TRANSLATION_LITERALS.values():
        for attribute, bucket in (("answer", answers), ("or_word", connectives), ("and_word", connectives)):
            try:
                value = getattr(literals, attribute)
            except AttributeError:  # lighteval raises for a literal a language lacks
                continue
            if value and value.strip():
                bucket.add(value.strip())
    by_length = lambda words: tuple(sorted(words, key=lambda w: (-len(w), w)))  # noqa: E731
    return by_length(answers), by_length(connectives)


@cache
def _patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    answers, connectives = _literals()
    words = "|".join(re.escape(w) for w in answers)
    # The format the GPQA prompt asks for, "Answer: X", in any language lighteval carries ("答案：B", "Antwort:
    # C", "Réponse : D"); also "Final Answer:", "Choice:", bold, parenthesised.
    formatted = re.compile(
        rf"(?i:\b(?:final\s+answer|answer|choice|option)(?:[*_]+)?[ \t]*:|{_NOT_AFTER_LETTER}(?:{words})(?:[*_]+)?[ \t]*:)"
        + _LETTER
    )
    # Other explicit choices: "the answer is D) ...", "the correct option is B", "I'd go with D", "option B is
    # correct"; in another language, the answer word and at most a few words before a capital letter ("答案是B",
    # "La réponse correcte est C", "Die Antwort lautet C").
    stated = re.compile(
        r"(?i:\b(?:(?:final|correct)\s+)?(?:answer|option|choice)\s+is\b(?:\s+(?:option|choice)\b)?"
        r"|\bi(?:'d|\s+would|'ll|\s+will)?\s+(?:go\s+with|choose|pick|select)\b(?:\s+(?:option|choice)\b)?)"
        + _LETTER
        + r"|(?i:\b(?:option|choice))\s+\(?(?P<named>[A-Z])\)?\s+is\s+(?i:correct|right)"
        + rf"|{_NOT_AFTER_LETTER}(?i:{words})(?:[^\n.;!?。！？A-Z]{{0,24}}?)"
        + r"(?<![A-Za-z])[*_$\s\"'“‘`]*(?:[(\[【「]\s*(?P<foreign_paren>[A-Z])\s*[)\]】」]|(?P<foreign>[A-Z]))"
    )
    # After a letter: a connective and another option ("B or C", "(B) 或 (C)", "B/C", "B, C"): no single answer.
    spaced = "|".join(re.escape(w) for w in connectives if _SPACED.match(w))  # words between spaces
    touching = "|".join(re.escape(w) for w in connectives if not _SPACED.match(w))  # CJK: "B或C"
    hedge = re.compile(
        rf"[ \t]*[)\]】」\"'”’*_$]*[ \t]*(?:,|/|{_NOT_AFTER_LETTER}(?i:{spaced})(?![A-Za-z\u00C0-\u024F\u0400-\u04FF])"
        rf"|{touching})[ \t]*"
        r"(?i:(?:possibly|maybe|perhaps)\s+)?[*_$\"'“‘`]*[(\[【「]?[ \t]*(?P<other>[A-Za-z])(?![A-Za-z])"
    )
    return formatted, stated, hedge


# A word after a bare "A" or "I" makes it the English word ("The answer is A bit tricky"), except these.
_AFTER_A = {"because", "since", "as"}
# Full-width forms (Ａ, （Ｂ）, ：) read as their ASCII twins, one character for one, so offsets hold.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


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


@dataclass(frozen=True)
class _Choice:
    located: Located
    hedge: bool  # another option follows, joined by "or", "and", "/", ","
    only_options: bool  # ... and nothing else until the end of the sentence: no single answer was given


def _choices(pattern: re.Pattern, text: str, offset: int, letters: tuple[str, ...]) -> list[_Choice]:
    _, _, hedge = _patterns()
    found = []
    for match in pattern.finditer(text):
        group = next(
            g
            for g in ("paren", "bare", "named", "foreign_paren", "foreign")
            if g in pattern.groupindex and match.group(g)
        )
        letter = match.group(group)
        if group in ("bare", "foreign") and not _bare_letter_ok(
            letter, text[match.end(group) : match.end(group) + 24]
        ):
            continue
        if letter.upper() not in letters:
            continue
        start, end = offset + match.start(group), offset + match.end(group)
        joined = hedge.match(text, match.end(group))
        others = False
        rest = ""
        while joined and joined.group("other").upper() in letters:
            others = True
            rest = text[joined.end() : joined.end() + 80].split("\n", 1)[0]
            joined = hedge.match(text, joined.end())
        only = others and re.match(r"^[ \t)\]】」\"'”’*_$]*(?:[.!?。！？,;]|$)", rest) is not None
        found.append(_Choice(Located(letter.upper(), start, end, "letter-statement"), others, only))
    return found


def _last(choices: list[_Choice]) -> _Choice | None:
    """The last choice that names one option or names only options (a hedge); one that lists options inside a
    sentence ("B and C are both wrong") names none and is passed over."""
    usable = [c for c in choices if not c.hedge or c.only_options]
    return usable[-1] if usable else None


def locate_letter(
    response: str, letters: tuple[str, ...], *, thinking: bool = True, lenient: bool = False
) -> Located | None:
    """The option a multiple-choice response chose, or None. The last "Answer: X" (the format the prompt
    asks for, in any language lighteval carries) wins; without one, the last other explicit choice or boxed
    letter; failing all, a last line that is nothing but a letter. A final choice that names two options or more
    ("Answer: B or C") is no single answer: None."""
    region = answer_region(response, thinking=thinking, lenient=lenient)
    if region is None:
        return None
    text, offset = region
    text = text.translate(_FULLWIDTH)
    formatted_pattern, stated_pattern, _ = _patterns()
    formatted = _last(_choices(formatted_pattern, text, offset, letters))
    if formatted is not None:
        return None if formatted.hedge else formatted.located
    stated = [c for c in _choices(stated_pattern, text, offset, letters) if not c.hedge or c.only_options]
    chosen = [(c.located, c.hedge) for c in stated]
    for start, end, contents in boxes(text):
        match = _BOX_LETTER.match(_LETTER_TEXT.sub(r"\1", contents))
        letter = match and (match.group(1) or match.group(2)).upper()
        if letter in letters:
            chosen.append((Located(letter, offset + start, offset + end, "letter-box"), False))
    if chosen:
        located, hedged = max(chosen, key=lambda c: c[0].start)
        return None if hedged else located
    lines = [(m.start(), m.group()) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]
    if lines:
        start, line = lines[-1]
        bare = re.fullmatch(r"\s*[*$]*\(?([A-Z])\)?[.)]?[*$]*\s*", line)
        if bare and bare.group(1) in letters:
            return Located(
                bare.group(1), offset + start + bare.start(1), offset + start + bare.end(1), "letter-line"
            )
    return None
