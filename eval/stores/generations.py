"""Generations saved as they finish, keyed by weights, rendered prompt and sampling settings.

One append-only JSONL file per (model weights, sampling settings); one line per sample. Each line is one
`write` of a whole line (flushed at once; fsynced with the first write after FSYNC_EVERY_S seconds, and on close), so an
interrupted run leaves at most one partial last line, which reading skips: kill an eval half way, run it
again, and only the missing samples are generated. Files written before samples had lines of their own
(one line per prompt with all its samples) read the same.

Several processes may share the cache (two evaluations of one model, Slurm array tasks on one
filesystem): `claim()` holds the store's lock (recipes.locks: a POSIX lock on a `.lock` file beside the store,
naming its holder, released by the kernel when the holder dies, taken over from a hung one) while it generates
into the store. Whoever takes the lock next re-reads the file, so no sample is generated twice.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.stores.fingerprint import text_fingerprint
from recipes.errors import UserError
from recipes.locks import FileLock
from recipes.paths import cache_dir


class NotGenerated(UserError):
    """A re-grade only run (`--cached-only`) found a model that was never evaluated: not one saved sample,
    for any task."""


@dataclass(frozen=True)
class Sample:
    text: str
    tokens: int
    finish_reason: str  # "stop" or "length" (hit the token limit)
    # generated tokens before the last `</think>` (all of them if it never came), counted on the token ids;
    # None when unknown (a server that returns no ids, samples saved before this was recorded)
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class SamplingSettings:
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int

    def key(self) -> str:
        return text_fingerprint(asdict(self))[:16]


FSYNC_EVERY_S = 1.0
# The first bytes of a one-sample line as put_sample writes it (json.dumps keeps the keys in this order).
_HEAD = re.compile(rb'^\{"key": "([0-9a-f]+)", "problem_id": .*?, "index": (\d+), "sample": ')


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
        self._file = None
        self._synced = 0.0
        self.reload()

    def reload(self) -> None:
        """Index the file again (another process may have added to it): where each sample's line starts, not the
        sample, so memory follows the prompts asked for (`get`), not the file (a full AIME store is 100+ MB)."""
        self._records: dict[str, dict[int, Sample | int]] = {}
        if not self.path.exists():
            return
        offset = 0
        with open(self.path, "rb") as f:
            for line in f:
                start, offset = offset, offset + len(line)
                if not line.endswith(b"\n"):
                    continue  # the partial last line of an interrupted run
                head = _HEAD.match(line)
                if head is not None:  # one sample per line: indexed by its first bytes, read when asked for
                    self._records.setdefault(head.group(1).decode(), {})[int(head.group(2))] = start
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                samples = self._records.setdefault(row["key"], {})
                if "samples" in row:  # a whole prompt on one line (older files)
                    samples.update({i: Sample(**s) for i, s in enumerate(row["samples"])})
                else:
                    samples[row["index"]] = Sample(**row["sample"])

    def _read(self, samples: dict[int, Sample | int], indices: range) -> list[Sample]:
        """The samples at `indices`, reading the ones only indexed so far (one open of the file)."""
        lazy = [i for i in indices if not isinstance(samples[i], Sample)]
        if lazy:
            with open(self.path, "rb") as f:
                for i in lazy:
                    f.seek(samples[i])
                    samples[i] = Sample(**json.loads(f.readline())["sample"])
        return [samples[i] for i in indices]

    @staticmethod
    def prompt_key(rendered_prompt: str) -> str:
        return text_fingerprint(rendered_prompt)[:24]

    def get(self, rendered_prompt: str) -> list[Sample] | None:
        """The prompt's n samples, or None while any is missing."""
        samples = self._records.get(self.prompt_key(rendered_prompt), {})
        n = self.settings.n
        if not all(i in samples for i in range(n)):
            return None
        return self._read(samples, range(n))

    def missing(self, rendered_prompt: str) -> tuple[int, ...]:
        """The indices of the prompt's samples not saved yet."""
        samples = self._records.get(self.prompt_key(rendered_prompt), {})
        return tuple(i for i in range(self.settings.n) if i not in samples)

    def model_has_samples(self) -> bool:
        """Whether any store of this store's model (any sampling settings) holds a sample."""
        return any(path.stat().st_size for path in self.path.parent.glob("*.jsonl"))

    def put_sample(self, rendered_prompt: str, index: int, sample: Sample, problem_id: str) -> None:
        key = self.prompt_key(rendered_prompt)
        row = {"key": key, "problem_id": problem_id, "index": index, "sample": asdict(sample)}
        self._append(json.dumps(row) + "\n")
        self._records.setdefault(key, {})[index] = sample

    def put(self, rendered_prompt: str, samples: list[Sample], problem_id: str) -> None:
        for index, sample in enumerate(samples):
            self.put_sample(rendered_prompt, index, sample, problem_id)
        self.sync()

    def _append(self, line: str) -> None:
        if self._file is None:
            self._file = open(self.path, "ab+")  # noqa: SIM115 (kept open while generating; closed by sync/close)
            # after an interrupted write the file may end mid-line: start a fresh line
            if self._file.tell() > 0:
                self._file.seek(-1, os.SEEK_END)
                if self._file.read(1) != b"\n":
                    line = "\n" + line
        self._file.write(line.encode())
        self._file.flush()  # in the kernel's hands: a killed process loses nothing written
        if time.monotonic() - self._synced > FSYNC_EVERY_S:
            os.fsync(self._file.fileno())  # on disk: a lost machine loses at most the last second
            self._synced = time.monotonic()

    def sync(self) -> None:
        """Everything written is on disk and the file is closed (until the next write)."""
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    @contextmanager
    def claim(self, waiting: str = "") -> Iterator[None]:
        """Hold the store's lock (recipes.locks): generate into it and no other process does. If another holds
        it, print `waiting` and wait for it; a holder that is gone (killed, hung) is taken over. The store is
        re-read once the lock is held."""
        with FileLock(self.path.with_suffix(".lock"), "generating it").hold(waiting):
            try:
                self.reload()
                yield
            finally:
                self.sync()

    def __len__(self) -> int:
        """Prompts with all their samples saved."""
        n = self.settings.n
        return sum(all(i in samples for i in range(n)) for samples in self._records.values())
