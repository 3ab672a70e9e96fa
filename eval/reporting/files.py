"""The compare's files: table.md and compare.json (every section, written once), and per-sample details."""

from __future__ import annotations

from pathlib import Path

from eval.stores.records import rows_of
from eval.stores.results import TaskResult
from recipes.files import atomic_write_lines, atomic_write_text, strict_json


def write_reports(out_dir: Path, markdown: str, payload: dict) -> dict[str, Path]:
    """table.md (every section, in order) and compare.json (the settings, then every section by name)."""
    paths = {"markdown": out_dir / "table.md", "json": out_dir / "compare.json"}
    atomic_write_text(paths["markdown"], markdown)
    atomic_write_text(paths["json"], strict_json(payload))
    return paths


def write_details(result: TaskResult, path: Path) -> None:
    """One JSON line per sample (`SampleRow`), for a person to open: the problem, the answer read, right or wrong.
    Written line by line (a full AIME file is ~110 MB)."""
    atomic_write_lines(path, (row.line() for row in rows_of(result)))
