"""The reasoning analysis of a result, kept beside the results: a second `make compare`, `make rescore` or
`make analyze` reads it instead of searching every reasoning step again.

Keyed on what it depends on: the model's weights and the task's settings (both in the result, the grader's
version among the settings), the problems, the analysis settings and the analysis's own version.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.stores.fingerprint import text_fingerprint
from eval.stores.results import TaskResult
from recipes.files import atomic_write_text
from recipes.paths import cache_dir


def analysis_key(result: TaskResult, analysis_settings: dict, version: int) -> str:
    return text_fingerprint(
        result.settings, result.data_fingerprint, result.partial, analysis_settings, version
    )[:16]


def _path(result: TaskResult, key: str) -> Path:
    return (
        cache_dir()
        / "analysis"
        / result.model_fingerprint[:32]
        / f"{result.task.replace(':', '_')}-{key}.json"
    )


def load_analysis(result: TaskResult, key: str) -> list[dict] | None:
    """The saved per-sample analysis rows, in the result's sample order; None when there is none that fits."""
    try:
        rows = json.loads(_path(result, key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list) or len(rows) != sum(len(p.samples) for p in result.problems):
        return None
    return rows


def save_analysis(result: TaskResult, key: str, rows: list[dict]) -> None:
    atomic_write_text(_path(result, key), json.dumps(rows))
