"""Generations saved as they finish, keyed by weights, rendered prompt and sampling settings.

One append-only JSONL file per (model weights, sampling settings); one line per prompt holding all its
samples. A line is written with a single `write` followed by `fsync`, so an interrupted run leaves at
most one partial last line, which reading skips: kill an eval half way, run it again, and only the
missing prompts are generated.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.stores.fingerprint import text_fingerprint
from recipes.paths import cache_dir


@dataclass(frozen=True)
class Sample:
    text: str
    tokens: int
    finish_reason: str  # "stop" or "length" (hit the token limit)


@dataclass(frozen=True)
class SamplingSettings:
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int

    def key(self) -> str:
        return text_fingerprint(asdict(self))[:16]


def generations_dir(model_fingerprint: str, root: Path | None = None) -> Path:
    return (root or cache_dir() / "generations") / model_fingerprint[:32]


def forget_generations(model_fingerprint: str) -> int:
    """Delete every saved generation of one model (a served model whose weights changed); returns the count."""
    files = list(generations_dir(model_fingerprint).glob("*.jsonl"))
    for file in files:
        file.unlink()
    return len(files)


class GenerationStore:
    def __init__(self, model_fingerprint: str, settings: SamplingSettings, root: Path | None = None):
        self.settings = settings
        self.path = generations_dir(model_fingerprint, root) / f"{settings.key()}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._records = self._read()

    @staticmethod
    def prompt_key(rendered_prompt: str) -> str:
        return text_fingerprint(rendered_prompt)[:24]

    def _read(self) -> dict[str, list[Sample]]:
        records: dict[str, list[Sample]] = {}
        if not self.path.exists():
            return records
        with open(self.path) as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the partial last line of an interrupted run
                records[row["key"]] = [Sample(**s) for s in row["samples"]]
        return records

    def get(self, rendered_prompt: str) -> list[Sample] | None:
        return self._records.get(self.prompt_key(rendered_prompt))

    def put(self, rendered_prompt: str, samples: list[Sample], problem_id: str) -> None:
        key = self.prompt_key(rendered_prompt)
        line = (
            json.dumps({"key": key, "problem_id": problem_id, "samples": [asdict(s) for s in samples]}) + "\n"
        )
        with open(self.path, "ab+") as f:
            # after an interrupted write the file may end mid-line: start a fresh line
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    line = "\n" + line
            f.write(line.encode())
            f.flush()
            os.fsync(f.fileno())
        self._records[key] = samples

    def __len__(self) -> int:
        return len(self._records)
