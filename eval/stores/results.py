"""Evaluation results: per-sample records for one model on one task, and their files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eval.metrics import majority_answer
from eval.stores.fingerprint import text_fingerprint
from recipes.files import atomic_write_text
from recipes.paths import cache_dir

RESULTS_FORMAT = 1


@dataclass
class SampleRecord:
    text: str
    tokens: int
    finish_reason: str
    extracted: str | None
    correct: bool
    reasoning_tokens: int | None = None  # Sample.reasoning_tokens


@dataclass
class ProblemRecord:
    problem_id: str
    gold: str
    prompt_hash: str
    samples: list[SampleRecord]
    level: str | int | None = None
    subject: str | None = None
    prompt: str = ""

    @property
    def pass1(self) -> float:
        return sum(s.correct for s in self.samples) / len(self.samples)

    @property
    def majority_answer(self) -> str | None:
        return majority_answer([s.extracted for s in self.samples])

    @property
    def mean_tokens(self) -> float:
        return sum(s.tokens for s in self.samples) / len(self.samples)


@dataclass
class TaskResult:
    task: str
    model: str
    model_fingerprint: str
    settings: dict
    data_fingerprint: str
    chat_template_hash: str
    metrics: dict[str, float]
    problems: list[ProblemRecord] = field(default_factory=list)
    partial: bool = False  # evaluated on a subset of problems (eval.max_problems)

    def unparsed_golds(self) -> list[str]:
        """Problems whose math gold math-verify cannot read: they are graded by a text comparison only."""
        from recipes.protocol.task_catalog import TASKS

        if self.task not in TASKS:
            return []
        text_only = TASKS[self.task].kind.text_only_gold
        return [p.problem_id for p in self.problems if text_only(p.gold)]

    def to_json(self) -> dict:
        return {"format": RESULTS_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> TaskResult:
        data = dict(data)
        data.pop("format", None)
        problems = [
            ProblemRecord(**{**p, "samples": [SampleRecord(**s) for s in p["samples"]]})
            for p in data.pop("problems")
        ]
        return cls(**data, problems=problems)


def data_fingerprint(problems: list[ProblemRecord]) -> str:
    return text_fingerprint(sorted((p.problem_id, p.gold) for p in problems))[:16]


def result_cache_path(model_fingerprint: str, task: str, settings: dict, partial_key: int | None) -> Path:
    key = text_fingerprint(settings, partial_key)[:16]
    return _results_dir(model_fingerprint) / f"{task.replace(':', '_')}-{key}.json"


def _results_dir(model_fingerprint: str) -> Path:
    return cache_dir() / "results" / model_fingerprint[:32]


def forget_results(model_fingerprint: str) -> int:
    """Delete every cached result of one model; returns the count."""
    files = list(_results_dir(model_fingerprint).glob("*.json"))
    for file in files:
        file.unlink()
    return len(files)


def save_result(result: TaskResult, path: Path) -> None:
    atomic_write_text(path, json.dumps(result.to_json()))


def load_result(path: Path) -> TaskResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if data.get("format") != RESULTS_FORMAT:
        return None
    return TaskResult.from_json(data)
