"""How an answer is checked, by kind (math with math-verify, letters by location): what `recipes.protocol.grader`,
the one answer checker, dispatches to through the answer kinds.

Math answers are graded with math-verify 0.9 (parse, then verify), the maintained fix for errors that the
copy of math-verify inside lighteval 0.13 still makes: text answers compared case-sensitively, percentages
with and without the sign, `\\pm` answers (dropped to their positive value, or never equal to the set of both),
clock times that both parse to complex infinity and compare equal. On top of it, reasonlift:
- reads golds with an escaped dollar sign (`\\$12.50`, as in MATH-500), which were never extracted;
- reads the final answer where recipes.protocol.answers locates it: after the last `</think>` (a response that
  never closed its thinking has none, unless `eval.grading.unfinished: lenient`), the final group of boxes,
  a final statement after the last box;
- compares a located answer with the gold as text too (`\\text{7 m}` and 7 by its number, `3:15 \\text{ p.m.}`
  and `\\text{3:15 p.m.}` verbatim), and golds math-verify cannot parse by text alone (the evaluation counts them);
- refuses pathological answers (thousands of nested brackets, towers of powers) before any parse, so each one
  costs microseconds instead of the 5-second timeout; they are compared as plain text only;
- reads Unicode math (`30°`, `√2`, `x²`, `−5`, `4π`) as the LaTeX it stands for (recipes.protocol.unicode_math);
- compares numbers below 1 to 6 significant digits, where math-verify's 6-decimal rounding makes 1e-7 and 2e-7
  equal, and marks wrong an answer whose number agrees but whose words say the opposite ("n is odd" against
  "n is even", `\\geq 7` against `\\leq 7`);
- reads GPQA letters with the rules of recipes.protocol.answers: the last "Answer: X" wins (in any language
  lighteval carries), else the last other explicit choice or boxed letter; a hedge ("B or C") is no answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from recipes.protocol.answers import answer_region, locate_letter, locate_math
from recipes.protocol.unicode_math import latex_from_unicode

TIMEOUT_SECONDS = 5
MIN_MATH_VERIFY = (0, 9)
MIN_LATEX2SYMPY = (1, 11)
# Beyond these an answer is not a competition answer but a parser trap.
MAX_NESTING = 40
MAX_POWER_TOWER = 4  # symbolic towers (e^{-e^{-x^{2}}}) are fine; numeric ones are folded below
MAX_ANSWER_CHARS = 20_000
# What a response that never closed its thinking earns (the recipe's `eval.grading.unfinished`).
Unfinished = Literal["no_answer", "lenient"]


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None  # the answer the checker read from the response, None if it found none
    # where that answer was read: (start, end) character offsets in the response, None if nowhere
    span: tuple[int, int] | None = None
    # False: the response never closed its thinking (R1-style), so it has no final answer
    finished: bool = True


def as_latex_gold(gold: str) -> str:
    """MATH-500 and AIME golds are bare LaTeX (`(1,3]`, `\\frac{1}{2}`, `\\$12.50`); math-verify extracts them
    when delimited. An escaped dollar is a currency sign, not a math delimiter."""
    gold = gold.strip()
    unescaped = gold.replace("\\$", "")
    if "$" in unescaped or "\\boxed" in gold:
        return gold
    return f"${gold}$"


_NUMERIC_POWER = re.compile(r"(\d+(?:\.\d+)?)\s*\^\s*(?:\{\s*(\d+(?:\.\d+)?)\s*\}|(\d))")
_FACTORIAL = re.compile(r"\(?\s*(\d+)\s*\)?\s*!")
_BINOMIAL = re.compile(r"\\[dt]?binom\s*\{\s*(\d+)\s*\}")
MAX_DIGITS = 10_000  # an exact number longer than this is not an answer a person checks
MAX_FACTORIAL = 3_000


def pathological(answer: str) -> bool:
    """What sends sympy into its timeout and beyond: nesting thousands deep, towers of powers, numbers with
    millions of digits (10^{10^{10}}, (10^6)!, a binomial of 10^12). Numeric powers are folded from the top
    of the tower down, so 2^{2^{2^{2}}} (65,536) is an answer and 2^{2^{40}} is not."""
    if len(answer) > MAX_ANSWER_CHARS:
        return True
    depth = deepest = tower = 0
    power_depths: list[int] = []  # brace depth of each exponent still open
    previous = ""
    for char in answer:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
            if char == "{" and previous == "^":
                power_depths.append(depth)
                tower = max(tower, len(power_depths))
        elif char in ")]}":
            if power_depths and power_depths[-1] == depth:
                power_depths.pop()
            depth = max(0, depth - 1)
        if not char.isspace():
            previous = char
    if deepest > MAX_NESTING or tower > MAX_POWER_TOWER:
        return True
    return _huge_number(answer)


def _huge_number(answer: str) -> bool:
    import math

    text = answer
    for _ in range(20):  # fold the innermost numeric power, repeatedly
        matches = list(_NUMERIC_POWER.finditer(text))
        if not matches:
            break
        match = matches[-1]  # the innermost of a tower written a^{b^{c}}
        base, exponent = float(match.group(1)), float(match.group(2) or match.group(3))
        digits = exponent * math.log10(base) if base > 1 else 0
        if digits > MAX_DIGITS:
            return True
        value = str(round(base**exponent)) if digits < 300 else "1" + "0" * int(digits)
        text = text[: match.start()] + value + text[match.end() :]
    if any(int(n) > MAX_FACTORIAL for n in _FACTORIAL.findall(text)):
        return True
    if any(len(n) > 6 for n in _BINOMIAL.findall(text)):
        return True
    return any(len(n) > MAX_DIGITS for n in re.findall(r"\d+", text))


@cache
def _math_verify():
    from importlib.metadata import version

    import math_verify

    for package, minimum in (("math-verify", MIN_MATH_VERIFY), ("latex2sympy2_extended", MIN_LATEX2SYMPY)):
        installed = tuple(int(p) for p in version(package).split(".")[:2])
        if installed < minimum:
            from recipes.errors import UserError

            raise UserError(
                f"{package} {version(package)} is installed; reasonlift grades with >= "
                f"{'.'.join(map(str, minimum))} (run `make install`, which installs it beside lighteval's older pin)"
            )
    # a timed-out parse is a wrong answer, not a log line with the whole answer in it
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    return math_verify


@cache
def _extraction():
    mv = _math_verify()
    gold = (mv.LatexExtractionConfig(), mv.ExprExtractionConfig())
    # a boxed answer first, as lighteval and open-r1 configure it for MATH-500 and AIME
    pred = (mv.LatexExtractionConfig(boxed_match_priority=0), mv.ExprExtractionConfig())
    return list(gold), list(pred)


@lru_cache(maxsize=20_000)
def parse_gold(gold: str) -> tuple:
    """The gold parsed once: (expression, text), or () when math-verify cannot read it."""
    gold_config, _ = _extraction()
    parsed = _math_verify().parse(
        as_latex_gold(gold), extraction_config=gold_config, parsing_timeout=TIMEOUT_SECONDS
    )
    return tuple(parsed) if len(parsed) >= 2 else ()


def gold_parses(gold: str) -> bool:
    return bool(parse_gold(str(gold)))


_TEXT_WRAPPER = re.compile(r"\\(?:text|textrm|mathrm|textbf|mbox)\s*\{([^{}]*)\}")
# `\text{7 m}`: a number with its unit written as one text block, which math-verify reads as a word
_TEXT_NUMBER = re.compile(r"\\(?:text|textrm|mathrm|mbox)\s*\{\s*(-?\d[\d,]*(?:\.\d+)?)\s*([^{}]*)\}")


_TRAILING_WORDS = re.compile(r"^([^$]*?[\d}])\s+([A-Za-z][A-Za-z .]*)$")


def _plain(text: str) -> str:
    """Text for a verbatim comparison: wrappers, math spacing, dollars and the braces of single tokens
    dropped (`\\cos^{2} t` is `\\cos^2 t`); case and every other brace kept (`\\frac{11}{2}` is not
    `\\frac{1}{12}`, x is not X)."""
    text = _TEXT_WRAPPER.sub(r"\1", text)
    text = re.sub(r"\\[,;!: ]|\\quad|\\qquad|\\left|\\right|\$", "", text)
    text = re.sub(r"\{\s*(\\?\w)\s*\}", r"\1", text)
    return re.sub(r"\s|\.$", "", text)


def same_as_written(answer: str, gold: str) -> bool:
    """Whether `grade` would find `\\boxed{answer}` equal to `gold` by its first test, the text as written
    (wrappers, spacing and Unicode math aside): what the reasoning analysis can decide without math-verify."""
    from recipes.protocol.markup import boxes

    found = boxes(f"\\boxed{{{answer}}}")
    if len(found) != 1 or found[0][2] != answer:
        return False  # the box would not hold the answer as given: leave it to `grade`
    return _plain(latex_from_unicode(answer)) == _plain(gold)


def _as_math(text: str) -> str:
    """A located answer as math-verify reads it best: delimited, a number's unit out of its text block."""
    text = _TEXT_NUMBER.sub(
        lambda m: f"{m.group(1)} \\text{{ {m.group(2)}}}" if m.group(2) else m.group(1), text
    )
    # "7 square units", "12 cm": the unit words as text, so that the parser does not read them as variables
    text = _TRAILING_WORDS.sub(lambda m: f"{m.group(1)} \\text{{ {m.group(2)}}}", text)
    return text if "$" in text.replace("\\$", "") or "\\(" in text or "\\[" in text else f"${text}$"


def _verify(parsed_gold: tuple, source: str) -> tuple[bool, str | None]:
    mv = _math_verify()
    _, pred_config = _extraction()
    predicted = mv.parse(source, extraction_config=pred_config, parsing_timeout=TIMEOUT_SECONDS)
    if not predicted:
        return False, None
    correct = bool(mv.verify(list(parsed_gold), predicted, timeout_seconds=TIMEOUT_SECONDS))
    if correct and _small_numbers_differ(parsed_gold[0], predicted[0]):
        correct = False
    return correct, predicted[-1] if isinstance(predicted[-1], str) else None


# math-verify compares numbers after rounding to 6 decimal places: below 1 that loses significant digits, and
# 1e-7 equals 2e-7. Numbers that small are compared to 6 significant digits instead (as it compares 1.5 and
# 1.5000001, so 1/3 and 0.333333 still agree).
RELATIVE_TOLERANCE = 2e-6


def _small_numbers_differ(gold, predicted) -> bool:
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(predicted, sympy.Expr)):
        return False
    if not (gold.is_number and predicted.is_number):
        return False
    try:
        a, b = complex(sympy.N(gold, 30)), complex(sympy.N(predicted, 30))
    except (TypeError, ValueError, ArithmeticError):
        return False
    scale = max(abs(a), abs(b))
    return 0 < scale < 1 and abs(a - b) > RELATIVE_TOLERANCE * scale


# Words whose opposite turns an answer around while leaving its number alone ("12 (minimum)" is not "12
# (maximum)", "n is odd" is not "n is even"): math-verify drops the words and compares what is left.
OPPOSITES = (
    ("even", "odd"),
    ("least", "most"),
    ("minimum", "maximum"),
    ("min", "max"),
    ("minimal", "maximal"),
    ("smallest", "largest"),
    ("smallest", "greatest"),
    ("lowest", "highest"),
    ("positive", "negative"),
    ("increasing", "decreasing"),
    ("greater", "less"),
    ("greater", "smaller"),
    ("more", "fewer"),
    ("more", "less"),
    ("above", "below"),
    ("true", "false"),
    ("yes", "no"),
    ("clockwise", "counterclockwise"),
    ("clockwise", "anticlockwise"),
    ("inside", "outside"),
    ("finite", "infinite"),
    ("convergent", "divergent"),
    ("converges", "diverges"),
    ("rational", "irrational"),
    ("possible", "impossible"),
    ("always", "never"),
)
_RELATION = re.compile(r"^[\s$({]*(\\(?:geq?|leq?|gt|lt|neq?)(?![A-Za-z])|[<>]=?|[≤≥≠])")
_RELATION_NAMES = {
    "\\ge": ">=", "\\geq": ">=", "≥": ">=", ">=": ">=", "\\gt": ">", ">": ">",
    "\\le": "<=", "\\leq": "<=", "≤": "<=", "<=": "<=", "\\lt": "<", "<": "<",
    "\\ne": "!=", "\\neq": "!=", "≠": "!=",
}  # fmt: skip


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", re.sub(r"\\[A-Za-z]+", " ", text).lower()))


def opposed(answer: str, gold: str) -> bool:
    """Whether an answer says the opposite of the gold in a word that carries the meaning, or opens with the
    opposite relation (`\\geq 7` against `\\leq 7`)."""
    said, meant = _words(answer), _words(gold)
    if any((a in said and b in meant) or (b in said and a in meant) for a, b in OPPOSITES):
        return True
    relations = [_RELATION.match(t) for t in (answer, gold)]
    if all(relations):
        names = [_RELATION_NAMES.get(m.group(1), m.group(1)) for m in relations]
        return names[0] != names[1]
    return False


@lru_cache(maxsize=4096)  # the reasoning analysis checks the same short candidates again and again
def grade_math(response: str, gold: str, thinking: bool, lenient: bool) -> Grade:
    candidates = locate_math(response, thinking=thinking, lenient=lenient)
    if candidates is None:
        return Grade(correct=False, extracted=None, finished=False)
    parsed_gold = parse_gold(gold)
    first: Grade | None = None  # for a gold math-verify cannot read: the best candidate, compared as text
    for located in candidates:
        span = (located.start, located.end)
        if located.how == "tail":
            source = latex_from_unicode(located.text, delimit=True)
        elif located.how == "boxes":
            boxed = latex_from_unicode(response[located.start : located.end])
            source = _TEXT_NUMBER.sub(lambda m: m.group(1), boxed)
        else:
            source = _as_math(latex_from_unicode(located.text))
        if located.how != "tail" and _plain(latex_from_unicode(located.text)) == _plain(gold):
            return Grade(correct=True, extracted=located.text, span=span)
        if pathological(located.text):
            if located.how == "tail":
                break
            return Grade(correct=False, extracted=None)
        if not parsed_gold:  # compared as text only (and counted by the caller): try every located answer
            if located.how != "tail" and first is None:
                first = Grade(correct=False, extracted=located.text, span=span)
            continue
        try:
            correct, extracted = _verify(parsed_gold, source)
        except Exception:  # a checker failure on one odd answer must not sink a whole evaluation
            return Grade(correct=False, extracted=None)
        if extracted is not None:
            if correct and located.how != "tail" and opposed(latex_from_unicode(located.text), gold):
                correct = False
            return Grade(correct=correct, extracted=extracted, span=span)
    return first or Grade(correct=False, extracted=None)


@lru_cache(maxsize=4096)
def grade_letter(response: str, gold: str, letters: tuple[str, ...], thinking: bool, lenient: bool) -> Grade:
    if answer_region(response, thinking=thinking, lenient=lenient) is None:
        return Grade(correct=False, extracted=None, finished=False)
    located = locate_letter(response, letters, thinking=thinking, lenient=lenient)
    if located is None:
        return Grade(correct=False, extracted=None)
    return Grade(
        correct=located.text == gold.strip(), extracted=located.text, span=(located.start, located.end)
    )


def letter_span(
    response: str, letters: tuple[str, ...], thinking: bool, lenient: bool
) -> tuple[int, int] | None:
    located = locate_letter(response, letters, thinking=thinking, lenient=lenient)
    return (located.start, located.end) if located else None


def math_span(response: str, extracted: str, thinking: bool, lenient: bool) -> tuple[int, int] | None:
    """The located candidate whose text is the answer, else the first that is not the region's tail; in the
    tail, the answer's last occurrence."""
    candidates = locate_math(response, thinking=thinking, lenient=lenient) or []
    for located in candidates:
        if located.how != "tail" and (extracted in located.text or _plain(located.text) == _plain(extracted)):
            return located.start, located.end
    for located in candidates:
        if located.how == "tail":
            at = response.rfind(extracted, located.start, located.end)
            if at >= 0:
                return at, at + len(extracted)
    anchored = next((c for c in candidates if c.how != "tail"), None)
    return (anchored.start, anchored.end) if anchored else None
