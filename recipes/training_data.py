"""The recipe's training data as rows, before any method-specific shaping: one loader for training (train/data.py)
and for the contamination check, which reads the problem statements the model trained on."""

from __future__ import annotations

from pathlib import Path

from recipes.builtins import resolve
from recipes.errors import UserError
from recipes.schema import DatasetSpec

LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def load_raw(spec: DatasetSpec):
    """The rows `spec` names (a hub dataset at its revision, a local file or folder, or a builtin), subset to
    `max_samples` as training sees them."""
    from datasets import load_dataset
    from datasets.exceptions import DatasetGenerationError

    location = resolve(spec.path)  # a local path is absolute already (the recipe loader)
    path = Path(location)
    try:
        if path.is_file():
            fmt = LOCAL_FORMATS.get(path.suffix)
            if fmt is None:
                raise UserError(
                    f"train.dataset.path: unsupported file type {path.suffix!r} (use .jsonl, .json, .parquet or .csv)"
                )
            check_local_file(path)
            dataset = load_dataset(fmt, data_files={spec.split: str(path)}, split=spec.split)
        else:
            dataset = load_dataset(location, name=spec.name, revision=spec.revision, split=spec.split)
    except (FileNotFoundError, ValueError, ConnectionError, DatasetGenerationError, StopIteration) as err:
        cause = err.__cause__ or err
        raise UserError(
            f"train.dataset: could not load {spec.path!r} split {spec.split!r}: {type(cause).__name__}: {cause}"
        ) from None
    if len(dataset) == 0:
        raise UserError(f"train.dataset: {spec.path!r} split {spec.split!r} has no rows")
    if spec.max_samples and spec.max_samples < len(dataset):
        # a seeded random subset: the first rows of a hub dataset are often one source or one difficulty
        dataset = dataset.shuffle(seed=spec.seed).select(range(spec.max_samples))
    return dataset


def check_local_file(path: Path) -> None:
    """The mistakes a hand-made training file has, named by line before `datasets` turns them into a
    traceback: an empty file, a JSONL line that is not one JSON object."""
    import json

    if path.stat().st_size == 0:
        raise UserError(f"train.dataset.path: {path} is empty")
    if path.suffix in (".jsonl", ".json", ".csv"):
        _check_utf8(path)
    if path.suffix != ".jsonl":
        return
    with path.open(encoding="utf-8-sig") as lines:  # a byte-order mark is fine
        rows = 0
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(
                    f"train.dataset.path: {path} line {number} is not valid JSON ({err.msg})"
                ) from None
            if not isinstance(row, dict):
                raise UserError(f"train.dataset.path: {path} line {number} is not a JSON object")
            rows += 1
    if not rows:
        raise UserError(f"train.dataset.path: {path} holds no rows")


def _check_utf8(path: Path) -> None:
    """Text files must be UTF-8 (datasets reads them so, and fails mid-load with a long traceback): the first
    line that is not, named."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as err:
                raise UserError(
                    f"train.dataset.path: {path} line {number} is not UTF-8 (byte 0x{line[err.start]:02x} at column "
                    f"{err.start + 1}); convert it, e.g. `iconv -f latin1 -t utf-8`"
                ) from None


def problem_statements(spec: DatasetSpec, method: str) -> list[str]:
    """What each training row asks, as the model saw it: the user turns of an SFT conversation, or a GRPO
    row's problem column (the reasoning and answers are left out: the contamination check is about problems)."""
    dataset = load_raw(spec)
    column = spec.prompt_field if method == "grpo" else spec.messages_field
    if column not in dataset.column_names:
        key = "prompt_field" if method == "grpo" else "messages_field"
        raise UserError(
            f"train.dataset.{key}: column {column!r} not in {spec.path!r} (columns: {', '.join(dataset.column_names)})"
        )
    dataset = dataset.select_columns([column])
    statements: list[str] = []
    for batch in dataset.iter(batch_size=1000):  # a batch at a time: SFT rows carry long reasoning
        if method == "grpo":
            statements += [str(value) for value in batch[column]]
        else:
            statements += [
                "\n".join(str(turn.get("content", "")) for turn in conversation if turn.get("role") == "user")
                for conversation in batch[column]
            ]
    return statements
