"""The one answer checker: evaluation, `make rescore`, the reasoning analysis and the GRPO rewards all grade here.

Math answers are graded with math-verify 0.9 (parse, then verify), the maintained fix for errors that the
copy of math-verify inside lighteval 0.13 still makes: text answers compared case-sensitively, percentages
with and without the sign, `\\pm` answers (dropped to their positive value, or never equal to the set of both),
clock times that both parse to complex infinity and compare equal. On top of it, reasonlift:
- reads golds with an escaped dollar sign (`\\$12.50`, as in MATH-500), which were never extracted;
- grades only the text after the last `</think>`: R1-Distill's prompt pre-fills `<think>\\n`, so a response
  holds a closing tag and no opening one (a response that never closed its thinking is graded whole);
- refuses pathological answers (thousands of nested brackets, towers of powers) before any parse, so each one
  costs microseconds instead of the 5-second timeout; they are compared as plain text only;
- reads GPQA letters itself: the last `\\boxed{X}`, else the last "Answer: X" line, so `\\boxed{C}` followed
  by a sentence starting with "A" is C.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache

from recipes.protocol.markup import answer_region, last_boxed
from recipes.protocol.task_catalog import AnswerKind

TIMEOUT_SECONDS = 5
MIN_MATH_VERIFY = (0, 9)
MIN_LATEX2SYMPY = (1, 11)
# Beyond these an answer is not a competition answer but a parser trap.
MAX_NESTING = 40
MAX_POWER_TOWER = 4  # symbolic towers (e^{-e^{-x^{2}}}) are fine; numeric ones are folded below
MAX_ANSWER_CHARS = 20_000


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None  # the answer the checker read from the response, None if it found none


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


def _plain(text: str) -> str:
    return re.sub(r"\s+|\\[,;!: ]|\$", "", text).lower()


def _grade_math(response: str, gold: str) -> Grade:
    region = answer_region(response)
    parsed_gold = parse_gold(gold)
    boxed = last_boxed(region)
    # the final answer: the last \boxed{} (math-verify would merge boxes that stand close together), else
    # the end of the response; long prose before it is never the problem
    candidate = f"\\boxed{{{boxed}}}" if boxed is not None else region[-2000:]
    if pathological(candidate):
        return Grade(correct=boxed is not None and _plain(boxed) == _plain(gold), extracted=None)
    if not parsed_gold:
        return Grade(correct=False, extracted=None)
    mv = _math_verify()
    _, pred_config = _extraction()
    try:
        source = candidate if boxed is not None else region
        predicted = mv.parse(source, extraction_config=pred_config, parsing_timeout=TIMEOUT_SECONDS)
        correct = bool(predicted) and bool(
            mv.verify(list(parsed_gold), predicted, timeout_seconds=TIMEOUT_SECONDS)
        )
    except Exception:  # a checker failure on one odd answer must not sink a whole evaluation
        return Grade(correct=False, extracted=None)
    extracted = predicted[-1] if predicted and isinstance(predicted[-1], str) else None
    return Grade(correct=correct, extracted=extracted)


# "Answer: C", "the answer is (C).", "answer is option C", "**Answer:** c"; the letter must end its phrase
# ("The answer is A bit tricky" names no option).
_ANSWER_LINE = re.compile(
    r"(?i:answer|option|choice)(?:\s+is)?(?:\s+(?i:option|choice))?\s*:?[\s*_$:(\[]*(?:\\text(?:bf)?\{\s*)?"
    r"\(?([A-Za-z])\)?(?=[*_$)\]}]*(?:\s*$|\s*\n|[.,;:](?:\s|$)))|(?i:option|choice)\s+\(?([A-Z])\)?\s+is\s+(?i:correct|right)",
    re.MULTILINE,
)


def extract_letter(response: str, letters: tuple[str, ...]) -> str | None:
    """The option a GPQA response chose: its last `\\boxed{X}`, else its last "Answer: X", else a response
    that is nothing but the letter."""
    region = answer_region(response)
    boxed = last_boxed(region)
    if boxed is not None:
        inner = re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", boxed).strip()
        chosen = re.match(r"\(?([A-Z])\)?(?:$|[).:\s])", inner)
        if chosen and chosen.group(1) in letters:
            return chosen.group(1)
    answers = [(m.group(1) or m.group(2)).upper() for m in _ANSWER_LINE.finditer(region)]
    answers = [a for a in answers if a in letters]
    if answers:
        return answers[-1]
    lines = [line for line in region.strip().splitlines() if line.strip()]
    bare = re.fullmatch(r"\s*[*$]*\(?([A-Z])\)?[.)]?[*$]*\s*", lines[-1]) if lines else None
    return bare.group(1) if bare and bare.group(1) in letters else None


@lru_cache(maxsize=4096)  # the reasoning analysis checks the same short candidates again and again
def grade(response: str, gold: str, kind: AnswerKind, choices: tuple[str, ...] = ()) -> Grade:
    """Grade `response` against `gold` (a math answer, or a letter for multiple choice)."""
    if kind == "letter":
        letters = choices or ("A", "B", "C", "D")
        chosen = extract_letter(response, letters)
        return Grade(correct=chosen is not None and chosen == gold.strip(), extracted=chosen)
    return _grade_math(response, gold)
