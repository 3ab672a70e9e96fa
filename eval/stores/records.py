"""The one per-sample record a person or a tool reads: a details line, a viewer row, a row of W&B's sample table.

`SampleRow` is written by the details files (one JSON line per sample), read back by `make view`, and cut into
W&B's bounded sample table; its fields are the columns, in order. Files written before `reasoning_tokens` was a
column (every release up to this one) still load: missing optional keys take their defaults, unknown keys are
ignored, and a number where a text was written (a level `3`) is read as its text.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, ValidationError

from eval.stores.results import ProblemRecord, TaskResult

__all__ = ["SampleRow", "ValidationError", "rows_of"]


class SampleRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)

    task: str
    problem_id: str
    sample: int
    prompt: str = ""
    gold: str
    extracted: str | None = None
    correct: bool
    tokens: int
    finish_reason: str
    level: str | None = None
    subject: str | None = None
    response: str = ""
    reasoning_tokens: int | None = None  # tokens before the last </think>; None when not counted

    @classmethod
    def of(cls, task: str, problem: ProblemRecord, index: int) -> SampleRow:
        s = problem.samples[index]
        return cls(
            task=task,
            problem_id=problem.problem_id,
            sample=index,
            prompt=problem.prompt,
            gold=problem.gold,
            extracted=s.extracted,
            correct=s.correct,
            tokens=s.tokens,
            finish_reason=s.finish_reason,
            level=None if problem.level is None else str(problem.level),
            subject=problem.subject,
            response=s.text,
            reasoning_tokens=s.reasoning_tokens,
        )

    def line(self) -> str:
        """The details file's line (UTF-8 text as written, not escaped)."""
        return self.model_dump_json()

    @classmethod
    def read(cls, line: str | bytes) -> SampleRow:
        """One details line; raises ValidationError (a ValueError) for a damaged or foreign one."""
        return cls.model_validate_json(line)


def rows_of(result: TaskResult) -> Iterator[SampleRow]:
    """Every sample of one task's result, problem by problem."""
    for problem in result.problems:
        for index in range(len(problem.samples)):
            yield SampleRow.of(result.task, problem, index)
