"""A compare folder as the viewer reads it: compare.json, the plots, and details/<side>/<task>.jsonl.

Only the folder is needed (a compare made on a cluster and copied to a laptop works). The details of a full
compare hold ~10,000 samples of up to 32k tokens, so they are indexed once (each sample's verdict, tokens,
finish reason and where its line starts) and a response is read from disk only when a page shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.stores.records import SampleRow
from recipes.errors import UserError
from recipes.protocol.answers import answer_region
from recipes.protocol.grader import answer_span
from recipes.protocol.markup import opens_thinking
from recipes.protocol.task_catalog import TASKS

SIDE_ORDER = ("baseline", "tuned")  # then checkpoints, by step


@dataclass
class SampleIndex:
    index: int
    correct: bool
    extracted: str | None
    tokens: int
    finish_reason: str
    offset: int  # where its line starts in the details file

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@dataclass
class ProblemSide:
    samples: list[SampleIndex] = field(default_factory=list)

    @property
    def pass1(self) -> float:
        return sum(s.correct for s in self.samples) / len(self.samples) if self.samples else 0.0


@dataclass
class Problem:
    task: str
    problem_id: str
    level: str | None
    gold: str
    sides: dict[str, ProblemSide] = field(default_factory=dict)

    def change(self, a: str, b: str) -> float:
        return self.sides[b].pass1 - self.sides[a].pass1

    def truncated(self, *sides: str) -> bool:
        return any(s.truncated for side in sides for s in self.sides[side].samples)

    def no_answer(self, *sides: str) -> bool:
        return any(s.extracted is None for side in sides for s in self.sides[side].samples)


@dataclass(frozen=True)
class Shown:
    """One sample as the problem page shows it: the answer region with the grader's span, the thinking apart."""

    index: int
    correct: bool
    extracted: str | None
    tokens: int
    finish_reason: str
    thinking_chars: int  # the thinking block's length (loaded on demand)
    answer: str  # the text after the thinking (the whole response when it never closed it)
    span: tuple[int, int] | None  # where the grader read the answer, relative to `answer`
    span_in_thinking: bool  # read inside the thinking (lenient grading of an unfinished response)


def thinking_end(text: str, thinking_prompt: bool) -> int:
    """Where the thinking ends, by the grader's rule (`answers.answer_region`): after the last `</think>`;
    a response that never closed it (after a prompt that opened one) is all thinking; else there is none."""
    region = answer_region(text, thinking=thinking_prompt)
    return len(text) if region is None else region[1]


def _side_order(name: str) -> tuple[int, int, str]:
    if name in SIDE_ORDER:
        return (SIDE_ORDER.index(name), 0, name)
    step = name.rsplit("-", 1)[-1]
    return (len(SIDE_ORDER), int(step) if step.isdigit() else 0, name)


class CompareFolder:
    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        payload_path = self.folder / "compare.json"
        details = self.folder / "details"
        if not payload_path.is_file() or not details.is_dir():
            raise UserError(
                f"{folder}: no compare here (no compare.json and details/): run `make compare recipe=...` "
                "first, or point at its compare folder"
            )
        try:
            self.payload = json.loads(payload_path.read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{payload_path} is not valid JSON ({err})") from None
        self.sides = sorted((d.name for d in details.iterdir() if d.is_dir()), key=_side_order)
        self.problems: dict[tuple[str, str], Problem] = {}
        self.damaged: list[str] = []  # details lines that could not be read, as "file line N"
        self._prompts: dict[tuple[str, str, str], tuple[str, int]] = {}  # (side, task, id) -> (file, offset)
        for side in self.sides:
            for path in sorted((details / side).glob("*.jsonl")):
                self._index(side, path)
        self.tasks = sorted({task for task, _ in self.problems})

    def _index(self, side: str, path: Path) -> None:
        offset = 0
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                try:
                    row = SampleRow.read(line)
                except ValueError:  # a truncated write, a hand edit: the rest still shows
                    self.damaged.append(f"{path.relative_to(self.folder)} line {number}")
                    continue
                key = (row.task, row.problem_id)
                problem = self.problems.setdefault(
                    key, Problem(row.task, row.problem_id, row.level, row.gold)
                )
                problem.sides.setdefault(side, ProblemSide()).samples.append(
                    SampleIndex(row.sample, row.correct, row.extracted, row.tokens, row.finish_reason, start)
                )
                self._prompts.setdefault((side, *key), (str(path), start))

    def pair(self, a: str, b: str) -> list[Problem]:
        for side in (a, b):
            if side not in self.sides:
                raise UserError(f"no side {side!r} in this compare (it has {', '.join(self.sides)})")
        return [p for p in self.problems.values() if a in p.sides and b in p.sides]

    def _row(self, side: str, problem: Problem, sample: int) -> SampleRow:
        entry = next(s for s in problem.sides[side].samples if s.index == sample)
        path = self.folder / "details" / side / f"{problem.task.replace(':', '_')}.jsonl"
        with path.open("rb") as handle:
            handle.seek(entry.offset)
            return SampleRow.read(handle.readline())

    def prompt(self, problem: Problem, side: str | None = None) -> str:
        """The rendered prompt one side saw (sides with other chat templates saw other prompts)."""
        side = side or next(iter(problem.sides))
        path, offset = self._prompts[(side, problem.task, problem.problem_id)]
        with open(path, "rb") as handle:
            handle.seek(offset)
            return SampleRow.read(handle.readline()).prompt

    def response(self, side: str, problem: Problem, sample: int) -> str:
        return self._row(side, problem, sample).response

    def thinking(self, side: str, problem: Problem, sample: int) -> str:
        text = self.response(side, problem, sample)
        return text[: thinking_end(text, opens_thinking(self.prompt(problem, side)))]

    def shown(self, side: str, problem: Problem) -> list[Shown]:
        """Each sample of one side, its answer located by the grader's own rules (the span is not stored)."""
        info = TASKS.get(problem.task)
        settings = (self.payload.get("settings") or {}).get(problem.task, {})
        prompt = self.prompt(problem, side)
        shown = []
        for entry in problem.sides[side].samples:
            text = self.response(side, problem, entry.index)
            span = None
            if info is not None:
                span = answer_span(
                    text,
                    entry.extracted,
                    info.answer_kind,
                    thinking=opens_thinking(prompt),
                    unfinished=settings.get("grading_unfinished", "no_answer"),
                )
            cut = thinking_end(text, opens_thinking(prompt))
            shown.append(
                Shown(
                    index=entry.index,
                    correct=entry.correct,
                    extracted=entry.extracted,
                    tokens=entry.tokens,
                    finish_reason=entry.finish_reason,
                    thinking_chars=cut,
                    answer=text[cut:],
                    span=(span[0] - cut, span[1] - cut) if span and span[0] >= cut else None,
                    span_in_thinking=bool(span and span[0] < cut),
                )
            )
        return shown
