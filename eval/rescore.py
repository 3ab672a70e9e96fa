"""`make rescore file=F.jsonl`: grade `{task, response, gold}` lines with the evaluation's answer checker.

A malformed row (not UTF-8, not JSON, a missing key, an unknown task, a multiple-choice gold that is not one
of the letters) is reported with its line number and skipped; every other row is graded and written. The
exit status is 1 when rows were skipped, so a script notices.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from recipes.errors import UserError
from recipes.files import atomic_write_text
from recipes.log import info
from recipes.protocol.grader import Unfinished, grade
from recipes.protocol.task_catalog import TASKS

SHOWN_SKIPS = 20


@dataclass
class RescoreResult:
    accuracy: dict[str, float]
    graded: int
    skipped: list[str] = field(default_factory=list)  # "line N: why"
    output: Path | None = None


def clean_text(text: str) -> str:
    """Lone surrogates (a JSON "\\ud800") cannot be written as UTF-8: replace them, keep everything else."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def clean(value):
    """`clean_text` through nested lists and objects."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean(v) for k, v in value.items()}
    return value


def _row(raw: bytes) -> tuple[str, str, str, dict]:
    """(task, response, gold, row) from one line, or ValueError saying what is wrong with it."""
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark on the first line is not part of the row
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 (byte {err.start})") from None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    if not isinstance(row, dict) or not {"task", "response", "gold"} <= row.keys():
        raise ValueError("expected a JSON object with task, response and gold")
    task = row["task"]
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    response, gold = row["response"], row["gold"]
    if not isinstance(response, str) or isinstance(gold, bool) or not isinstance(gold, str | int | float):
        raise ValueError("response must be a string and gold a string or a number")
    gold = clean_text(str(gold)).strip()
    problem = TASKS[task].kind.gold_problem(gold)
    if problem:
        raise ValueError(f"{task} {problem}")
    return task, clean_text(response), gold, row


def rescore_jsonl(path: Path, unfinished: Unfinished = "no_answer", thinking: bool = True) -> RescoreResult:
    """Grade a JSONL of responses. R1-style by default (the prompt pre-filled `<think>`): a row's
    `"thinking": false`, or `thinking=False` for the whole file, says its model opens no thinking block."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    graded, totals, skipped = [], defaultdict(list), []
    unfinished_rows = 0
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            task, response, gold, row = _row(raw)
        except ValueError as err:
            skipped.append(f"line {number}: {err}")
            continue
        row_thinks = thinking and row.get("thinking", True) is not False
        result = grade(response, gold, TASKS[task].answer_kind, thinking=row_thinks, unfinished=unfinished)
        unfinished_rows += not result.finished
        graded.append({**clean(row), "extracted": result.extracted, "correct": result.correct})
        totals[task].append(result.correct)
    out = path.with_suffix(".rescored.jsonl")
    atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in graded))
    accuracy = {task: sum(v) / len(v) for task, v in totals.items()}
    for task, value in accuracy.items():
        info(f"{task}: {100 * value:.1f}% of {len(totals[task])} responses correct")
    if unfinished_rows:
        info(
            f"{unfinished_rows} responses never closed their thinking: no answer (unfinished=lenient grades them "
            "whole; thinking=0 if the model does not think)"
        )
    for line in skipped[:SHOWN_SKIPS]:
        info(f"skipped {path}: {line}")
    if len(skipped) > SHOWN_SKIPS:
        info(f"skipped {len(skipped) - SHOWN_SKIPS} more malformed rows")
    info(f"wrote {out} ({len(graded)} graded" + (f", {len(skipped)} skipped)" if skipped else ")"))
    return RescoreResult(accuracy, len(graded), skipped, out)
