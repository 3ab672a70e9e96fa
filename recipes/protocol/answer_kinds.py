"""Answer kinds: how a benchmark asks for its answer, reads a dataset row, grades, and finds the answer in a step.

The extension point beside the rewards': a kind is one `register(AnswerKind(...))` here; a benchmark is one
`TaskInfo` in `recipes.protocol.task_catalog` naming its kind. Everything that used to ask "math or letter?"
(the lighteval task, the metric, the grader, chat, rescore, the reasoning analysis, the viewer) asks the kind.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from recipes.protocol import checking
from recipes.protocol.markup import boxed_contents
from recipes.protocol.prompts import LETTERS, gpqa_prompt, math_prompt

# A dataset row (with lighteval's `__index`) and the task's lighteval name -> the fields of lighteval's Doc
DocBuilder = Callable[[dict, str], dict]


@dataclass(frozen=True)
class AnswerKind:
    name: str
    doc: DocBuilder
    text_prompt: Callable[
        [str], str
    ]  # free text wrapped as the task wraps its problems (`make chat task=...`)
    grade: Callable[..., checking.Grade]  # (response, gold, choices, thinking, lenient)
    span: Callable[..., tuple[int, int] | None]  # (response, extracted, choices, thinking, lenient)
    step_reaches: Callable[[str, str, tuple[str, ...]], bool]  # a reasoning step states the gold answer
    choices: tuple[str, ...] = ()  # multiple choice: what an answer is one of; () for a free-form answer
    gold_problem: Callable[[str], str | None] = field(default=lambda gold: None)  # why a gold is unusable
    text_only_gold: Callable[[str], bool] = field(
        default=lambda gold: False
    )  # graded by text comparison only


ANSWER_KINDS: dict[str, AnswerKind] = {}


def register(kind: AnswerKind) -> AnswerKind:
    if kind.name in ANSWER_KINDS:
        raise ValueError(f"answer kind {kind.name!r} is declared twice")
    ANSWER_KINDS[kind.name] = kind
    return kind


def problem_id(line: dict, task_name: str) -> str:
    for key in ("unique_id", "id", "ID", "Record ID"):
        if line.get(key) not in (None, ""):
            return str(line[key])
    return f"{task_name}/{line['__index']}"


# --- math: a boxed final answer, graded by math-verify --------------------------------------------------------
EQUALS_RHS = re.compile(r"=\s*\$?([^=\n$]+?)\$?\s*(?=$|[,;]|\.(?:\s|$))", re.M)
ANSWER_IS = re.compile(r"answer\s+is\s*:?\s*\$?([^\n$]+?)\$?\s*(?=$|[,;]|\.(?:\s|$))", re.I | re.M)


def math_doc(line: dict, task_name: str = "") -> dict:
    return {
        "query": math_prompt(line["problem"]),
        "choices": [str(line["answer"])],
        "gold_index": 0,
        "specific": {
            "problem_id": problem_id(line, task_name),
            "statement": str(line["problem"]),  # the problem alone, for the contamination check
            "level": line.get("level"),
            "subject": line.get("subject"),
        },
    }


def step_candidates(step: str) -> list[str]:
    """Answer candidates a step states: boxed expressions, right-hand sides of '=', 'the answer is X'."""
    found = boxed_contents(step)
    found += [m.group(1) for m in ANSWER_IS.finditer(step)]
    found += [m.group(1) for m in EQUALS_RHS.finditer(step)]
    return [c.strip() for c in found if c.strip()]


def number_or_none(text: str) -> float | None:
    """A plain number as written (thousands commas and dollar signs aside), else None."""
    return _number(text)


def _number(text: str) -> float | None:
    try:
        return float(text.strip().strip("$").replace(",", ""))
    except ValueError:
        return None


def math_step_reaches(step: str, gold: str, choices: tuple[str, ...] = ()) -> bool:
    gold_number = _number(gold)
    for candidate in step_candidates(step):
        number = _number(candidate)
        if gold_number is not None and number is not None:
            # plain numbers on both sides (all of AIME): compare directly, math-verify would agree
            if abs(number - gold_number) <= 1e-9 * max(1.0, abs(gold_number)):
                return True
            continue
        if checking.grade_math(f"\\boxed{{{candidate}}}", gold, False, False).correct:
            return True
    return False


MATH = register(
    AnswerKind(
        name="math",
        doc=math_doc,
        text_prompt=math_prompt,
        grade=lambda response, gold, choices, thinking, lenient: checking.grade_math(
            response, gold, thinking, lenient
        ),
        span=lambda response, extracted, choices, thinking, lenient: checking.math_span(
            response, extracted, thinking, lenient
        ),
        step_reaches=math_step_reaches,
        text_only_gold=lambda gold: not checking.gold_parses(gold),
    )
)


# --- letter: four shuffled options, the answer one of A-D ------------------------------------------------------
def gpqa_option_order(question: str) -> list[int]:
    """A fixed permutation of [correct, wrong1, wrong2, wrong3] for this question, the same on every run."""
    seed = int.from_bytes(hashlib.sha256(question.encode()).digest()[:8], "big")
    order = [0, 1, 2, 3]
    random.Random(seed).shuffle(order)
    return order


def gpqa_doc(line: dict, task_name: str = "") -> dict:
    answers = [
        line["Correct Answer"],
        line["Incorrect Answer 1"],
        line["Incorrect Answer 2"],
        line["Incorrect Answer 3"],
    ]
    answers = [str(a).strip() for a in answers]
    order = gpqa_option_order(line["Question"])
    return {
        "query": gpqa_prompt(line["Question"].strip(), [answers[i] for i in order]),
        "choices": list(LETTERS),
        "gold_index": order.index(0),
        "specific": {
            "problem_id": problem_id(line, task_name),
            "statement": line["Question"].strip(),
            "subject": line.get("High-level domain"),
        },
    }


def letter_text_prompt(text: str) -> str:
    """The question followed by four lines `A) ...` to `D) ...`, as GPQA's prompt lays them out."""
    lines = text.strip().splitlines()
    options = {line[0]: line[3:].strip() for line in lines if line[:3] in {f"{x}) " for x in LETTERS}}
    question = "\n".join(line for line in lines if line[:3] not in {f"{x}) " for x in LETTERS}).strip()
    if set(options) != set(LETTERS) or not question:
        raise ValueError("write the question, then four lines 'A) ...', 'B) ...', 'C) ...', 'D) ...'")
    return gpqa_prompt(question, [options[x] for x in LETTERS])


LETTER = register(
    AnswerKind(
        name="letter",
        doc=gpqa_doc,
        text_prompt=letter_text_prompt,
        grade=lambda response, gold, choices, thinking, lenient: checking.grade_letter(
            response, gold, choices or tuple(LETTERS), thinking, lenient
        ),
        span=lambda response, extracted, choices, thinking, lenient: checking.letter_span(
            response, choices or tuple(LETTERS), thinking, lenient
        ),
        step_reaches=lambda step, gold, choices: (
            checking.grade_letter(step, gold, choices or tuple(LETTERS), False, False).correct
        ),
        choices=tuple(LETTERS),
        gold_problem=lambda gold: (
            None if gold in LETTERS else f"gold {gold!r} is not one of {', '.join(LETTERS)}"
        ),
    )
)
